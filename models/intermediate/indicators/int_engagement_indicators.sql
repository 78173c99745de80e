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
{%- set social_channels = "channel in ('forum', 'social')" %}
{%- set care_touches = "kind in ('follow_up', 'care', 'greeting')" %}
{#- Interaction counts: (code, variant, unit, measure_kind, which interactions). #}
{%- set interaction_measures = [
    ('C1', "'standard'", 'per_customer', 'per_customer', 'true'),
    ('C2', "'standard'", 'count', 'count', "kind = 'consultation'"),
    ('C2', dbt.concat(["'channel:'", 'channel']), 'count', 'count', "kind = 'consultation'"),
    ('C4', "'standard'", 'per_customer', 'per_customer', social_channels),
    ('C6', "'standard'", 'per_customer', 'per_customer', care_touches),
    ('C6', dbt.concat(["'kind:'", 'kind']), 'per_customer', 'per_customer', care_touches),
] %}
with interactions as (
    select * from {{ ref('fct_interactions') }}
),

feedback as (
    select * from {{ ref('fct_feedback') }}
),

attendance as (
    select * from {{ ref('fct_event_attendance') }}
),

orders as (
    select * from {{ ref('fct_orders') }}
),

loyalty_ledger as (
    select * from {{ ref('stg_crm__loyalty_programme') }}
),

customers as (
    select * from {{ ref('dim_customers') }}
),

spine as (
    select * from {{ ref('int_customer_months') }}
),

slices as (
    select * from {{ ref('int_customer_slices') }}
),

retention as (
    select * from {{ ref('int_retention_bridges') }}
),

grains as (
    select 'month' as period_grain
    union all
    select 'quarter' as period_grain
    union all
    select 'year' as period_grain
),

ledger_entries as (
    select *
    from loyalty_ledger
    where occurred_on <= {{ as_of_date() }}
),

-- One row per thing measured: measure_kind says how it aggregates ('count': sum, over 1;
-- 'per_customer': sum, over the customers active in the period; 'ratio': sum over sum of
-- denominator_value). is_customer_count = 1: the numerator is the distinct customers times
-- numerator_value (1, or 100 for a percentage), not the sum over rows.
items as (
    {%- for code, variant, unit, kind, condition in interaction_measures %}
        select
            '{{ code }}' as indicator_code,
            {{ variant }} as indicator_variant,
            '{{ unit }}' as unit,
            '{{ kind }}' as measure_kind,
            0 as is_customer_count,
            customer_id,
            cast(occurred_at as date) as measured_on,
            1 as numerator_value,
            1 as denominator_value
        from interactions
        where {{ condition }}
        union all
    {%- endfor %}
    select
        'C3' as indicator_code,
        'standard' as indicator_variant,
        'pct' as unit,
        'per_customer' as measure_kind,
        0 as is_customer_count,
        customer_id,
        held_on as measured_on,
        100 as numerator_value,
        1 as denominator_value
    from attendance
    where attended
    union all
    select
        'C3' as indicator_code,
        {{ dbt.concat(["'kind:'", 'event_kind']) }} as indicator_variant,
        'pct' as unit,
        'per_customer' as measure_kind,
        0 as is_customer_count,
        customer_id,
        held_on as measured_on,
        100 as numerator_value,
        1 as denominator_value
    from attendance
    where attended
    union all
    select
        'C3' as indicator_code,
        'customers' as indicator_variant,
        'pct' as unit,
        'per_customer' as measure_kind,
        1 as is_customer_count,
        customer_id,
        held_on as measured_on,
        100 as numerator_value,
        1 as denominator_value
    from attendance
    where attended
    union all
    select
        'C5' as indicator_code,
        'feedback_customers' as indicator_variant,
        'rate' as unit,
        'per_customer' as measure_kind,
        1 as is_customer_count,
        customer_id,
        cast(received_at as date) as measured_on,
        1 as numerator_value,
        1 as denominator_value
    from feedback
    where is_valid
    union all
    select
        'C7' as indicator_code,
        case entry_type
            when 'earn' then 'points_earned'
            else 'points_redeemed'
        end as indicator_variant,
        'count' as unit,
        'count' as measure_kind,
        0 as is_customer_count,
        customer_id,
        occurred_on as measured_on,
        points as numerator_value,
        1 as denominator_value
    from ledger_entries
    where entry_type in ('earn', 'redeem')
    union all
    select
        'C5' as indicator_code,
        'suggestion_adoption' as indicator_variant,
        'rate' as unit,
        'ratio' as measure_kind,
        0 as is_customer_count,
        customer_id,
        cast(received_at as date) as measured_on,
        case when is_adopted then 1 else 0 end as numerator_value,
        1 as denominator_value
    from feedback
    where is_suggestion
),

-- Items are many and each customer has a row per slice type: sum per customer and month
-- first, then sums per slice and month, rolled up to quarters and years. Only the
-- distinct-customer measures keep the customer up to the period: one row per customer there,
-- so max(numerator_value) * count(*) = numerator_value × distinct customers.
item_months as (
    select
        indicator_code,
        indicator_variant,
        unit,
        measure_kind,
        is_customer_count,
        customer_id,
        {{ period_start('month', 'measured_on') }} as month_start_on,
        sum(numerator_value) as numerator_value,
        sum(denominator_value) as denominator_value,
        max(numerator_value) as max_numerator_value,
        count(*) as n
    from items
    group by
        indicator_code,
        indicator_variant,
        unit,
        measure_kind,
        is_customer_count,
        customer_id,
        {{ period_start('month', 'measured_on') }}
),

slice_months as (
    select
        item_months.indicator_code,
        item_months.indicator_variant,
        item_months.unit,
        item_months.measure_kind,
        item_months.is_customer_count,
        item_months.month_start_on,
        slices.slice_type,
        slices.slice_value,
        sum(item_months.numerator_value) as numerator_value,
        sum(item_months.denominator_value) as denominator_value,
        sum(item_months.n) as n
    from item_months
    inner join slices
        on item_months.customer_id = slices.customer_id
    where item_months.is_customer_count = 0 or item_months.measure_kind = 'ratio'
    group by
        item_months.indicator_code,
        item_months.indicator_variant,
        item_months.unit,
        item_months.measure_kind,
        item_months.is_customer_count,
        item_months.month_start_on,
        slices.slice_type,
        slices.slice_value
),

slice_periods as (
    {%- for grain in ['month', 'quarter', 'year'] %}
        select
            indicator_code,
            indicator_variant,
            unit,
            measure_kind,
            is_customer_count,
            '{{ grain }}' as period_grain,
            {{ period_start(grain, 'month_start_on') }} as period_start_on,
            slice_type,
            slice_value,
            sum(numerator_value) as numerator_value,
            sum(denominator_value) as denominator_value,
            sum(n) as n
        from slice_months
        group by
            indicator_code,
            indicator_variant,
            unit,
            measure_kind,
            is_customer_count,
            {{ period_start(grain, 'month_start_on') }},
            slice_type,
            slice_value
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
),

customer_periods as (
    {%- for grain in ['month', 'quarter', 'year'] %}
        select
            indicator_code,
            indicator_variant,
            unit,
            measure_kind,
            customer_id,
            '{{ grain }}' as period_grain,
            {{ period_start(grain, 'month_start_on') }} as period_start_on,
            max(max_numerator_value) as max_numerator_value,
            sum(n) as n
        from item_months
        where is_customer_count = 1 and measure_kind in ('count', 'per_customer')
        group by
            indicator_code,
            indicator_variant,
            unit,
            measure_kind,
            customer_id,
            {{ period_start(grain, 'month_start_on') }}
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
),

-- n counts items as before the roll-up: back to bigint (a sum of counts is wider on some
-- engines).
ratio_rows as (
    select
        indicator_code,
        indicator_variant,
        period_grain,
        period_start_on,
        slice_type,
        slice_value,
        sum(numerator_value) as numerator,
        sum(denominator_value) as denominator,
        unit,
        cast(sum(n) as {{ dbt.type_bigint() }}) as n
    from slice_periods
    where measure_kind = 'ratio'
    group by
        indicator_code,
        indicator_variant,
        unit,
        period_grain,
        period_start_on,
        slice_type,
        slice_value
),

measured as (
    select
        indicator_code,
        indicator_variant,
        unit,
        measure_kind,
        period_grain,
        period_start_on,
        slice_type,
        slice_value,
        numerator_value as numerator,
        cast(n as {{ dbt.type_bigint() }}) as n
    from slice_periods
    where measure_kind in ('count', 'per_customer')
    union all
    select
        customer_periods.indicator_code,
        customer_periods.indicator_variant,
        customer_periods.unit,
        customer_periods.measure_kind,
        customer_periods.period_grain,
        customer_periods.period_start_on,
        slices.slice_type,
        slices.slice_value,
        max(customer_periods.max_numerator_value) * count(*) as numerator,
        cast(sum(customer_periods.n) as {{ dbt.type_bigint() }}) as n
    from customer_periods
    inner join slices
        on customer_periods.customer_id = slices.customer_id
    group by
        customer_periods.indicator_code,
        customer_periods.indicator_variant,
        customer_periods.unit,
        customer_periods.measure_kind,
        customer_periods.period_grain,
        customer_periods.period_start_on,
        slices.slice_type,
        slices.slice_value
),

measured_variants as (
    select distinct
        indicator_code,
        indicator_variant,
        unit,
        measure_kind
    from measured
),

-- Every variant seen anywhere, for every period and slice customers exist in, so a quiet
-- period reads 0 rather than missing.
measured_keys as (
    select
        measured_variants.indicator_code,
        measured_variants.indicator_variant,
        measured_variants.unit,
        measured_variants.measure_kind,
        retention.period_grain,
        retention.period_start_on,
        retention.slice_type,
        retention.slice_value
    from measured_variants
    cross join retention
    union
    select
        indicator_code,
        indicator_variant,
        unit,
        measure_kind,
        period_grain,
        period_start_on,
        slice_type,
        slice_value
    from measured
),

measured_rows as (
    select
        measured_keys.indicator_code,
        measured_keys.indicator_variant,
        measured_keys.period_grain,
        measured_keys.period_start_on,
        measured_keys.slice_type,
        measured_keys.slice_value,
        coalesce(measured.numerator, 0) as numerator,
        case
            when measured_keys.measure_kind = 'count' then 1
            else coalesce(retention.customers_active_in_period, 0)
        end as denominator,
        measured_keys.unit,
        case
            when measured_keys.measure_kind = 'count' then coalesce(measured.n, 0)
            else coalesce(retention.customers_active_in_period, 0)
        end as n
    from measured_keys
    left join measured
        on
            measured_keys.indicator_code = measured.indicator_code
            and measured_keys.indicator_variant = measured.indicator_variant
            and measured_keys.period_grain = measured.period_grain
            and measured_keys.period_start_on = measured.period_start_on
            and measured_keys.slice_type = measured.slice_type
            and measured_keys.slice_value = measured.slice_value
    left join retention
        on
            measured_keys.period_grain = retention.period_grain
            and measured_keys.period_start_on = retention.period_start_on
            and measured_keys.slice_type = retention.slice_type
            and measured_keys.slice_value = retention.slice_value
),

-- Period-end states from the customer-month spine: active at the end, last care touch,
-- enrolment.
touch_months as (
    select
        customer_id,
        {{ period_start('month', 'occurred_at') }} as month_start_on,
        max(cast(occurred_at as date)) as month_last_touched_on
    from interactions
    where {{ care_touches }}
    group by
        customer_id,
        {{ period_start('month', 'occurred_at') }}
),

enrolments as (
    select
        customer_id,
        min(occurred_on) as enrolled_on
    from ledger_entries
    where entry_type = 'enrol'
    group by customer_id
),

-- The last month of each period on a customer's spine (the current month for the current
-- period, or the last month of a customer whose spine ends earlier): for the month grain every
-- row, for the quarter and year grains the rows whose next month on the spine is in another
-- quarter or year (or that have none). One window over the spine, rather than the spine times
-- the grains ranked per period.
spine_touches as (
    select
        spine.customer_id,
        spine.month_start_on,
        spine.month_end_on,
        spine.is_active,
        max(touch_months.month_last_touched_on) over (
            partition by spine.customer_id order by spine.month_start_on
            rows between unbounded preceding and current row
        ) as last_touched_on,
        {{ neighbour_months('spine.month_start_on', 'spine.customer_id', sides=['next']) }}
    from spine
    left join touch_months
        on
            spine.customer_id = touch_months.customer_id
            and spine.month_start_on = touch_months.month_start_on
),

