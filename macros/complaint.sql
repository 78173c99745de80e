{#-
    The complaint family's items (METRICS D1–D5, macros/indicators.sql says what an item is):
    one select, read by int_complaint_indicators (its fan-out and its D5 recurring customers)
    and by the view int_complaint_items (the variants a daily run compares with those stored:
    indicator_variants_moved). One definition, so that the two cannot drift apart.
      D1  complaints opened in the period, per customer active in it;
      D2  100 × complaints closed with outcome 'resolved' / complaints opened ('standard'),
          and over those closed by as_of ('of_closed');
      D3  hours from opening to closing, complaints closed in the period (durations);
      D4  satisfaction_after of the complaints closed in the period ('standard', score on
          the 1–5 scale; 'pct_of_max', % of that maximum);
      D5  complaints opened, by category (counts).
    Point in time: a closing stamped after as_of has not happened yet (nor its outcome or
    satisfaction).
-#}
{% macro complaint_items() %}
    {%- set satisfaction_after_scale_max = 5 %}
    {%- set resolved_pct = "case when outcome = 'resolved' then 100 else 0 end" %}
    {%- set resolved_on = 'cast(resolved_at as date)' %}
    {%- set has_satisfaction = 'satisfaction_after is not null' %}
    with complaints as (
        select * from {{ ref('fct_complaints') }}
    ),

    closed_flags as (
        select
            *,
            coalesce(cast(resolved_at as date) <= {{ as_of_date() }}, false) as is_closed
        from complaints
    ),

    complaint_stamps as (
        select
            customer_id,
            opened_at,
            category,
            case when is_closed then resolved_at end as resolved_at,
            case when is_closed then outcome end as outcome,
            case when is_closed then satisfaction_after end as satisfaction_after
        from closed_flags
    ),

    complaint_items as (
        {{ indicator_items([
            {'code': 'D1', 'variant': 'standard', 'unit': 'per_customer',
             'kind': 'per_customer'},
            {'code': 'D2', 'variant': 'standard', 'unit': 'pct', 'kind': 'ratio',
             'numerator': resolved_pct},
            {'code': 'D2', 'variant': 'of_closed', 'unit': 'pct', 'kind': 'ratio',
             'numerator': resolved_pct, 'where': 'resolved_at is not null'},
            {'code': 'D3', 'variant': '', 'unit': 'hours', 'kind': 'duration',
             'on': resolved_on, 'numerator': hours_between('opened_at', 'resolved_at'),
             'where': 'resolved_at is not null'},
            {'code': 'D4', 'variant': 'standard', 'unit': 'score', 'kind': 'ratio',
             'on': resolved_on, 'numerator': 'satisfaction_after', 'where': has_satisfaction},
            {'code': 'D4', 'variant': 'pct_of_max', 'unit': 'pct', 'kind': 'ratio',
             'on': resolved_on,
             'numerator': '100.0 * satisfaction_after / ' ~ satisfaction_after_scale_max,
             'where': has_satisfaction},
            {'code': 'D5', 'variant_sql': dbt.concat(["'category:'", 'category']),
             'unit': 'count', 'kind': 'count'},
        ], defaults={'from': 'complaint_stamps', 'on': 'cast(opened_at as date)'}) }}
    )

    select * from complaint_items
{% endmacro %}
