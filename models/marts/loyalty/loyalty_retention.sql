-- METRICS B1, B2, B4, B7 by period (month, quarter, year) and slice (company, industry,
-- region, size band, account manager), from the customer-month spine.
with spine as (
    select * from {{ ref('int_customer_months') }}
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
        case when is_new then 1 else 0 end as new_flag,
        case when is_won_back then 1 else 0 end as won_back_flag,
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
        new_flag,
        won_back_flag,
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
            max(new_flag) as new_flag,
            max(won_back_flag) as won_back_flag,
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

aggregated as (
    select
        customer_periods.period_grain,
        customer_periods.period_start_on,
        customer_slices.slice_type,
        customer_slices.slice_value,
        sum(customer_periods.active_at_start_flag) as customers_at_start,
        sum(customer_periods.active_at_end_flag) as customers_at_end,
        sum(customer_periods.new_flag) as customers_new,
        sum(
            case
                when
                    customer_periods.active_at_start_flag = 1
                    and customer_periods.active_at_end_flag = 0
                    then 1
                else 0
            end
        ) as customers_lost,
        sum(customer_periods.active_any_flag) as customers_active_in_period,
        sum(customer_periods.lapsed_at_start_flag) as customers_lapsed_at_start,
        sum(customer_periods.won_back_flag) as customers_won_back,
        sum(
            case when customer_periods.won_back_flag = 1 then customer_periods.revenue_cny end
        ) as won_back_revenue_cny
    from customer_periods
    inner join customer_slices
        on customer_periods.customer_id = customer_slices.customer_id
    group by
        customer_periods.period_grain,
        customer_periods.period_start_on,
        customer_slices.slice_type,
        customer_slices.slice_value
),

final as (
    select
        period_grain,
        period_start_on,
        slice_type,
        slice_value,
        cast(customers_at_start as {{ dbt.type_bigint() }}) as customers_at_start,
        cast(customers_at_end as {{ dbt.type_bigint() }}) as customers_at_end,
        cast(customers_new as {{ dbt.type_bigint() }}) as customers_new,
        cast(customers_lost as {{ dbt.type_bigint() }}) as customers_lost,
        cast(customers_active_in_period as {{ dbt.type_bigint() }}) as customers_active_in_period,
        cast(customers_lapsed_at_start as {{ dbt.type_bigint() }}) as customers_lapsed_at_start,
        cast(customers_won_back as {{ dbt.type_bigint() }}) as customers_won_back,
        cast(coalesce(won_back_revenue_cny, 0) as {{ type_double() }})
            as won_back_revenue_cny,
        cast(
            (customers_at_end - customers_new) * 1.0 / nullif(customers_at_start, 0)
            as {{ type_double() }}
        ) as retention_rate,
        cast(
            (customers_at_end - customers_new) * 1.0 / nullif(customers_at_end, 0)
            as {{ type_double() }}
        ) as retention_rate_seed_002,
        cast(
            customers_lost * 1.0 / nullif(customers_at_start, 0) as {{ type_double() }}
        ) as churn_rate,
        cast(
            customers_new * 1.0 / nullif(customers_active_in_period - customers_new, 0)
            as {{ type_double() }}
        ) as new_to_existing_ratio,
        cast(
            customers_won_back * 1.0 / nullif(customers_lapsed_at_start, 0) as {{ type_double() }}
        ) as win_back_rate
    from aggregated
)

select * from final