period_end_months as (
    select
        spine_touches.*,
        'month' as period_grain,
        spine_touches.month_start_on as period_start_on
    from spine_touches
    {%- for grain in ['quarter', 'year'] %}
        union all
        select
            spine_touches.*,
            '{{ grain }}' as period_grain,
            {{ period_start(grain, 'spine_touches.month_start_on') }} as period_start_on
        from spine_touches
        where
            {{ is_period_edge(
                grain, 'spine_touches.next_month_start_on', 'spine_touches.month_start_on'
            ) }}
    {%- endfor %}
),

period_ends as (
    select
        period_end_months.customer_id,
        period_end_months.period_grain,
        period_end_months.period_start_on,
        period_end_months.month_end_on as end_on,
        coalesce(period_end_months.last_touched_on, customers.acquired_on) as touch_on,
        case when period_end_months.is_active then 1 else 0 end as active_at_end_flag,
        case
            when
                period_end_months.is_active
                and enrolments.enrolled_on <= period_end_months.month_end_on
                then 1
            else 0
        end as active_enrolled_flag
    from period_end_months
    inner join customers
        on period_end_months.customer_id = customers.customer_id
    left join enrolments
        on period_end_months.customer_id = enrolments.customer_id
),

period_end_totals as (
    select
        period_ends.period_grain,
        period_ends.period_start_on,
        slices.slice_type,
        slices.slice_value,
        sum(period_ends.active_at_end_flag) as customers_at_end,
        sum(period_ends.active_enrolled_flag) as customers_enrolled,
        sum(
            period_ends.active_at_end_flag
            * {{ dbt.datediff('period_ends.touch_on', 'period_ends.end_on', 'day') }}
        ) as days_since_touch
    from period_ends
    inner join slices
        on period_ends.customer_id = slices.customer_id
    group by
        period_ends.period_grain,
        period_ends.period_start_on,
        slices.slice_type,
        slices.slice_value
),

