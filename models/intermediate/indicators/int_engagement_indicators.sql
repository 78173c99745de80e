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

slice_customers as (
    {{ indicator_slice_customers() }}
),

grains as (
    {{ period_grains() }}
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

-- The PRS exemption: sqlfluff's duckdb dialect does not parse GROUPING SETS; DuckDB does.
{{ indicator_fanout('items', customer_counts=true) }},  -- noqa: PRS

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

-- noqa: disable=PRS
period_end_totals as (
    {{ indicator_slice_rollup(
        'period_ends',
        ['period_grain', 'period_start_on'],
        [
            'sum(active_at_end_flag) as customers_at_end',
            'sum(active_enrolled_flag) as customers_enrolled',
            'sum(active_at_end_flag * '
            ~ dbt.datediff('touch_on', 'end_on', 'day')
            ~ ') as days_since_touch',
        ],
        customers='slice_customers',
    ) }}
),
-- noqa: enable=PRS

period_end_rows as (
    {{ indicator_rows([
        {'code': 'C6', 'variant': 'days_since_last_touch', 'numerator': 'days_since_touch',
         'denominator': 'customers_at_end', 'unit': 'days', 'n': 'customers_at_end'},
        {'code': 'C7', 'variant': 'enrolled', 'numerator': 'customers_enrolled',
         'denominator': 'customers_at_end', 'unit': 'rate', 'n': 'customers_at_end'},
    ], defaults={'from': 'period_end_totals'}) }}
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

-- Each customer's invoices with the date of its invoice before (null for the first).
invoice_dates as (
    select
        customer_id,
        ordered_on,
        lag(ordered_on) over (
            partition by customer_id
            order by ordered_on
        ) as previous_ordered_on
    from orders
    where not is_credit_note
),

-- The customers who bought in the window after each event date, one row per date and
-- customer: the customer's first invoice after the date (its invoice before is on or before
-- the date) falls in the window. Found from the invoices, rather than every candidate
-- joined to all its orders and grouped back (about two billion joined rows and a hundred
-- million groups at 1,000,000 customers, more than dbt's DuckDB memory limit).
event_buyers as (
    select
        event_dates.held_on,
        invoice_dates.customer_id
    from (select distinct held_on from closed_events) as event_dates
    inner join invoice_dates
        on
            event_dates.held_on < invoice_dates.ordered_on
            and {{ dbt.dateadd(
                'day', var('event_effect_window_days', 90), 'event_dates.held_on'
            ) }} >= invoice_dates.ordered_on
            and (
                invoice_dates.previous_ordered_on is null
                or event_dates.held_on >= invoice_dates.previous_ordered_on
            )
),

candidate_outcomes as (
    select
        closed_events.event_id,
        closed_events.held_on,
        spine.customer_id,
        customers.industry,
        customers.size_band,
        case when attendees.customer_id is not null then 1 else 0 end as attended_flag,
        case when event_buyers.customer_id is not null then 1 else 0 end as bought_flag
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
    left join event_buyers
        on
            closed_events.held_on = event_buyers.held_on
            and spine.customer_id = event_buyers.customer_id
    where
        (spine.is_active or spine.was_active_at_start)
        and customers.acquired_on <= closed_events.held_on
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

-- The expected buyers are summed exactly (decimal), so the float total does not depend on
-- the order the rows arrive in (a double sum differed in its last digits between builds).
-- noqa: disable=PRS
effect_totals as (
    {{ indicator_slice_rollup(
        'matched_attendees',
        ['period_grain', 'period_start_on'],
        [
            'count(*) as attendees',
            'sum(bought_flag) as attendee_buyers',
            'cast(sum(cast(comparison_rate as decimal(38, 20))) as ' ~ type_double()
            ~ ') as expected_buyers',
        ],
        customers='slice_customers',
    ) }}
),
-- noqa: enable=PRS

effect_rows as (
    {%- set per_attendee = {'code': 'C8', 'n': 'attendees', 'from': 'effect_totals'} %}
    {{ indicator_rows([
        dict(per_attendee, variant='attendee_rate', numerator='attendee_buyers',
             denominator='attendees', unit='rate'),
        dict(per_attendee, variant='comparison_rate', numerator='expected_buyers',
             denominator='attendees', unit='rate'),
        dict(per_attendee, variant='lift', numerator='attendee_buyers',
             denominator='expected_buyers', unit='ratio'),
    ]) }}
),

final as (
    select * from fanned_out
    union all
    select * from period_end_rows
    union all
    select * from effect_rows
)

select
    final.*,
    {{ is_complete_period('final.period_grain', 'final.period_start_on') }} as is_complete_period
from final
