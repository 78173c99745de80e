{#-
    The service family's items (METRICS A5–A7, macros/indicators.sql says what an item is):
    one select, read by int_service_indicators (its fan-out) and by the view
    int_service_items (the variants a daily run compares with those stored:
    indicator_variants_moved). One definition, so that the two cannot drift apart.
      A5  feedback items received in the period: all ('standard'), by channel and by
          category (counts); 'addressed' = valid items with a response / valid items;
      A6  valid items / all items × 100 ('standard', and by channel);
      A7  'followed_up' = valid items with a recorded follow-up / valid items.
    Point in time: a response or follow-up stamped after as_of has not happened yet.
-#}
{% macro service_items() %}
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

    service_items as (
        {{ indicator_items([
            {'code': 'A5', 'variant': 'standard', 'unit': 'count', 'kind': 'count'},
            {'code': 'A5', 'variant_sql': by_channel, 'unit': 'count', 'kind': 'count'},
            {'code': 'A5', 'variant_sql': dbt.concat(["'category:'", 'category']),
             'unit': 'count', 'kind': 'count'},
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
    )

    select * from service_items
{% endmacro %}
