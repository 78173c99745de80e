{#-
    The engagement family's items (METRICS C1–C7, macros/indicators.sql says what an item
    is): one select, read by int_engagement_indicators (its fan-out) and by the view
    int_engagement_items (the variants a daily run compares with those stored:
    indicator_variants_moved). One definition, so that the two cannot drift apart.
      C1 interactions, C4 on the forum and social channels, C6 care touches (and by kind):
         per customer active in the period;
      C2 consultations, overall and by channel: counts;
      C3 event participations (attended) × 100, by event kind, and attending customers;
      C5 customers giving valid feedback (per customer), suggestions adopted / made (ratio);
      C7 loyalty points earned and redeemed up to as_of: counts.
-#}
{% macro engagement_items() %}
    {%- set social_channels = "channel in ('forum', 'social')" %}
    {%- set care_touches = is_care_touch() %}
    {%- set interactions_on = {'from': 'interactions', 'on': 'cast(occurred_at as date)'} %}
    {%- set attendance_on = {'from': 'attendance', 'on': 'held_on', 'where': 'attended'} %}
    {%- set feedback_on = {'from': 'feedback', 'on': 'cast(received_at as date)'} %}
    {%- set consultations = "kind = 'consultation'" %}
    with interactions as (
        select * from {{ ref('fct_interactions') }}
    ),

    feedback as (
        select * from {{ ref('fct_feedback') }}
    ),

    attendance as (
        select * from {{ ref('fct_event_attendance') }}
    ),

    ledger_entries as (
        select *
        from {{ ref('stg_crm__loyalty_programme') }}
        where occurred_on <= {{ as_of_date() }}
    ),

    -- One row per thing measured; customers: the numerator counts each customer once per
    -- period (times numerator_value: 1, or 100 for a percentage), not the items.
    measured_items as (
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
            dict(feedback_on, code='C5', variant='suggestion_adoption', unit='rate',
                 kind='ratio', numerator='case when is_adopted then 1 else 0 end',
                 where='is_suggestion'),
        ], customer_counts=true) }}
    )

    select * from measured_items
{% endmacro %}
