-- The service durations of int_service_indicators (METRICS A4, A7), per period (month, quarter,
-- year) and slice: the median and p90 of
--   A4  hours from a service ticket's opening to its resolution, tickets resolved in the
--       period (variants 'median', 'p90');
--   A7  hours from receipt to first response, feedback responded to in the period ('median',
--       'p90'); the same for service tickets ('ticket_median', 'ticket_p90').
-- The statistic is the numerator and the denominator is 1. Durations are dbt.datediff in
-- minutes / 60 (an hour-granularity datediff counts hour boundaries crossed: 10:59 to 11:01
-- is one hour on DuckDB). A response or resolution stamped after as_of has not happened yet.
-- A model of its own so that no statement holds the percentiles' values beside the counts'
-- zero-fill: together they did not fit dbt's DuckDB memory at 1,000,000 customers, each
-- alone does (docs/benchmarks.md, run K).
with tickets as (
    select * from {{ ref('fct_service_tickets') }}
),

feedback as (
    select * from {{ ref('fct_feedback') }}
),

ticket_stamps as (
    select
        customer_id,
        opened_at,
        {{ stamp_as_of('first_response_at') }},
        {{ stamp_as_of('resolved_at') }}
    from tickets
),

feedback_stamps as (
    select
        customer_id,
        received_at,
        {{ stamp_as_of('responded_at') }}
    from feedback
),

-- One row per thing measured (macros/indicators.sql says how each measure_kind aggregates);
-- a duration's variant is the prefix of its two variants ('' → median, p90).
items as (
    {{ indicator_items([
        {'code': 'A4', 'variant': '', 'unit': 'hours', 'kind': 'duration',
         'from': 'ticket_stamps', 'on': 'cast(resolved_at as date)',
         'numerator': hours_between('opened_at', 'resolved_at'),
         'where': 'resolved_at is not null'},
        {'code': 'A7', 'variant': '', 'unit': 'hours', 'kind': 'duration',
         'on': 'cast(responded_at as date)',
         'numerator': hours_between('received_at', 'responded_at'),
         'where': 'responded_at is not null'},
        {'code': 'A7', 'variant': 'ticket_', 'unit': 'hours', 'kind': 'duration',
         'from': 'ticket_stamps', 'on': 'cast(first_response_at as date)',
         'numerator': hours_between('opened_at', 'first_response_at'),
         'where': 'first_response_at is not null'},
    ], defaults={'from': 'feedback_stamps'}) }}
),

{{ indicator_fanout('items') }}

{{ union_indicator_rows(['fanned_out']) }}
