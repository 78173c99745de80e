{#-
    Spark (dbt-spark) compatibility. The models stay in portable SQL; what differs on Spark
    lives here. docs/engines.md explains how to run the project on Spark.
-#}

{#-
    load_raw_from_parquet(path, tables), for `dbt run-operation` on the spark target: the
    Dagster ingestion writes the raw tables into DuckDB only, so on Spark they come from
    Parquet files exported from a DuckDB warehouse (tests/spark does this). For each
    "schema.table" in `tables` it (re)creates the Spark table schema.table from
    <path>/<schema>.<table>.parquet:
        dbt run-operation load_raw_from_parquet --target spark \
            --args '{path: /tmp/raw_parquet, tables: [raw.customers, raw_meta.load_ledger]}'
    DuckDB's TIMESTAMP (no time zone) arrives as Spark's timestamp_ntz; it is cast to Spark's
    usual `timestamp`, the type an ingestion on a cluster would write and the contracts name
    (same wall-clock time in the session time zone).
-#}
{% macro load_raw_from_parquet(path, tables) %}
    {%- if target.type != 'spark' -%}
        {{ exceptions.raise_compiler_error(
            "load_raw_from_parquet is for the spark target, not " ~ target.type) }}
    {%- endif -%}
    {%- for name in tables -%}
        {%- set schema, identifier = name.split('.') -%}
        {%- set file = 'parquet.`' ~ path ~ '/' ~ schema ~ '.' ~ identifier ~ '.parquet`' -%}
        {%- set selected = [] -%}
        {%- for column in get_column_schema_from_query('select * from ' ~ file) -%}
            {%- if column.dtype | lower == 'timestamp_ntz' -%}
                {%- do selected.append(
                    'cast(`' ~ column.name ~ '` as timestamp) as `' ~ column.name ~ '`') -%}
            {%- else -%}
                {%- do selected.append('`' ~ column.name ~ '`') -%}
            {%- endif -%}
        {%- endfor -%}
        {% do run_query('create schema if not exists ' ~ schema) %}
        {% do run_query('drop table if exists ' ~ name) %}
        {% do run_query(
            'create table ' ~ name ~ ' using parquet as select '
            ~ selected | join(', ') ~ ' from ' ~ file) %}
        {% do log('loaded ' ~ name ~ ' from ' ~ file, info=true) %}
    {%- endfor -%}
{% endmacro %}

{#-
    A contract's data_type as Spark spells it. The YAML contracts name the types as DuckDB
    and PostgreSQL do; Spark rejects a bare `varchar` and `double precision`, so the empty
    schema that dbt compares the model with (get_empty_schema_sql) uses these spellings.
-#}
{% macro spark_data_type(data_type) %}
    {%- set spelled = data_type | trim | lower -%}
    {%- set renamed = {
        'varchar': 'string',
        'text': 'string',
        'character varying': 'string',
        'double precision': 'double',
    } -%}
    {{- return(renamed.get(spelled, data_type)) -}}
{% endmacro %}

{#- Overrides dbt's default for Spark only (dispatch finds the root project's version first). -#}
{% macro spark__get_empty_schema_sql(columns) %}
    {%- set spelled = {} -%}
    {%- for name in columns -%}
        {%- set column = columns[name].copy() -%}
        {%- if column.get('data_type') is not none -%}
            {%- do column.update({'data_type': spark_data_type(column['data_type'])}) -%}
        {%- endif -%}
        {%- do spelled.update({name: column}) -%}
    {%- endfor -%}
    {{ return(dbt.default__get_empty_schema_sql(spelled)) }}
{% endmacro %}

{#-
    Seed rows as escaped literals. dbt-spark 1.11 binds seed values on the session method by
    pasting them into the SQL between quotes, unescaped: a value with an apostrophe
    (index_expert_weights) breaks the statement, and an empty cell (lifecycle_rules) becomes
    the text 'None'. Here each value is a literal with backslash escapes (Spark's default
    string syntax, also on Databricks), and an empty cell is null, whatever the method.
-#}
{% macro spark__load_csv_rows(model, agate_table) %}
    {%- set column_override = model['config'].get('column_types', {}) -%}
    {%- set types = [] -%}
    {%- for column_name in agate_table.column_names -%}
        {%- do types.append(column_override.get(
            column_name, adapter.convert_type(agate_table, loop.index0))) -%}
    {%- endfor -%}
    {%- set statements = [] -%}
    {%- for chunk in agate_table.rows | batch(get_batch_size()) -%}
        {%- set sql -%}
            insert into {{ this.render() }} values
            {% for row in chunk -%}
                (
                {%- for value in row -%}
                    {%- if value is none -%}
                        cast(null as {{ types[loop.index0] }})
                    {%- else -%}
                        cast('{{ value | string | replace("\\", "\\\\") | replace("'", "\\'") }}'
                            as {{ types[loop.index0] }})
                    {%- endif -%}
                    {{- ', ' if not loop.last -}}
                {%- endfor -%}
                ){{ ',' if not loop.last }}
            {% endfor %}
        {%- endset -%}
        {%- do adapter.add_query(sql, abridge_sql_log=True) -%}
        {%- do statements.append(sql) -%}
    {%- endfor -%}
    {{ return(statements[0] if statements else '') }}
{% endmacro %}

{#-
    The incremental facts (fct_orders, fct_interactions, fct_survey_answers) use the
    delete+insert strategy and a post-hook DELETE; Spark's Parquet tables have neither DELETE
    nor MERGE, so on Spark they are plain tables, rebuilt in full by every run (same rows).
    In the model: materialized=incremental_materialization(), post_hook=incremental_hook("...").
-#}
{% macro incremental_materialization() %}
    {{- return(adapter.dispatch('incremental_materialization', 'loyalty_warehouse')()) -}}
{% endmacro %}

{% macro default__incremental_materialization() %}
    {{- return('incremental') -}}
{% endmacro %}

{% macro spark__incremental_materialization() %}
    {{- return('table') -}}
{% endmacro %}

{#- The hook's SQL where the model is incremental; nothing on Spark, where it is a table. -#}
{% macro incremental_hook(sql) %}
    {{- return(adapter.dispatch('incremental_hook', 'loyalty_warehouse')(sql)) -}}
{% endmacro %}

{% macro default__incremental_hook(sql) %}
    {{- return(sql) -}}
{% endmacro %}

{% macro spark__incremental_hook(sql) %}
    {{- return('') -}}
{% endmacro %}

{#-
    dbt.datediff on Spark, counting boundaries crossed as DuckDB and PostgreSQL do, in
    parentheses. dbt-spark 1.11's version leaves `a + b` unparenthesised for month (so
    `datediff(...) / 3` divides only the correction term) and, for hour, minute and second,
    rounds the elapsed time up (10:00:00 to 10:00:30 is one minute there, none here).
-#}
{% macro spark__datediff(first_date, second_date, datepart) %}
    {%- set seconds = {'hour': 3600, 'minute': 60, 'second': 1} -%}
    {%- if datepart == 'day' -%}
        datediff(cast({{ second_date }} as date), cast({{ first_date }} as date))
    {%- elif datepart == 'month' -%}
        ((year({{ second_date }}) * 12 + month({{ second_date }}))
            - (year({{ first_date }}) * 12 + month({{ first_date }})))
    {%- elif datepart == 'quarter' -%}
        ((year({{ second_date }}) * 4 + quarter({{ second_date }}))
            - (year({{ first_date }}) * 4 + quarter({{ first_date }})))
    {%- elif datepart == 'year' -%}
        (year({{ second_date }}) - year({{ first_date }}))
    {%- elif datepart in seconds -%}
        (floor(unix_timestamp({{ second_date }}) / {{ seconds[datepart] }})
            - floor(unix_timestamp({{ first_date }}) / {{ seconds[datepart] }}))
    {%- else -%}
        ({{ dbt.spark__datediff(first_date, second_date, datepart) }})
    {%- endif -%}
{% endmacro %}

{#-
    The column catalogue as a relation with table_schema, table_name and column_name, for
    tests that look across schemas (assert_no_personal_data_columns_outside_raw). Spark's
    session catalogue has no information_schema: there the rows are listed at run time with
    SHOW SCHEMAS / SHOW TABLES / SHOW COLUMNS and inlined as VALUES.
-#}
{% macro information_schema_columns() %}
    {{- return(adapter.dispatch('information_schema_columns', 'loyalty_warehouse')()) -}}
{% endmacro %}

{% macro default__information_schema_columns() -%}
    information_schema.columns
{%- endmacro %}

{% macro spark__information_schema_columns() %}
    {%- set rows = [] -%}
    {%- if execute -%}
        {%- for schema_row in run_query('show schemas') -%}
            {%- set schema = schema_row[0] -%}
            {%- for table_row in run_query('show tables in `' ~ schema ~ '`') -%}
                {%- if not table_row[2] -%}
                    {%- set table = table_row[1] -%}
                    {%- for column_row in run_query(
                        'show columns in `' ~ schema ~ '`.`' ~ table ~ '`') -%}
                        {%- do rows.append([schema, table, column_row[0]]) -%}
                    {%- endfor -%}
                {%- endif -%}
            {%- endfor -%}
        {%- endfor -%}
    {%- endif -%}
    {%- if rows | length == 0 -%}
        {%- do rows.append([none, none, none]) -%}
    {%- endif %}
    (
        select * from values
        {%- for row in rows %}
            (
            {%- for value in row -%}
                {%- if value is none -%}
                    cast(null as string)
                {%- else -%}
                    '{{ value | replace("\\", "\\\\") | replace("'", "\\'") }}'
                {%- endif -%}
                {{- ', ' if not loop.last -}}
            {%- endfor -%}
            ){{ ',' if not loop.last }}
        {%- endfor %}
        as listed (table_schema, table_name, column_name)
        where table_name is not null
    ) as information_schema_columns
{%- endmacro %}
