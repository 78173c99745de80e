-- Cohort retention (METRICS B8), wide, for the report's retention curves: of the customers
-- acquired in a period (the cohort: month, quarter or year of acquisition), how many are
-- active at the end of the k-th period after it (k = 0: the acquisition period itself), by
-- slice. Status from the customer-month spine int_customer_months (is_active at the last
-- month of the observed period; as_of for the current period, flagged is_partial_period).
-- The quarterly cohorts are the ones the report draws: a year of B2B contracts gives four
-- points, months are noisy for small cohorts, and years leave too few cohorts.
-- Stored by period (macros/rewrite_window.sql), the observed period being the period
-- (period_grain = cohort_grain, period_start_on = observed_period_start_on, two columns the
-- mart leaves out): a daily run rewrites the observed periods from the run's window on and
-- keeps the others (a table on Spark). A row reads the spine up to its observed period's end
-- and each customer's first month: a late fact, a changed customer or a removed one changes
-- the spine from its date on, and a changed acquisition moves the customer from one cohort
-- to another in the observed periods from the earlier of the two acquisitions on (the
-- change's date). A customer whose account manager moved rewrites the rows of its managers'
-- slices only (by_slice). The whole spine is read for the acquisitions, the months of the
-- first year the window rewrites for the rest.
{{ stored_by_period(by_slice=true) }}
with spine as (
    select * from {{ ref('int_customer_months') }}
),

rewritten_spine as (
    select * from spine
    where
        {{ in_rewritten_customer_periods_on_incremental(
            grain_column="'year'", start_column='month_start_on'
        ) }}
),

customer_slices as (
    select * from {{ ref('int_customer_slices') }}
),

grains as (
    select
        'month' as period_grain,
        1 as months_per_period
    union all
    select
        'quarter' as period_grain,
        3 as months_per_period
    union all
    select
        'year' as period_grain,
        12 as months_per_period
),

acquisitions as (
    select
        customer_id,
        min(month_start_on) as acquired_month_on,
        max(month_start_on) as last_month_on
    from spine
    group by customer_id
),

spine_periods as (
    select
        rewritten_spine.customer_id,
        rewritten_spine.month_start_on,
        rewritten_spine.is_active,
        rewritten_spine.month_start_on = acquisitions.last_month_on as is_last_month,
        grains.period_grain,
        grains.months_per_period,
        {{ period_start_by_grain('grains.period_grain', 'rewritten_spine.month_start_on') }}
            as period_start_on,
        {{ period_start_by_grain('grains.period_grain', 'acquisitions.acquired_month_on') }}
            as cohort_start_on
    from rewritten_spine
    inner join acquisitions
        on rewritten_spine.customer_id = acquisitions.customer_id
    cross join grains
),

period_ends as (
    -- the customer's last month of each observed period: the period's last month, or the
    -- customer's last month on the spine (the as_of month) in the period that holds it; a
    -- filter, not a window sorting the spine three times over (the same rows)
    select *
    from spine_periods
    where
        is_last_month
        or cast({{ dbt.dateadd('month', 1, 'month_start_on') }} as date)
        = {{ next_period_start_by_grain('period_grain', 'period_start_on') }}
),

rewritten_period_ends as (
    {{ select_rewritten_customer_periods('period_ends') }}
),

customer_periods as (
    select
        customer_id,
        period_grain,
        cohort_start_on,
        period_start_on,
        cast(
            {{ dbt.datediff('cohort_start_on', 'period_start_on', 'month') }}
            / months_per_period as {{ dbt.type_int() }}
        ) as periods_since_acquisition,
        case when is_active then 1 else 0 end as active_at_end_flag
    from rewritten_period_ends
),

aggregated as (
    select
        customer_periods.period_grain,
        customer_periods.cohort_start_on,
        customer_periods.periods_since_acquisition,
        customer_periods.period_start_on,
        customer_slices.slice_type,
        customer_slices.slice_value,
        count(*) as cohort_size,
        sum(customer_periods.active_at_end_flag) as customers_active
    from customer_periods
    inner join customer_slices
        on customer_periods.customer_id = customer_slices.customer_id
    group by
        customer_periods.period_grain,
        customer_periods.cohort_start_on,
        customer_periods.periods_since_acquisition,
        customer_periods.period_start_on,
        customer_slices.slice_type,
        customer_slices.slice_value
),

final as (
    select
        cast(period_grain as {{ dbt.type_string() }}) as cohort_grain,
        cohort_start_on,
        cast(
            case period_grain
                when 'month'
                    then substring(cast(cohort_start_on as {{ dbt.type_string() }}), 1, 7)
                when 'quarter'
                    then {{ dbt.concat([
                        "substring(cast(cohort_start_on as " ~ dbt.type_string() ~ "), 1, 4)",
                        "'-Q'",
                        "cast(cast(extract(quarter from cohort_start_on) as "
                            ~ dbt.type_int() ~ ") as " ~ dbt.type_string() ~ ")",
                    ]) }}
                else substring(cast(cohort_start_on as {{ dbt.type_string() }}), 1, 4)
            end as {{ dbt.type_string() }}
        ) as cohort_label,
        cast(periods_since_acquisition as {{ dbt.type_int() }}) as periods_since_acquisition,
        period_start_on as observed_period_start_on,
        case period_grain
            when 'month'
                then {{ dbt.dateadd('month', 1, 'period_start_on') }}
            when 'quarter'
                then {{ dbt.dateadd('month', 3, 'period_start_on') }}
            else {{ dbt.dateadd('month', 12, 'period_start_on') }}
        end > {{ dbt.dateadd('day', 1, as_of_date()) }} as is_partial_period,
        {{ is_complete_period('period_grain', 'period_start_on') }}
            as is_complete_period,
        cast(slice_type as {{ dbt.type_string() }}) as slice_type,
        cast(slice_value as {{ dbt.type_string() }}) as slice_value,
        cast(cohort_size as {{ dbt.type_bigint() }}) as cohort_size,
        cast(customers_active as {{ dbt.type_bigint() }}) as customers_active,
        cast(customers_active * 1.0 / nullif(cohort_size, 0) as {{ type_double() }})
            as retention_rate,
        cast(period_grain as {{ dbt.type_string() }}) as period_grain,
        period_start_on
    from aggregated
),

rewritten as (
    {{ select_rewritten_rows('final') }}
)

select * from rewritten
