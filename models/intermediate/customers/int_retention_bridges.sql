-- METRICS B1, B2, B4, B7 by period (month, quarter, year) and slice (company, industry,
-- region, size band, account manager), from the customer-month spine.
-- The customer bridge: every customer falls in one box by its status at the period's start
-- (S) and end (E) and whether it had churned before the start (lapsed), so that
--   customers_at_start − customers_lost + customers_new + customers_won_back
--   = customers_at_end
-- holds exactly for every period, grain and slice:
--   retained  = active at the start and at the end (a customer lost and won back inside the
--               period counts here, not as lost nor as won back);
--   lost      = active at the start, not at the end;
--   new       = not active at the start, active at the end, never active before the period
--               (acquired in it, or acquired earlier and first bought in it);
--   won back  = not active at the start, active at the end, lapsed at the start (churned
--               before the period).
-- Won-back customers are an inflow like new ones: neither is retained, so B1 = retained / S
-- = (E − N − W) / S, and every rate lies in [0, 1]. Events inside the period that no box
-- shows are named beside the bridge: customers_acquired (acquired in the period, active at
-- its end or not) and customers_returned_in_period (won back in a month of the period but
-- not a bridge win-back: active again by the end after a loss inside the period, or won
-- back and lost again).
-- Stored by period (macros/rewrite_window.sql): a daily run rewrites the periods from the
-- run's window on and keeps the others (a table on Spark). A period reads the spine up to
-- its end, from the first year the window rewrites (a year's first month is an edge of its
-- quarter and year whether or not the month before is read). A customer whose account
-- manager moved rewrites the rows of its managers' slices only (by_slice).
{{ stored_by_period(by_slice=true) }}
with spine as (
    select * from {{ ref('int_customer_months') }}
    where
        {{ in_rewritten_customer_periods_on_incremental(
            grain_column="'year'", start_column='month_start_on'
        ) }}
),

customer_slices as (
    select * from {{ ref('int_customer_slices') }}
),

-- The periods of each customer: the month grain is the spine itself, quarters and years are
-- grouped from it; the first and last month of a period (status at its start and end) come
-- from one window over the spine, rather than the spine times the grains grouped and joined
-- back to the spine twice.
spine_months as (
    select
        customer_id,
        month_start_on,
        revenue_cny,
        case when is_new then 1 else 0 end as acquired_flag,
        case when is_won_back then 1 else 0 end as won_back_month_flag,
        case when is_active or was_active_at_start then 1 else 0 end as active_any_flag,
        case when was_active_at_start then 1 else 0 end as active_at_start_flag,
        case
            when not was_active_at_start and has_churned_before then 1
            else 0
        end as lapsed_at_start_flag,
        case when is_active then 1 else 0 end as active_at_end_flag,
        {{ neighbour_months() }}
    from spine
),

customer_periods as (
    select
        customer_id,
        'month' as period_grain,
        month_start_on as period_start_on,
        acquired_flag,
        won_back_month_flag,
        active_any_flag,
        revenue_cny,
        active_at_start_flag,
        lapsed_at_start_flag,
        active_at_end_flag
    from spine_months
    {%- for grain in ['quarter', 'year'] %}
        {%- set period_start_on = period_start(grain, 'month_start_on') %}
        {%- set is_first = is_period_edge(grain, 'previous_month_start_on') %}
        union all
        select
            customer_id,
            '{{ grain }}' as period_grain,
            {{ period_start_on }} as period_start_on,
            max(acquired_flag) as acquired_flag,
            max(won_back_month_flag) as won_back_month_flag,
            max(active_any_flag) as active_any_flag,
            sum(revenue_cny) as revenue_cny,
            max(case when {{ is_first }} then active_at_start_flag end) as active_at_start_flag,
            max(case when {{ is_first }} then lapsed_at_start_flag end) as lapsed_at_start_flag,
            max(
                case
                    when {{ is_period_edge(grain, 'next_month_start_on') }}
                        then active_at_end_flag
                end
            ) as active_at_end_flag
        from spine_months
        group by
            customer_id,
            {{ period_start_on }}
    {%- endfor %}
),