period_end_rows as (
    select
        'C6' as indicator_code,
        'days_since_last_touch' as indicator_variant,
        period_grain,
        period_start_on,
        slice_type,
        slice_value,
        days_since_touch as numerator,
        customers_at_end as denominator,
        'days' as unit,
        customers_at_end as n
    from period_end_totals
    union all
    select
        'C7' as indicator_code,
        'enrolled' as indicator_variant,
        period_grain,
        period_start_on,
        slice_type,
        slice_value,
        customers_enrolled as numerator,
        customers_at_end as denominator,
        'rate' as unit,
        customers_at_end as n
    from period_end_totals
),

-- C8: the candidates of every event whose window has closed, with their cell and whether
-- they attended and bought in the window.
closed_events as (
    select distinct
        event_id,
        held_on
    from attendance
    where
        {{ dbt.dateadd('day', var('event_effect_window_days', 90), 'held_on') }}
        <= {{ as_of_date() }}
),

attendees as (
    select distinct
        event_id,
        customer_id
    from attendance
    where attended
),

candidates as (
    select
        closed_events.event_id,
        closed_events.held_on,
        spine.customer_id,
        customers.industry,
        customers.size_band,
        case when attendees.customer_id is not null then 1 else 0 end as attended_flag
    from closed_events
    inner join spine
        on
            {{ period_start('month', 'closed_events.held_on') }}
            = spine.month_start_on
    inner join customers
        on spine.customer_id = customers.customer_id
    left join attendees
        on
            closed_events.event_id = attendees.event_id
            and spine.customer_id = attendees.customer_id
    where
        (spine.is_active or spine.was_active_at_start)
        and customers.acquired_on <= closed_events.held_on
),

