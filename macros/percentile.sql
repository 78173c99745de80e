{#-
    Continuous percentile (linear interpolation between the two nearest values, as
    percentile_cont) of an expression, as an aggregate: percentile('hours', 0.5) is the
    median, percentile('hours', 0.9) the p90. `fraction` is a literal between 0 and 1.
    DuckDB and PostgreSQL use the ordered-set aggregate; Spark's exact percentile()
    interpolates the same way.
-#}
{% macro percentile(expression, fraction) -%}
    {{ return(adapter.dispatch('percentile')(expression, fraction)) }}
{%- endmacro %}

{% macro default__percentile(expression, fraction) -%}
    percentile_cont({{ fraction }}) within group (order by {{ expression }})
{%- endmacro %}

{% macro duckdb__percentile(expression, fraction) -%}
    {{ default__percentile(expression, fraction) }}
{%- endmacro %}

{% macro postgres__percentile(expression, fraction) -%}
    {{ default__percentile(expression, fraction) }}
{%- endmacro %}

{% macro spark__percentile(expression, fraction) -%}
    percentile({{ expression }}, {{ fraction }})
{%- endmacro %}
