{#-
    An 8-byte float on every engine: `double precision` on DuckDB and PostgreSQL, `double` on
    Spark (dbt.type_float() is a 4-byte float on DuckDB).
-#}
{% macro type_double() %}
    {{- return(adapter.dispatch('type_double')()) -}}
{% endmacro %}

{% macro default__type_double() -%}
    double precision
{%- endmacro %}

{% macro spark__type_double() -%}
    double
{%- endmacro %}