candidate_outcomes as (
    select
        candidates.event_id,
        candidates.held_on,
        candidates.customer_id,
        candidates.industry,
        candidates.size_band,
        candidates.attended_flag,
        max(case when orders.order_id is not null then 1 else 0 end) as bought_flag
    from candidates
    left join orders
        on
            candidates.customer_id = orders.customer_id
            and not orders.is_credit_note
            and candidates.held_on < orders.ordered_on
            and {{ dbt.dateadd(
                'day', var('event_effect_window_days', 90), 'candidates.held_on'
            ) }} >= orders.ordered_on
    group by
        candidates.event_id,
        candidates.held_on,
        candidates.customer_id,
        candidates.industry,
        candidates.size_band,
        candidates.attended_flag
),

comparison_cells as (
    select
        event_id,
        industry,
        size_band,
        sum(bought_flag) * 1.0 / count(*) as comparison_rate
    from candidate_outcomes
    where attended_flag = 0
    group by
        event_id,
        industry,
        size_band
),

matched_attendees as (
    select
        candidate_outcomes.customer_id,
        candidate_outcomes.bought_flag,
        comparison_cells.comparison_rate,
        grains.period_grain,
        {{ period_start_by_grain('grains.period_grain', 'candidate_outcomes.held_on') }}
            as period_start_on
    from candidate_outcomes
    inner join comparison_cells
        on
            candidate_outcomes.event_id = comparison_cells.event_id
            and candidate_outcomes.industry = comparison_cells.industry
            and candidate_outcomes.size_band = comparison_cells.size_band
    cross join grains
    where candidate_outcomes.attended_flag = 1
),