rewritten_customer_periods as (
    {{ select_rewritten_customer_periods('customer_periods') }}
),

bridged as (
    -- Each customer-period in one box of the bridge (see the header).
    select
        *,
        case
            when active_at_start_flag = 1 and active_at_end_flag = 1 then 1 else 0
        end as retained_flag,
        case
            when active_at_start_flag = 1 and active_at_end_flag = 0 then 1 else 0
        end as lost_flag,
        case
            when
                active_at_start_flag = 0 and active_at_end_flag = 1 and lapsed_at_start_flag = 0
                then 1
            else 0
        end as new_flag,
        case
            when
                active_at_start_flag = 0 and active_at_end_flag = 1 and lapsed_at_start_flag = 1
                then 1
            else 0
        end as won_back_flag
    from rewritten_customer_periods
),

aggregated as (
    select
        bridged.period_grain,
        bridged.period_start_on,
        customer_slices.slice_type,
        customer_slices.slice_value,
        sum(bridged.active_at_start_flag) as customers_at_start,
        sum(bridged.active_at_end_flag) as customers_at_end,
        sum(bridged.retained_flag) as customers_retained,
        sum(bridged.new_flag) as customers_new,
        sum(bridged.lost_flag) as customers_lost,
        sum(bridged.active_any_flag) as customers_active_in_period,
        sum(bridged.lapsed_at_start_flag) as customers_lapsed_at_start,
        sum(bridged.won_back_flag) as customers_won_back,
        sum(
            case when bridged.won_back_flag = 1 then bridged.revenue_cny end
        ) as won_back_revenue_cny,
        sum(bridged.acquired_flag) as customers_acquired,
        sum(
            case
                when bridged.won_back_month_flag = 1 and bridged.won_back_flag = 0 then 1 else 0
            end
        ) as customers_returned_in_period
    from bridged
    inner join customer_slices
        on bridged.customer_id = customer_slices.customer_id
    group by
        bridged.period_grain,
        bridged.period_start_on,
        customer_slices.slice_type,
        customer_slices.slice_value
),

final as (
    select
        period_grain,
        period_start_on,
        slice_type,
        slice_value,
        {{ is_complete_period('period_grain', 'period_start_on') }} as is_complete_period,
        cast(customers_at_start as {{ dbt.type_bigint() }}) as customers_at_start,
        cast(customers_at_end as {{ dbt.type_bigint() }}) as customers_at_end,
        cast(customers_retained as {{ dbt.type_bigint() }}) as customers_retained,
        cast(customers_new as {{ dbt.type_bigint() }}) as customers_new,
        cast(customers_lost as {{ dbt.type_bigint() }}) as customers_lost,
        cast(customers_active_in_period as {{ dbt.type_bigint() }}) as customers_active_in_period,
        cast(customers_lapsed_at_start as {{ dbt.type_bigint() }}) as customers_lapsed_at_start,
        cast(customers_won_back as {{ dbt.type_bigint() }}) as customers_won_back,
        cast(coalesce(won_back_revenue_cny, 0) as {{ type_double() }})
            as won_back_revenue_cny,
        cast(customers_acquired as {{ dbt.type_bigint() }}) as customers_acquired,
        cast(customers_returned_in_period as {{ dbt.type_bigint() }})
            as customers_returned_in_period,
        -- counts cast to double before the division, so every engine divides in binary
        -- floating point (Spark's decimal division rounds 2/3 to another last digit)
        cast(customers_retained as {{ type_double() }})
        / nullif(customers_at_start, 0) as retention_rate,
        cast(customers_retained as {{ type_double() }})
        / nullif(customers_at_end, 0) as retention_rate_seed_002,
        cast(customers_lost as {{ type_double() }})
        / nullif(customers_at_start, 0) as churn_rate,
        cast(customers_new as {{ type_double() }})
        / nullif(customers_active_in_period - customers_new, 0) as new_to_existing_ratio,
        cast(customers_won_back as {{ type_double() }})
        / nullif(customers_lapsed_at_start, 0) as win_back_rate
    from aggregated
),

rewritten as (
    {{ select_rewritten_rows('final') }}
)

select * from rewritten
