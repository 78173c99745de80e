-- Engagement indicators at the period end (METRICS C6, C7), the rows int_engagement_indicators
-- adds to its fan-out: over the customers active at the end of each period (the last month's
-- end, as_of for the current month; int_customer_months), C6 mean days since the last care
-- touch and C7 the share enrolled in the loyalty programme, per period and slice. A model of
-- its own so that no statement holds these rows beside the fan-out's (docs/benchmarks.md,
-- run J: together they did not fit dbt's DuckDB memory at 1,000,000 customers).
{%- set care_touches = is_care_touch() %}
with interactions as (
    select * from {{ ref('fct_interactions') }}
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

ledger_entries as (
    select *
    from loyalty_ledger
    where occurred_on <= {{ as_of_date() }}
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

period_end_rows as (
    {{ indicator_rows([
        {'code': 'C6', 'variant': 'days_since_last_touch', 'numerator': 'days_since_touch',
         'denominator': 'customers_at_end', 'unit': 'days', 'n': 'customers_at_end'},
        {'code': 'C7', 'variant': 'enrolled', 'numerator': 'customers_enrolled',
         'denominator': 'customers_at_end', 'unit': 'rate', 'n': 'customers_at_end'},
    ], defaults={'from': 'period_end_totals'}) }}
)

select * from period_end_rows
