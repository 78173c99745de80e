{#-
    The date the warehouse reports "as of": var('as_of') when given (YYYY-MM-DD, for
    backtests and reproducible reports), else today.
-#}
{% macro as_of_date() %}
    {%- if var('as_of', none) -%}
        cast('{{ var("as_of") }}' as date)
    {%- else -%}
        current_date
    {%- endif -%}
{% endmacro %}
