{#-
    Length of one CLV time unit in days: var('clv_time_unit') is days, weeks or months
    (a month is 365.25 / 12 days). Anything else is a compilation error naming the var.
-#}
{% macro clv_unit_days() %}
    {%- set unit = var('clv_time_unit', 'weeks') -%}
    {%- set days = {'days': 1.0, 'weeks': 7.0, 'months': 30.4375} -%}
    {%- if unit not in days -%}
        {{ exceptions.raise_compiler_error(
            "var clv_time_unit must be days, weeks or months, got '" ~ unit ~ "'"
        ) }}
    {%- endif -%}
    {{ days[unit] }}
{%- endmacro %}
