{#-
    Trailing windows: "trailing 12 months" is, everywhere in the warehouse, the 365 days
    ending at a date (as_of unless another end is given), the end included: the days d with
    end - 365 < d <= end. The window before it (a year-on-year comparison) is the 365 days
    before that, so the two always have the same length. Calendar periods (month, quarter,
    year) are macros/periods.sql.
-#}

{#- The length of a trailing year in days. -#}
{% macro trailing_year_days() %}
    {{- return(365) -}}
{% endmacro %}

{#-
    True where `date_column` falls in the trailing year ending at `end_on` (an SQL date
    expression, as_of by default), or, with years_before = k, in the k-th such window before
    it (1: the prior year of a year-on-year comparison).
-#}
{% macro is_in_trailing_year(date_column, end_on=none, years_before=0) %}
    {%- set end = end_on if end_on is not none else as_of_date() -%}
    {%- set days = trailing_year_days() -%}
    (
        {{ date_column }} > {{ dbt.dateadd('day', -1 * days * (years_before + 1), end) }}
        and {{ date_column }} <= {{ dbt.dateadd('day', -1 * days * years_before, end) }}
    )
{% endmacro %}

{#-
    The first day of the trailing year ending at `end_on` (or of the k-th before it), as a
    date: end - 364 days for the window itself.
-#}
{% macro trailing_year_start(end_on=none, years_before=0) %}
    {%- set end = end_on if end_on is not none else as_of_date() -%}
    {%- set days = trailing_year_days() -%}
    cast({{ dbt.dateadd('day', 1 - days * (years_before + 1), end) }} as date)
{% endmacro %}
