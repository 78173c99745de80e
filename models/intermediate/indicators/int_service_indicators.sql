-- Service indicators in the tidy shape of loyalty_indicators (METRICS A4–A7), per period
-- (month, quarter, year) and slice: the items below, fanned out by macros/indicators.sql, and
-- the durations (A4, A7 median and p90) from int_service_duration_indicators.
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
{%- set by_channel = dbt.concat(["'channel:'", 'channel']) %}
{%- set valid_pct = 'case when is_valid then 100 else 0 end' %}
with feedback as (
    select * from {{ ref('fct_feedback') }}
),

feedback_stamps as (
    select
        customer_id,
        received_at,
        channel,
        category,
        is_valid,
        {{ stamp_as_of('responded_at') }},
        {{ stamp_as_of('followed_up_at') }}
    from feedback
),

-- One row per thing measured (macros/indicators.sql says how each measure_kind aggregates);
-- the durations (A4, A7 median and p90) are int_service_duration_indicators'.
items as (
    {{ indicator_items([
        {'code': 'A5', 'variant': 'standard', 'unit': 'count', 'kind': 'count'},
        {'code': 'A5', 'variant_sql': by_channel, 'unit': 'count', 'kind': 'count'},
        {'code': 'A5', 'variant_sql': dbt.concat(["'category:'", 'category']), 'unit': 'count',
         'kind': 'count'},
        {'code': 'A5', 'variant': 'addressed', 'unit': 'rate', 'kind': 'ratio',
         'numerator': 'case when responded_at is not null then 1 else 0 end',
         'where': 'is_valid'},
        {'code': 'A6', 'variant': 'standard', 'unit': 'pct', 'kind': 'ratio',
         'numerator': valid_pct},
        {'code': 'A6', 'variant_sql': by_channel, 'unit': 'pct', 'kind': 'ratio',
         'numerator': valid_pct},
        {'code': 'A7', 'variant': 'followed_up', 'unit': 'rate', 'kind': 'ratio',
         'numerator': 'case when followed_up_at is not null then 1 else 0 end',
         'where': 'is_valid'},
    ], defaults={'from': 'feedback_stamps', 'on': 'cast(received_at as date)'}) }}
),

{{ indicator_fanout('items') }},

final as (
    {{ union_indicator_rows([
        'fanned_out',
        ref('int_service_duration_indicators'),
    ]) }}
)

select
    final.*,
    {{ is_complete_period('final.period_grain', 'final.period_start_on') }} as is_complete_period
from final
