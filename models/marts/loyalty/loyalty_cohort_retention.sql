-- Cohort retention (METRICS B8), wide, for the report's retention curves, published: the
-- curves of int_cohort_retention_curves (the rules are there), which the renewal and churn
-- indicators read too.
with curves as (
    select * from {{ ref('int_cohort_retention_curves') }}
),

final as (
    select
        cohort_grain,
        cohort_start_on,
        cohort_label,
        periods_since_acquisition,
        observed_period_start_on,
        is_partial_period,
        is_complete_period,
        slice_type,
        slice_value,
        cohort_size,
        customers_active,
        retention_rate
    from curves
)

select * from final
