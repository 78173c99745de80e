-- Revenue retention for due diligence: gross and net revenue retention (GRR, NRR) and the
-- revenue bridge per period and slice, rules in docs/retention.md and the YAML.
--   revenue   : invoiced revenue in CNY, credit notes excluded (as int_customer_months
--               and customer_facts), of each customer in the period (end) and in the period
--               of the same grain before it (start); the trailing year ('trailing_year'):
--               the 365 days to each month end (as_of for the as_of month) against the 365
--               days before (macros/windows.sql), read from int_customer_lifecycle_months;
--   bridge    : each customer in one box, so that start + new + expansion − contraction −
--               churned + won back = end exactly:
--                 revenue in both periods: expansion (end − start) or contraction
--                 (start − end); revenue only in the earlier period: churned (all of it);
--                 revenue only in the later one: new if the customer's first invoice is in
--                 it, else won back (invoiced before, nothing in the earlier period);
--   ratios    : GRR = (start − contraction − churned) / start, in [0, 1]; NRR = (start +
--               expansion − contraction − churned) / start; new and won-back revenue stay
--               outside both;
--   slices    : those of int_customer_slices and the acquisition cohort
--               ('acquisition_year': the year of acquired_on).
-- Stored by period (macros/rewrite_window.sql): a daily run rewrites the periods from the
-- run's window on and keeps the others (a table on Spark). A month, quarter or year reads
-- the invoices of itself and of the period before it, and each customer's first invoice (a
-- late invoice before it is dated on or before every period it reclassifies); a trailing
-- year is rewritten with its month end (rewrite_period_start: the trailing years ending in
-- the window's first month or later). A customer whose account manager moved rewrites the
-- rows of its managers' slices only (by_slice).
{{ stored_by_period(by_slice=true) }}
with orders as (
    select * from {{ ref('fct_orders') }}
),

customers as (
    select * from {{ ref('dim_customers') }}
),

customer_slices as (
    select * from {{ ref('int_customer_slices') }}
),

lifecycle as (
    -- the month ends of the trailing years the run rewrites
    select * from {{ ref('int_customer_lifecycle_months') }}
    where
        {{ in_rewritten_customer_periods_on_incremental(
            grain_column="'month'", start_column='month_start_on'
        ) }}
),

grains as (
    select 'month' as period_grain
    union all
    select 'quarter' as period_grain
    union all
    select 'year' as period_grain
),

invoices as (
    select
        customer_id,
        ordered_on,
        amount_cny
    from orders
    where not is_credit_note and ordered_on <= {{ as_of_date() }}
),

first_invoices as (
    select
        customer_id,
        min(ordered_on) as first_invoiced_on
    from invoices
    where amount_cny > 0
    group by customer_id
),

rewritten_invoices as (
    -- the invoices of the years the run rewrites and of the year before them
    select * from invoices
    where
        {{ in_rewritten_customer_periods_on_incremental(
            grain_column="'year'", start_column=dbt.dateadd('year', 1, 'ordered_on')
        ) }}
),

period_revenues as (
    select
        rewritten_invoices.customer_id,
        grains.period_grain,
        {{ period_start_by_grain('grains.period_grain', 'rewritten_invoices.ordered_on') }}
            as period_start_on,
        sum(rewritten_invoices.amount_cny) as revenue_cny
    from rewritten_invoices
    cross join grains
    group by
        rewritten_invoices.customer_id,
        grains.period_grain,
        {{ period_start_by_grain('grains.period_grain', 'rewritten_invoices.ordered_on') }}
),

customer_periods as (
    -- A period's revenue is the end of its own row and the start of the next period's row;
    -- the as_of period has no next one.
    select
        customer_id,
        period_grain,
        period_start_on,
        0 as start_revenue_cny,
        revenue_cny as end_revenue_cny
    from period_revenues
    union all
    select
        customer_id,
        period_grain,
        {{ next_period_start_by_grain('period_grain', 'period_start_on') }} as period_start_on,
        revenue_cny as start_revenue_cny,
        0 as end_revenue_cny
    from period_revenues
    where
        period_start_on < {{ period_start_by_grain('period_grain', as_of_date()) }}
    union all
    select
        customer_id,
        'trailing_year' as period_grain,
        {{ trailing_year_start('month_end_on') }} as period_start_on,
        revenue_prior_12m_cny as start_revenue_cny,
        revenue_trailing_12m_cny as end_revenue_cny
    from lifecycle
    where revenue_prior_12m_cny > 0 or revenue_trailing_12m_cny > 0
),

rewritten_customer_periods as (
    {{ select_rewritten_customer_periods('customer_periods') }}
),

customer_bridges as (
    select
        rewritten_customer_periods.customer_id,
        rewritten_customer_periods.period_grain,
        rewritten_customer_periods.period_start_on,
        sum(rewritten_customer_periods.start_revenue_cny) as start_revenue_cny,
        sum(rewritten_customer_periods.end_revenue_cny) as end_revenue_cny,
        max(first_invoices.first_invoiced_on) as first_invoiced_on
    from rewritten_customer_periods
    left join first_invoices
        on rewritten_customer_periods.customer_id = first_invoices.customer_id
    group by
        rewritten_customer_periods.customer_id,
        rewritten_customer_periods.period_grain,
        rewritten_customer_periods.period_start_on
),

classified as (
    select
        customer_id,
        period_grain,
        period_start_on,
        start_revenue_cny,
        end_revenue_cny,
        case
            when start_revenue_cny > 0 and end_revenue_cny > start_revenue_cny
                then end_revenue_cny - start_revenue_cny
            else 0
        end as expansion_revenue_cny,
        case
            when start_revenue_cny > end_revenue_cny and end_revenue_cny > 0
                then start_revenue_cny - end_revenue_cny
            else 0
        end as contraction_revenue_cny,
        case
            when start_revenue_cny > 0 and end_revenue_cny <= 0 then start_revenue_cny
            else 0
        end as churned_revenue_cny,
        case
            when
                start_revenue_cny <= 0
                and (first_invoiced_on is null or first_invoiced_on >= period_start_on)
                then end_revenue_cny
            else 0
        end as new_revenue_cny,
        case
            when start_revenue_cny <= 0 and first_invoiced_on < period_start_on
                then end_revenue_cny
            else 0
        end as won_back_revenue_cny,
        case when start_revenue_cny > 0 then 1 else 0 end as start_flag,
        case when end_revenue_cny > 0 then 1 else 0 end as end_flag,
        case when start_revenue_cny > 0 and end_revenue_cny <= 0 then 1 else 0 end
            as churned_flag,
        case
            when
                start_revenue_cny <= 0
                and end_revenue_cny > 0
                and (first_invoiced_on is null or first_invoiced_on >= period_start_on)
                then 1
            else 0
        end as new_flag,
        case
            when
                start_revenue_cny <= 0
                and end_revenue_cny > 0
                and first_invoiced_on < period_start_on
                then 1
            else 0
        end as won_back_flag
    from customer_bridges
),

slices as (
    select
        customer_id,
        slice_type,
        slice_value
    from customer_slices
    union all
    select
        customer_id,
        'acquisition_year' as slice_type,
        substring(cast(acquired_on as {{ dbt.type_string() }}), 1, 4) as slice_value
    from customers
),

aggregated as (
    select
        classified.period_grain,
        classified.period_start_on,
        slices.slice_type,
        slices.slice_value,
        sum(classified.start_revenue_cny) as start_revenue_cny,
        sum(classified.new_revenue_cny) as new_revenue_cny,
        sum(classified.expansion_revenue_cny) as expansion_revenue_cny,
        sum(classified.contraction_revenue_cny) as contraction_revenue_cny,
        sum(classified.churned_revenue_cny) as churned_revenue_cny,
        sum(classified.won_back_revenue_cny) as won_back_revenue_cny,
        sum(classified.end_revenue_cny) as end_revenue_cny,
        sum(classified.start_flag) as customers_at_start,
        sum(classified.end_flag) as customers_at_end,
        sum(classified.new_flag) as customers_new,
        sum(classified.churned_flag) as customers_churned,
        sum(classified.won_back_flag) as customers_won_back
    from classified
    inner join slices
        on classified.customer_id = slices.customer_id
    group by
        classified.period_grain,
        classified.period_start_on,
        slices.slice_type,
        slices.slice_value
),

final as (
    select
        cast(period_grain as {{ dbt.type_string() }}) as period_grain,
        period_start_on,
        case
            when period_grain = 'trailing_year'
                then cast({{ dbt.dateadd(
                    'day', trailing_year_days() - 1, 'period_start_on'
                ) }} as date)
            else cast({{ dbt.dateadd(
                'day', -1, next_period_start_by_grain('period_grain', 'period_start_on')
            ) }} as date)
        end as period_end_on,
        case
            when period_grain = 'trailing_year' then true
            else {{ is_complete_period('period_grain', 'period_start_on') }}
        end as is_complete_period,
        cast(slice_type as {{ dbt.type_string() }}) as slice_type,
        cast(slice_value as {{ dbt.type_string() }}) as slice_value,
        cast(start_revenue_cny as {{ dbt.type_numeric() }}) as start_revenue_cny,
        cast(new_revenue_cny as {{ dbt.type_numeric() }}) as new_revenue_cny,
        cast(expansion_revenue_cny as {{ dbt.type_numeric() }}) as expansion_revenue_cny,
        cast(contraction_revenue_cny as {{ dbt.type_numeric() }}) as contraction_revenue_cny,
        cast(churned_revenue_cny as {{ dbt.type_numeric() }}) as churned_revenue_cny,
        cast(won_back_revenue_cny as {{ dbt.type_numeric() }}) as won_back_revenue_cny,
        cast(end_revenue_cny as {{ dbt.type_numeric() }}) as end_revenue_cny,
        cast(customers_at_start as {{ dbt.type_bigint() }}) as customers_at_start,
        cast(customers_at_end as {{ dbt.type_bigint() }}) as customers_at_end,
        cast(customers_new as {{ dbt.type_bigint() }}) as customers_new,
        cast(customers_churned as {{ dbt.type_bigint() }}) as customers_churned,
        cast(customers_won_back as {{ dbt.type_bigint() }}) as customers_won_back,
        -- amounts cast to double before the division, so every engine divides in binary
        -- floating point (Spark's decimal division keeps 6 decimals)
        cast(
            start_revenue_cny - contraction_revenue_cny - churned_revenue_cny
            as {{ type_double() }}
        )
        / nullif(cast(start_revenue_cny as {{ type_double() }}), 0)
            as gross_revenue_retention_rate,
        cast(
            start_revenue_cny + expansion_revenue_cny - contraction_revenue_cny
            - churned_revenue_cny as {{ type_double() }}
        )
        / nullif(cast(start_revenue_cny as {{ type_double() }}), 0)
            as net_revenue_retention_rate
    from aggregated
),

rewritten as (
    {{ select_rewritten_rows('final') }}
)

select * from rewritten
