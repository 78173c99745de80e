-- Event effectiveness (METRICS C8), the rows int_engagement_indicators adds to its fan-out:
-- the buying rate in the window after an event, attendees versus non-attendees of the same
-- event, industry and size band (weighted to the attendees' mix), and the lift, per period
-- and slice of the event and the attendee. A model of its own so that no statement holds
-- these rows beside the fan-out's (docs/benchmarks.md, run J).
with attendance as (
    select * from {{ ref('fct_event_attendance') }}
),

orders as (
    select * from {{ ref('fct_orders') }}
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
)

select * from effect_rows
