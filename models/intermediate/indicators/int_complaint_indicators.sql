-- Complaint indicators in the tidy shape of loyalty_indicators (METRICS D1–D5), per period
-- (month, quarter, year) and slice: the items below, fanned out by macros/indicators.sql.
--   D1  complaints opened in the period / customers active in it
--       (loyalty_retention.customers_active_in_period) ('standard').
--   D2  100 × complaints closed with outcome 'resolved' / complaints opened in the period
--       ('standard'); the same over the complaints of the period closed by as_of
--       ('of_closed'), which does not fall while recent complaints are still open.
--       'partially_resolved', 'unresolved' and 'withdrawn' are not successes.
--   D3  hours from opening to closing, complaints closed in the period: 'median', 'p90'.
--   D4  mean satisfaction_after of the complaints closed in the period that carry one
--       ('standard', unit score on the 1–5 scale the landing contract fixes), and the same
--       as % of the scale maximum ('pct_of_max').
--   D5  complaints opened, by category ('category:<category>'); 'recurring_customers':
--       customers with two or more complaints of one category opened in the period.
-- Medians, p90s and counts are statistics, not ratios: the statistic is the numerator and
-- the denominator is 1. Counts and D1 exist for every period and slice of loyalty_retention
-- (zero when nothing happened); ratios and percentiles only where there is something to
-- measure. Durations are dbt.datediff in minutes / 60 (an hour-granularity datediff counts
-- hour boundaries). Point in time: a closing stamped after as_of has not happened yet.
{%- set satisfaction_after_scale_max = 5 %}
{%- set resolved_pct = "case when outcome = 'resolved' then 100 else 0 end" %}
{%- set resolved_on = 'cast(resolved_at as date)' %}
{%- set has_satisfaction = 'satisfaction_after is not null' %}
with complaints as (
    select * from {{ ref('fct_complaints') }}
),

grains as (
    {{ period_grains() }}
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

-- One row per thing measured (macros/indicators.sql says how each measure_kind aggregates).
items as (
    {{ indicator_items([
        {'code': 'D1', 'variant': 'standard', 'unit': 'per_customer', 'kind': 'per_customer'},
        {'code': 'D2', 'variant': 'standard', 'unit': 'pct', 'kind': 'ratio',
         'numerator': resolved_pct},
        {'code': 'D2', 'variant': 'of_closed', 'unit': 'pct', 'kind': 'ratio',
         'numerator': resolved_pct, 'where': 'resolved_at is not null'},
        {'code': 'D3', 'variant': '', 'unit': 'hours', 'kind': 'duration', 'on': resolved_on,
         'numerator': hours_between('opened_at', 'resolved_at'),
         'where': 'resolved_at is not null'},
        {'code': 'D4', 'variant': 'standard', 'unit': 'score', 'kind': 'ratio',
         'on': resolved_on, 'numerator': 'satisfaction_after', 'where': has_satisfaction},
        {'code': 'D4', 'variant': 'pct_of_max', 'unit': 'pct', 'kind': 'ratio',
         'on': resolved_on,
         'numerator': '100.0 * satisfaction_after / ' ~ satisfaction_after_scale_max,
         'where': has_satisfaction},
        {'code': 'D5', 'variant_sql': dbt.concat(["'category:'", 'category']), 'unit': 'count',
         'kind': 'count'},
    ], defaults={'from': 'complaint_stamps', 'on': 'cast(opened_at as date)'}) }}
),

-- D5 recurring issues: a customer counts once in a period when some category has two or
-- more of its complaints opened in it (a period item: no one date puts it in its period).
category_periods as (
    select
        items.customer_id,
        items.indicator_variant,
        grains.period_grain,
        {{ period_start_by_grain('grains.period_grain', 'items.measured_on') }} as period_start_on
    from items
    cross join grains
    where items.indicator_code = 'D5'
),

repeated_categories as (
    select
        customer_id,
        period_grain,
        period_start_on
    from category_periods
    group by
        customer_id,
        indicator_variant,
        period_grain,
        period_start_on
    having count(*) >= 2
),

recurring_customers as (
    select distinct
        'D5' as indicator_code,
        'recurring_customers' as indicator_variant,
        'count' as unit,
        'count' as measure_kind,
        customer_id,
        1 as numerator_value,
        1 as denominator_value,
        period_grain,
        period_start_on
    from repeated_categories
),

{{ indicator_fanout('items', period_items='recurring_customers') }}

select
    fanned_out.*,
    {{ is_complete_period('fanned_out.period_grain', 'fanned_out.period_start_on') }}
        as is_complete_period
from fanned_out
