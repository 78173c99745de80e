{#-
    The date the warehouse reports "as of": var('as_of') when given (YYYY-MM-DD, for
    backtests and reproducible reports), else today: the day this dbt invocation started, on
    the clock of the machine that runs dbt (`run_started_at` in its local time zone). One value
    for every query of the invocation, so a build that runs past midnight reports one day
    throughout (the database's `current_date` is read per query and would move).
-#}
{% macro as_of_date() %}
    {%- if var('as_of', none) -%}
        cast('{{ var("as_of") }}' as date)
    {%- else -%}
        cast('{{ run_started_at.astimezone().strftime("%Y-%m-%d") }}' as date)
    {%- endif -%}
{% endmacro %}
