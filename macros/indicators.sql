{#-
    The indicator fan-out: from one family's items to the tidy rows of loyalty_indicators,
    per period (month, quarter, year) and slice (company, industry, region, size band,
    account manager), zero-filled. Families write their items and call it once
    (docs/add-an-indicator.md); no family copies the grains, the slices or the zero-fill.

    indicator_fanout(items, period_items=none, customer_counts=false) writes CTEs named
    fanout_* into the caller's WITH list (so it follows a CTE and a comma) and ends with one
    called `fanned_out`: indicator_code, indicator_variant, period_grain, period_start_on,
    slice_type, slice_value, numerator, denominator, unit, n.

    `items`: the name of a CTE (or relation) with one row per thing measured: indicator_code,
    indicator_variant, unit, measure_kind, customer_id, measured_on (the date that puts it in
    a period), numerator_value, denominator_value; with customer_counts=true, also
    is_customer_count (1: the customer counts once per period: its largest numerator_value
    and denominator_value, e.g. 1 if any of its items is a 1, or 100 for a percentage; n
    still counts the items).
    `period_items`: optional, the same columns but period_grain and period_start_on instead
    of measured_on, for a thing whose period is not that of a date (a customer with two
    complaints of one category in the period).

    measure_kind says how the items aggregate over a period and slice:
      'count'         sum(numerator_value), denominator 1, n = items;
      'per_customer'  sum(numerator_value), denominator and n = customers active in the
                      period and slice (int_retention_bridges.customers_active_in_period);
      'ratio'         sum(numerator_value) / sum(denominator_value), n = items;
      'duration'      two rows, the variant being the prefix of their names:
                      <variant>median and <variant>p90 of numerator_value, denominator 1,
                      n = items.
    Counts and per-customer rows exist for every variant seen anywhere, in every period and
    slice customers exist in (int_retention_bridges), 0 when nothing happened; ratios and
    durations only where there is something to measure.

    How: items (customer-counted ones first reduced to one row per customer and period) are
    rolled up to every slice in one pass, one join to int_customer_slices pivoted to a row
    per customer with GROUPING SETS (indicator_slice_rollup), rather than joined to five
    slice rows each.
    A NULL industry (region, size band) is a slice value of its own, as in
    int_customer_slices; the zero-fill is a union and a GROUP BY, so it matches NULL slice
    values too (the join it replaces gave a NULL slice 0 / 0). Durations skip the
    per-customer reduction (a percentile needs every value). Portable: GROUPING SETS and
    grouping() run on DuckDB, PostgreSQL and Spark; sqlfluff's duckdb dialect does not parse
    them, hence the models' `noqa: PRS` around a call.
-#}
{% macro indicator_fanout(items, period_items=none, customer_counts=false) %}
    {%- set item_columns = [
        'indicator_code', 'indicator_variant', 'unit', 'measure_kind', 'customer_id',
        'numerator_value', 'denominator_value',
    ] %}
    {%- set key_columns = [
        'indicator_code', 'indicator_variant', 'unit', 'measure_kind', 'period_grain',
        'period_start_on',
    ] %}
    fanout_customers as (
        {{ indicator_slice_customers() }}
    ),

    fanout_retention as (
        select * from {{ ref('int_retention_bridges') }}
    ),

    fanout_grains as (
        {{ period_grains() }}
    ),

    fanout_item_periods as (
        select
            {%- for column in item_columns %}
                {{ items }}.{{ column }},
            {%- endfor %}
            {{ items ~ '.is_customer_count' if customer_counts else '0' }} as is_customer_count,
            fanout_grains.period_grain,
            {{ period_start_by_grain('fanout_grains.period_grain', items ~ '.measured_on') }}
                as period_start_on
        from {{ items }}
        cross join fanout_grains
        {%- if period_items %}
            union all
            select
                {%- for column in item_columns %}
                    {{ column }},
                {%- endfor %}
                {{ 'is_customer_count' if customer_counts else '0' }} as is_customer_count,
                period_grain,
                period_start_on
            from {{ period_items }}
        {%- endif %}
    ),

    -- What the slices sum: the items as they are, and a customer-counted item once per
    -- customer and period (its largest numerator and denominator there).
    fanout_customer_periods as (
        select
            {%- for column in key_columns %}
                {{ column }},
            {%- endfor %}
            customer_id,
            numerator_value,
            denominator_value,
            1 as n
        from fanout_item_periods
        where measure_kind != 'duration' and is_customer_count = 0
        {%- if customer_counts %}
            union all
            select
                {%- for column in key_columns %}
                    {{ column }},
                {%- endfor %}
                customer_id,
                max(numerator_value) as numerator_value,
                max(denominator_value) as denominator_value,
                count(*) as n
            from fanout_item_periods
            where measure_kind != 'duration' and is_customer_count = 1
            group by
                {%- for column in key_columns %}
                    {{ column }},
                {%- endfor %}
                customer_id
        {%- endif %}
    ),

    fanout_sliced as (
        {{ indicator_slice_rollup(
            'fanout_customer_periods',
            key_columns,
            [
                'sum(numerator_value) as numerator',
                'sum(denominator_value) as denominator',
                'sum(n) as n',
            ],
            customers='fanout_customers',
        ) }}
    ),

    fanout_durations as (
        {{ indicator_slice_rollup(
            'fanout_item_periods',
            key_columns,
            [
                percentile('numerator_value', 0.5) ~ ' as median_value',
                percentile('numerator_value', 0.9) ~ ' as p90_value',
                'count(*) as n',
            ],
            customers='fanout_customers',
            where="fanout_item_periods.measure_kind = 'duration'",
        ) }}
    ),

    -- Every count and per-customer variant seen anywhere, in every period and slice customers
    -- exist in, so a quiet period reads 0 rather than missing.
    fanout_measured_variants as (
        select distinct
            indicator_code,
            indicator_variant,
            unit,
            measure_kind
        from fanout_sliced
        where measure_kind in ('count', 'per_customer')
    ),

    fanout_filled as (
        select
            {%- for column in key_columns %}
                {{ column }},
            {%- endfor %}
            slice_type,
            slice_value,
            numerator,
            n,
            cast(null as {{ dbt.type_bigint() }}) as customers_active_in_period
        from fanout_sliced
        where measure_kind in ('count', 'per_customer')
        union all
        select
            fanout_measured_variants.indicator_code,
            fanout_measured_variants.indicator_variant,
            fanout_measured_variants.unit,
            fanout_measured_variants.measure_kind,
            fanout_retention.period_grain,
            fanout_retention.period_start_on,
            fanout_retention.slice_type,
            fanout_retention.slice_value,
            0 as numerator,
            0 as n,
            fanout_retention.customers_active_in_period
        from fanout_measured_variants
        cross join fanout_retention
    ),

    fanout_measured as (
        select
            {%- for column in key_columns %}
                {{ column }},
            {%- endfor %}
            slice_type,
            slice_value,
            sum(numerator) as numerator,
            sum(n) as n,
            coalesce(max(customers_active_in_period), 0) as customers_active_in_period
        from fanout_filled
        group by
            {%- for column in key_columns %}
                {{ column }},
            {%- endfor %}
            slice_type,
            slice_value
    ),

    fanned_out as (
        select
            indicator_code,
            indicator_variant,
            period_grain,
            period_start_on,
            slice_type,
            slice_value,
            numerator,
            case when measure_kind = 'count' then 1 else customers_active_in_period end
                as denominator,
            unit,
            cast(
                case when measure_kind = 'count' then n else customers_active_in_period end
                as {{ dbt.type_bigint() }}
            ) as n
        from fanout_measured
        union all
        select
            indicator_code,
            indicator_variant,
            period_grain,
            period_start_on,
            slice_type,
            slice_value,
            numerator,
            denominator,
            unit,
            cast(n as {{ dbt.type_bigint() }}) as n
        from fanout_sliced
        where measure_kind = 'ratio'
        {%- for statistic in ['median', 'p90'] %}
            union all
            select
                indicator_code,
                {{ dbt.concat(['indicator_variant', "'" ~ statistic ~ "'"]) }}
                    as indicator_variant,
                period_grain,
                period_start_on,
                slice_type,
                slice_value,
                {{ statistic }}_value as numerator,
                1 as denominator,
                unit,
                cast(n as {{ dbt.type_bigint() }}) as n
            from fanout_durations
        {%- endfor %}
    )
{% endmacro %}

{#-
    One select that rolls `relation` (rows with a customer_id and the `key_columns`) up to
    every slice in one pass: one join to `customers` (indicator_slice_customers: one row per
    customer) and GROUPING SETS, one set per slice type; a customer counts in the slice
    types it has a row of. `aggregates` are the select's aggregate expressions with their
    aliases (`sum(amount_cny) as amount_cny`), over the relation's columns by their bare
    names; `where` filters the relation's rows (joined to `customers`, so it may qualify
    them). Out: the key columns, slice_type, slice_value, the aggregates. grouping() tells
    the sets apart, so a NULL industry is a slice value of its own (as in
    int_customer_slices), not the company row.
    Portable: the join is projected first (the relation's columns and the slice columns as
    slice_<type> and in_slice_<type>), so the GROUP BY GROUPING SETS, grouping() and the
    select name bare columns only, and the "customer has a row of this slice type" filter
    is a WHERE around the grouped select, not a HAVING: Spark resolves neither a
    table-qualified column nor a column outside the select list in a grouping-sets HAVING
    ([UNRESOLVED_COLUMN]).
-#}
{% macro indicator_slice_rollup(
    relation, key_columns, aggregates, customers='customers', where=none
) %}
    {%- set slice_types = ['company', 'industry', 'region', 'size_band', 'account_manager'] %}
    select
        {%- for column in key_columns %}
            {{ column }},
        {%- endfor %}
        slice_type,
        slice_value,
        {%- for aggregate in aggregates %}
            {{ aggregate.split(' as ')[-1] | trim }}{{ ',' if not loop.last }}
        {%- endfor %}
    from (
        select
            {%- for column in key_columns %}
                {{ column }},
            {%- endfor %}
            case
                {%- for slice_type in slice_types[1:] %}
                    when grouping(slice_{{ slice_type }}) = 0 then '{{ slice_type }}'
                {%- endfor %}
                else 'company'
            end as slice_type,
            case
                {%- for slice_type in slice_types[1:] %}
                    when grouping(slice_{{ slice_type }}) = 0 then slice_{{ slice_type }}
                {%- endfor %}
                else slice_company
            end as slice_value,
            case
                {%- for slice_type in slice_types[1:] %}
                    when grouping(slice_{{ slice_type }}) = 0 then in_slice_{{ slice_type }}
                {%- endfor %}
                else in_slice_company
            end as in_slice,
            {%- for aggregate in aggregates %}
                {{ aggregate }}{{ ',' if not loop.last }}
            {%- endfor %}
        from (
            select
                {{ relation }}.*,
                {%- for slice_type in slice_types %}
                    {{ customers }}.{{ slice_type }} as slice_{{ slice_type }},
                    {{ customers }}.in_{{ slice_type }} as in_slice_{{ slice_type }}
                    {{- ',' if not loop.last }}
                {%- endfor %}
            from {{ relation }}
            inner join {{ customers }}
                on {{ relation }}.customer_id = {{ customers }}.customer_id
            {%- if where %}
                where {{ where }}
            {%- endif %}
        ) as slice_rows
        group by grouping sets (
            {%- for slice_type in slice_types %}
                (
                    {%- for column in key_columns %}
                        {{ column }},
                    {%- endfor %}
                    slice_{{ slice_type }},
                    in_slice_{{ slice_type }}
                ){{ ',' if not loop.last }}
            {%- endfor %}
        )
    ) as slice_rollup
    where in_slice = 1
{% endmacro %}

{#-
    int_customer_slices pivoted to one row per customer, for indicator_slice_rollup: for
    each slice type (company, industry, region, size_band, account_manager) the customer's
    slice value and in_<type> = 1 where the customer has a row of that type (always, on
    dim_customers; a unit test may give company rows only).
-#}
{% macro indicator_slice_customers() %}
    {%- set slice_types = ['company', 'industry', 'region', 'size_band', 'account_manager'] %}
    select
        customer_id,
        {%- for slice_type in slice_types %}
            max(case when slice_type = '{{ slice_type }}' then slice_value end)
                as {{ slice_type }},
            max(case when slice_type = '{{ slice_type }}' then 1 else 0 end)
                as in_{{ slice_type }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ ref('int_customer_slices') }}
    group by customer_id
{% endmacro %}

{#-
    The items CTE of a family, from a list of item definitions (one select each, union all):
    each a dict with
      from         the relation (CTE) the items are rows of;
      code, unit, kind   indicator_code, unit, measure_kind (see indicator_fanout);
      variant      the variant as a literal ('standard'), or variant_sql: an expression
                   (dbt.concat(["'channel:'", 'channel']));
      on           the date expression that puts the item in its period (measured_on);
      numerator    numerator_value, default 1; denominator: denominator_value, default 1;
      where        optional filter;
      customers    true: is_customer_count = 1 (count the customer once per period); only
                   written when `customer_counts` is true (as for indicator_fanout).
    `defaults`: keys every item takes unless it names its own (from, on, ...).
-#}
{% macro indicator_items(items, defaults={}, customer_counts=false) %}
    {%- for given in items %}
        {%- set item = {} %}
        {%- do item.update(defaults) %}
        {%- do item.update(given) %}
        select
            '{{ item.code }}' as indicator_code,
            {{ item.variant_sql if item.variant_sql else "'" ~ item.variant ~ "'" }}
                as indicator_variant,
            '{{ item.unit }}' as unit,
            '{{ item.kind }}' as measure_kind,
            {%- if customer_counts %}
                {{ 1 if item.customers else 0 }} as is_customer_count,
            {%- endif %}
            customer_id,
            {{ item.on }} as measured_on,
            {{ item.numerator | default(1) }} as numerator_value,
            {{ item.denominator | default(1) }} as denominator_value
        from {{ item['from'] }}
        {%- if item.where %}
            where {{ item.where }}
        {%- endif %}
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
{% endmacro %}

{#-
    Tidy rows from a relation that already has one row per period and slice (period_grain,
    period_start_on, slice_type, slice_value): one select per row definition, union all.
    Each a dict with code (or code_sql), variant (a literal) or variant_sql (an expression),
    numerator,
    denominator (default 1), unit and n (SQL expressions over the relation's columns); from
    (the relation) and any other key may come from `defaults`.
-#}
{% macro indicator_rows(rows, defaults={}) %}
    {%- for given in rows %}
        {%- set row = {} %}
        {%- do row.update(defaults) %}
        {%- do row.update(given) %}
        select
            {{ row.code_sql if row.code_sql else "'" ~ row.code ~ "'" }} as indicator_code,
            {{ row.variant_sql if row.variant_sql else "'" ~ row.variant ~ "'" }}
                as indicator_variant,
            period_grain,
            period_start_on,
            slice_type,
            slice_value,
            {{ row.numerator }} as numerator,
            {{ row.denominator | default(1) }} as denominator,
            '{{ row.unit }}' as unit,
            {{ row.n }} as n
        from {{ row['from'] }}
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
{% endmacro %}

{#-
    The join condition of two relations keyed by period and slice (period_grain,
    period_start_on, slice_type, slice_value).
-#}
{% macro same_period_and_slice(left, right) -%}
    {%- for column in ['period_grain', 'period_start_on', 'slice_type', 'slice_value'] %}
        {{ 'and ' if not loop.first }}{{ left }}.{{ column }} = {{ right }}.{{ column }}
    {%- endfor %}
{%- endmacro %}

{#-
    A timestamp column as known on as_of: null when it falls after as_of (a response,
    resolution or follow-up stamped later has not happened yet), aliased to its own name.
-#}
{% macro stamp_as_of(column) -%}
    case when cast({{ column }} as date) <= {{ as_of_date() }} then {{ column }} end
        as {{ column }}
{%- endmacro %}

{#-
    Hours from one timestamp to another, to the minute: dbt.datediff in minutes / 60 (an
    hour-granularity datediff counts hour boundaries: 10:59 to 11:01 is one hour on DuckDB).
-#}
{% macro hours_between(start_column, end_column) -%}
    {{ dbt.datediff(start_column, end_column, 'minute') }} / 60.0
{%- endmacro %}

{#- The three period grains as rows of period_grain, to cross with dated rows. -#}
{% macro period_grains() %}
    select 'month' as period_grain
    union all
    select 'quarter' as period_grain
    union all
    select 'year' as period_grain
{% endmacro %}
