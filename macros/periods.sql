{#-
    Periods: months, quarters and years. Dated rows are put in the period they fall in, and
    months on a customer's spine rolled up to quarters and years. The rollups take their
    point-in-time facts (active at the start of the period, at its end) from the period's
    first or last month on the spine, found with one window over the spine: the month before
    or after is missing, or falls in another period.
-#}

{#- The first day of the `grain` period (month, quarter, year) a date falls in, as a date. -#}
{% macro period_start(grain, date_column) %}
    {{- 'cast(' ~ dbt.date_trunc(grain, date_column) ~ ' as date)' -}}
{% endmacro %}

{#-
    The first day of the period a date falls in, the grain read from a column
    ('month', 'quarter', else 'year'): for rows crossed with the grains.
-#}
{% macro period_start_by_grain(grain_column, date_column) %}
    case {{ grain_column }}
        when 'month' then {{ period_start('month', date_column) }}
        when 'quarter' then {{ period_start('quarter', date_column) }}
        else {{ period_start('year', date_column) }}
    end
{% endmacro %}

{#-
    The customer's months before and after each month on the spine, as
    previous_month_start_on and next_month_start_on (null at the ends); `sides` picks them.
-#}
{% macro neighbour_months(
    month_column='month_start_on',
    customer_column='customer_id',
    sides=['previous', 'next']
) %}
    {%- set functions = {'previous': 'lag', 'next': 'lead'} -%}
    {%- for side in sides %}
        {{ functions[side] }}({{ month_column }}) over (
            partition by {{ customer_column }} order by {{ month_column }}
        ) as {{ side }}_month_start_on
        {{- ',' if not loop.last }}
    {%- endfor %}
{% endmacro %}

{#-
    True where the month is the first (`neighbour_column` the previous month) or the last
    (the next month) of its `grain` period on the customer's spine.
-#}
{% macro is_period_edge(grain, neighbour_column, month_column='month_start_on') %}
    (
        {{ neighbour_column }} is null
        or {{ period_start(grain, neighbour_column) }} <> {{ period_start(grain, month_column) }}
    )
{% endmacro %}

{#-
    The first day of the period after the one starting on `start_column`, the grain read
    from a column ('month', 'quarter', else 'year').
-#}
{% macro next_period_start_by_grain(grain_column, start_column) %}
    cast(
        case {{ grain_column }}
            when 'month' then {{ dbt.dateadd('month', 1, start_column) }}
            when 'quarter' then {{ dbt.dateadd('month', 3, start_column) }}
            else {{ dbt.dateadd('year', 1, start_column) }}
        end as date
    )
{% endmacro %}

{#-
    True where the period (its grain read from a column: 'month', 'quarter', else 'year')
    ended on or before as_of; the period that holds as_of is open (false).
-#}
{% macro is_complete_period(grain_column, start_column) %}
    (
        {{ next_period_start_by_grain(grain_column, start_column) }}
        <= {{ dbt.dateadd('day', 1, as_of_date()) }}
    )
{% endmacro %}
