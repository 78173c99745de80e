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
-- The period-end rows (C6, C7) and C8 are models of their own
-- (int_engagement_period_end_indicators, int_engagement_event_effect_indicators), read here:
-- in one statement with the fan-out they did not fit dbt's DuckDB memory at 1,000,000
-- customers (docs/benchmarks.md, run J).
{%- set social_channels = "channel in ('forum', 'social')" %}
{%- set care_touches = is_care_touch() %}
with interactions as (
    select * from {{ ref('fct_interactions') }}
),

feedback as (
    select * from {{ ref('fct_feedback') }}
),

attendance as (
    select * from {{ ref('fct_event_attendance') }}
),

loyalty_ledger as (
    select * from {{ ref('stg_crm__loyalty_programme') }}
),

ledger_entries as (
    select *
    from loyalty_ledger
    where occurred_on <= {{ as_of_date() }}
),

-- One row per thing measured (macros/indicators.sql says how each measure_kind aggregates);
-- customers: the numerator counts each customer once per period (times numerator_value: 1,
-- or 100 for a percentage), not the items.
items as (
    {%- set interactions_on = {'from': 'interactions', 'on': 'cast(occurred_at as date)'} %}
    {%- set attendance_on = {'from': 'attendance', 'on': 'held_on', 'where': 'attended'} %}
    {%- set feedback_on = {'from': 'feedback', 'on': 'cast(received_at as date)'} %}
    {%- set consultations = "kind = 'consultation'" %}
    {{ indicator_items([
        dict(interactions_on, code='C1', variant='standard', unit='per_customer',
             kind='per_customer'),
        dict(interactions_on, code='C2', variant='standard', unit='count', kind='count',
             where=consultations),
        dict(interactions_on, code='C2', variant_sql=dbt.concat(["'channel:'", 'channel']),
             unit='count', kind='count', where=consultations),
        dict(interactions_on, code='C4', variant='standard', unit='per_customer',
             kind='per_customer', where=social_channels),
        dict(interactions_on, code='C6', variant='standard', unit='per_customer',
             kind='per_customer', where=care_touches),
        dict(interactions_on, code='C6', variant_sql=dbt.concat(["'kind:'", 'kind']),
             unit='per_customer', kind='per_customer', where=care_touches),
        dict(attendance_on, code='C3', variant='standard', unit='pct', kind='per_customer',
             numerator=100),
        dict(attendance_on, code='C3', variant_sql=dbt.concat(["'kind:'", 'event_kind']),
             unit='pct', kind='per_customer', numerator=100),
        dict(attendance_on, code='C3', variant='customers', unit='pct', kind='per_customer',
             numerator=100, customers=true),
        dict(feedback_on, code='C5', variant='feedback_customers', unit='rate',
             kind='per_customer', where='is_valid', customers=true),
        {'from': 'ledger_entries', 'on': 'occurred_on', 'code': 'C7',
         'variant_sql': "case entry_type when 'earn' then 'points_earned'"
         ~ " else 'points_redeemed' end",
         'unit': 'count', 'kind': 'count', 'numerator': 'points',
         'where': "entry_type in ('earn', 'redeem')"},
        dict(feedback_on, code='C5', variant='suggestion_adoption', unit='rate', kind='ratio',
             numerator='case when is_adopted then 1 else 0 end', where='is_suggestion'),
    ], customer_counts=true) }}
),

{{ indicator_fanout('items', customer_counts=true) }},

final as (
    {{ union_indicator_rows([
        'fanned_out',
        ref('int_engagement_period_end_indicators'),
        ref('int_engagement_event_effect_indicators'),
    ]) }}
)

select
    final.*,
    {{ is_complete_period('final.period_grain', 'final.period_start_on') }} as is_complete_period
from final
