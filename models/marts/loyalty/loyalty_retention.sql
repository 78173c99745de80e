-- METRICS B1, B2, B4, B7 by period (month, quarter, year) and slice (company, industry,
-- region, size band, account manager), from the customer-month spine.
with spine as (
    select * from {{ ref('int_customer_months') }}
),

customer_slices as (
    select * from {{ ref('int_customer_slices') }}
),

grains as (
    select 'month' as period_grain
    union all
    select 'quarter' as period_grain
    union all
    select 'year' as period_grain
),

spine_periods as (
    select
        spine.*,
        grains.period_grain,
        case grains.period_grain
            when 'month' then spine.month_start_on
            when 'quarter'
                then cast({{ dbt.date_trunc('quarter', 'spine.month_start_on') }} as date)
            else cast({{ dbt.date_trunc('year', 'spine.month_start_on') }} as date)
        end as period_start_on
    from spine
    cross join grains
),

bounds as (
    select
        customer_id,
        period_grain,
        period_start_on,
        min(month_start_on) as first_month_on,
        max(month_start_on) as last_month_on,
        max(case when is_new then 1 else 0 end) as new_flag,
        max(case when is_won_back then 1 else 0 end) as won_back_flag,
        max(case when is_active or was_active_at_start then 1 else 0 end) as active_any_flag,
        sum(revenue_cny) as revenue_cny
    from spine_periods
    group by
        customer_id,
        period_grain,
        period_start_on
),

customer_periods as (
    select
        bounds.customer_id,
        bounds.period_grain,
        bounds.period_start_on,
        bounds.new_flag,
        bounds.won_back_flag,
        bounds.active_any_flag,
        bounds.revenue_cny,
        case when first_month.was_active_at_start then 1 else 0 end as active_at_start_flag,
        case
            when not first_month.was_active_at_start and first_month.has_churned_before then 1
            else 0
        end as lapsed_at_start_flag,
        case when last_month.is_active then 1 else 0 end as active_at_end_flag
    from bounds
    inner join spine as first_month
        on
            bounds.customer_id = first_month.customer_id
            and bounds.first_month_on = first_month.month_start_on
    inner join spine as last_month
        on
            bounds.customer_id = last_month.customer_id
            and bounds.last_month_on = last_month.month_start_on
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
