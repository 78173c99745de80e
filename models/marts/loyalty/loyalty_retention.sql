-- METRICS B1, B2, B4, B7 by period (month, quarter, year) and slice, published: the customer
-- bridge of int_retention_bridges (the rules are there), which the indicator families read too.
with bridges as (
    select * from {{ ref('int_retention_bridges') }}
),

final as (
    select
        period_grain,
        period_start_on,
        slice_type,
        slice_value,
        is_complete_period,
        customers_at_start,
        customers_at_end,
        customers_retained,
        customers_new,
        customers_lost,
        customers_active_in_period,
        customers_lapsed_at_start,
        customers_won_back,
        won_back_revenue_cny,
        customers_acquired,
        customers_returned_in_period,
        retention_rate,
        retention_rate_seed_002,
        churn_rate,
        new_to_existing_ratio,
        win_back_rate
    from bridges
)

select * from final
