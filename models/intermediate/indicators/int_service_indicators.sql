-- Service indicators in the tidy shape of loyalty_indicators (METRICS A4–A7), per period
-- (month, quarter, year) and slice: the items of macros/service.sql (service_items, also the
-- view int_service_items), fanned out by macros/indicators.sql, and the durations (A4, A7
-- median and p90) from int_service_duration_indicators.
--   A4  hours from a service ticket's opening to its resolution, tickets resolved in the
--       period: variants 'median' and 'p90'.
--   A5  feedback items received in the period: all ('standard'), by channel
--       ('channel:<channel>') and by category ('category:<category>'); 'addressed' = valid
--       items with a response / valid items.
--   A6  valid items / all items × 100 ('standard', and 'channel:<channel>').
--   A7  hours from receipt to first response, feedback responded to in the period ('median',
--       'p90'); the same for service tickets ('ticket_median', 'ticket_p90'); 'followed_up'
--       = valid items with a recorded follow-up / valid items received in the period.
-- Medians, p90s and counts are statistics, not ratios: the statistic is the numerator and
-- the denominator is 1. Counts exist for every period and slice of loyalty_retention (zero
-- when nothing happened); ratios and percentiles only where there is something to measure.
-- Durations are dbt.datediff in minutes / 60: an hour-granularity datediff counts hour
-- boundaries crossed (10:59 to 11:01 is one hour on DuckDB), too coarse for response times.
-- Point in time: a response, resolution or follow-up stamped after as_of has not happened
-- yet (the facts filter on the opening date only).
--
-- Stored by period (macros/rewrite_window.sql), as int_engagement_indicators: a daily run
-- rewrites the periods from the run's window on, and for a customer whose account manager
-- moved the rows of its managers' slices (by_slice); a table on Spark. The fan-out reads the
-- items of those periods and customers only, but takes the A5 variants it zero-fills from
-- every item, and an A5 channel or category first seen or gone since the last run rewrites
-- every period (indicator_variants_moved, over int_service_items). Rewritten in full each
-- run (rows_rewritten_in_full): A5 addressed and A7 followed_up (a response or follow-up
-- stamped after as_of has not happened yet, whenever the feedback came).
{%- set full_rows = rows_rewritten_in_full('int_service_indicators') %}
{{ stored_by_period(
    full_rows=full_rows,
    by_slice=true,
    variant_inputs=['int_service_items'],
    variant_codes=['A5'],
) }}
-- read twice on a daily run (the window's items, every item's variants): computed where read
with items as {{ inline_cte() }} (
    {{ service_items() }}
),

{{ indicator_fanout('items', stored=true, full_rows=full_rows) }},

final as (
    {{ union_indicator_rows([
        'fanned_out',
        ref('int_service_duration_indicators'),
    ]) }}
),

rewritten as (
    {{ select_rewritten_rows('final', full_rows) }}
)

select
    rewritten.*,
    {{ is_complete_period('rewritten.period_grain', 'rewritten.period_start_on') }}
        as is_complete_period
from rewritten
