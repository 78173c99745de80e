-- Complaint indicators in the tidy shape of loyalty_indicators (METRICS D1–D5), per period
-- (month, quarter, year) and slice: the items of macros/complaint.sql (complaint_items, also
-- the view int_complaint_items) and the D5 recurring customers below, fanned out by
-- macros/indicators.sql.
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
--
-- Stored by period (macros/rewrite_window.sql), as int_engagement_indicators: a daily run
-- rewrites the periods from the run's window on, and for a customer whose account manager
-- moved the rows of its managers' slices (by_slice); a table on Spark. The fan-out reads the
-- items of those periods and customers only, but takes the D5 categories it zero-fills from
-- every item, and a category first seen or gone since the last run rewrites every period
-- (indicator_variants_moved, over int_complaint_items). Rewritten in full each run
-- (rows_rewritten_in_full): D2 (a complaint of a closed period closed since).
{%- set full_rows = rows_rewritten_in_full('int_complaint_indicators') %}
{{ stored_by_period(
    full_rows=full_rows,
    by_slice=true,
    variant_inputs=['int_complaint_items'],
    variant_codes=['D5'],
    other_variants=['recurring_customers'],
) }}
-- read twice on a daily run (the window's items, every item's variants): computed where read
with items as {{ inline_cte() }} (
    {{ complaint_items() }}
),

grains as (
    {{ period_grains() }}
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

recurring_customers as {{ inline_cte() }} (
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

{{ indicator_fanout(
    'items', period_items='recurring_customers', stored=true, full_rows=full_rows
) }},

rewritten as (
    {{ select_rewritten_rows('fanned_out', full_rows) }}
)

select
    rewritten.*,
    {{ is_complete_period('rewritten.period_grain', 'rewritten.period_start_on') }}
        as is_complete_period
from rewritten
