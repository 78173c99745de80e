-- Engagement indicators (METRICS C1–C8) in the tidy shape of loyalty_indicators, per period
-- and slice; definitions in _indicators__service.yml. In short:
--   over customers active in the period: C1 interactions, C3 event participations × 100
--   (and attending customers × 100), C4 social/forum interactions, C5 customers giving
--   valid feedback, C6 care touches;
--   counts (denominator 1): C2 consultations, C7 points earned / redeemed;
--   ratios: C5 suggestions adopted / made; at the period end, over customers active then,
--   C6 mean days since the last care touch and C7 programme enrolment;
--   C8 buying rate in the window after an event, attendees versus non-attendees of the
--   same event, industry and size band (weighted to the attendees' mix), and the lift.
-- Counts and per-customer rates exist for every period and slice of loyalty_retention (zero
-- when nothing happened), ratios only where there is something to divide by.
-- The items are macros/engagement.sql's (engagement_items, also the view int_engagement_items);
-- the period-end rows (C6, C7) and C8 are models of their own
-- (int_engagement_period_end_indicators, int_engagement_event_effect_indicators), read here:
-- in one statement with the fan-out they did not fit dbt's DuckDB memory at 1,000,000
-- customers (docs/benchmarks.md, run J).
--
-- Stored by period (macros/rewrite_window.sql), as int_value_indicators: a daily run rewrites
-- the periods from the run's window on, and for a customer whose account manager moved the
-- rows of its managers' slices (by_slice); a table on Spark. The fan-out reads the items of
-- those periods and customers only, but takes the variants it zero-fills from every item, and
-- a variant first seen or gone since the last run rewrites every period
-- (indicator_variants_moved, over int_engagement_items). Rewritten in full each run
-- (rows_rewritten_in_full): C5 suggestion adoption (a suggestion answered after as_of is
-- pending) and C8 (an event's window closes after its period).
{%- set full_rows = rows_rewritten_in_full('int_engagement_indicators') %}
{{ stored_by_period(
    full_rows=full_rows,
    by_slice=true,
    variant_inputs=['int_engagement_items'],
    variant_codes=['C1', 'C2', 'C3', 'C4', 'C5', 'C6', 'C7'],
    other_variants=['days_since_last_touch', 'enrolled'],
) }}
-- read twice on a daily run (the window's items, every item's variants): computed where read
with items as {{ inline_cte() }} (
    {{ engagement_items() }}
),

{{ indicator_fanout('items', customer_counts=true, stored=true, full_rows=full_rows) }},

final as (
    {{ union_indicator_rows([
        'fanned_out',
        ref('int_engagement_period_end_indicators'),
        ref('int_engagement_event_effect_indicators'),
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