effect_totals as (
    select
        matched_attendees.period_grain,
        matched_attendees.period_start_on,
        slices.slice_type,
        slices.slice_value,
        count(*) as attendees,
        sum(matched_attendees.bought_flag) as attendee_buyers,
        cast(sum(matched_attendees.comparison_rate) as {{ type_double() }}) as expected_buyers
    from matched_attendees
    inner join slices
        on matched_attendees.customer_id = slices.customer_id
    group by
        matched_attendees.period_grain,
        matched_attendees.period_start_on,
        slices.slice_type,
        slices.slice_value
),

effect_rows as (
    select
        'C8' as indicator_code,
        'attendee_rate' as indicator_variant,
        period_grain,
        period_start_on,
        slice_type,
        slice_value,
        attendee_buyers as numerator,
        attendees as denominator,
        'rate' as unit,
        attendees as n
    from effect_totals
    union all
    select
        'C8' as indicator_code,
        'comparison_rate' as indicator_variant,
        period_grain,
        period_start_on,
        slice_type,
        slice_value,
        expected_buyers as numerator,
        attendees as denominator,
        'rate' as unit,
        attendees as n
    from effect_totals
    union all
    select
        'C8' as indicator_code,
        'lift' as indicator_variant,
        period_grain,
        period_start_on,
        slice_type,
        slice_value,
        attendee_buyers as numerator,
        expected_buyers as denominator,
        'ratio' as unit,
        attendees as n
    from effect_totals
),

final as (
    select * from measured_rows
    union all
    select * from ratio_rows
    union all
    select * from period_end_rows
    union all
    select * from effect_rows
)

select
    final.*,
    {{ is_complete_period('final.period_grain', 'final.period_start_on') }} as is_complete_period
from final
