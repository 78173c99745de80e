-- Value indicators in the tidy shape of loyalty_indicators (METRICS F2, F3, F9) per period
-- (month, quarter, year) and slice:
--   F2 average order value = net revenue of the period's orders / its invoices (credit notes
--      net the revenue but are not orders); also by product line;
--   F3 repeat purchase rate = customers with two or more invoices in the period / customers
--      with at least one;
--   F9 company only, from costs: 'cac' = acquisition spend / new customers,
--      'retention_cost' = retention spend / retained customers (E − N),
--      'cac_to_retention' = CAC / retention cost per retained customer, numerator and
--      denominator being the two per-customer costs.
-- Not items of indicator_fanout (macros/indicators.sql): F2 has a product-line slice and counts
-- distinct customers in n, F3 is a per-customer threshold, F9 is company costs over bridge
-- counts; customer-periods are rolled up to the slices with indicator_slice_rollup.
-- Stored by period (macros/rewrite_window.sql): a daily run rewrites the periods from the
-- run's window on and keeps the others (a table on Spark). Every figure of a period reads
-- orders, costs and the customer bridge of that period only, with the slices of its
-- customers, so the window's dates and customers are all that can change a closed period. A
-- customer whose account manager moved rewrites the rows of its managers' slices only
-- (by_slice): the orders of those slices' customers are read from the earliest such window.
{{ stored_by_period(by_slice=true) }}
with orders as (
    select * from {{ ref('fct_orders') }}
),

costs as (
    select * from {{ ref('stg_crm__costs') }}
    where month_on <= {{ as_of_date() }}
),

slice_customers as (
    {{ indicator_slice_customers() }}
),

retention as (
    select * from {{ ref('int_retention_bridges') }}
    where slice_type = 'company' and {{ in_rewritten_periods_on_incremental() }}
),

grains as (
    {{ period_grains() }}
),

order_periods as (
    select * from (
        select
            orders.*,
            grains.period_grain,
            {{ period_start_by_grain('grains.period_grain', 'orders.ordered_on') }}
                as period_start_on
        from orders
        cross join grains
    ) as dated
    where {{ in_rewritten_customer_periods_on_incremental() }}
),

-- The smallest grain first: one row per customer and period, then every customer slice in
-- one pass (macros/indicators.sql); product lines from the orders themselves.
customer_periods as (
    select
        customer_id,
        period_grain,
        period_start_on,
        sum(amount_cny) as amount_cny,
        sum(case when is_credit_note then 0 else 1 end) as invoices
    from order_periods
    group by
        customer_id,
        period_grain,
        period_start_on
),

customer_slice_totals as (
    {{ indicator_slice_rollup(
        'customer_periods',
        ['period_grain', 'period_start_on'],
        [
            'sum(amount_cny) as amount_cny',
            'sum(invoices) as invoices',
            'sum(case when invoices >= 2 then 1 else 0 end) as repeat_customers',
            'sum(case when invoices >= 1 then 1 else 0 end) as buying_customers',
            'count(*) as customers',
        ],
        customers='slice_customers',
    ) }}
),

product_line_totals as (
    select
        period_grain,
        period_start_on,
        'product_line' as slice_type,
        product_line as slice_value,
        sum(amount_cny) as amount_cny,
        sum(case when is_credit_note then 0 else 1 end) as invoices,
        count(distinct customer_id) as customers
    from order_periods
    group by
        period_grain,
        period_start_on,
        product_line
),

order_totals as (
    select
        period_grain,
        period_start_on,
        slice_type,
        slice_value,
        amount_cny,
        invoices,
        customers
    from customer_slice_totals
    union all
    select * from product_line_totals
),

average_order_value as (
    select
        'F2' as indicator_code,
        'standard' as indicator_variant,
        period_grain,
        period_start_on,
        slice_type,
        slice_value,
        amount_cny as numerator,
        invoices as denominator,
        'cny' as unit,
        customers as n
    from order_totals
),

repeat_rate as (
    select
        'F3' as indicator_code,
        'standard' as indicator_variant,
        period_grain,
        period_start_on,
        slice_type,
        slice_value,
        repeat_customers as numerator,
        buying_customers as denominator,
        'rate' as unit,
        buying_customers as n
    from customer_slice_totals
),

cost_periods as (
    select
        grains.period_grain,
        {{ period_start_by_grain('grains.period_grain', 'costs.month_on') }} as period_start_on,
        sum(case when costs.cost_type = 'acquisition' then costs.amount_cny else 0 end)
            as acquisition_cny,
        sum(case when costs.cost_type = 'retention' then costs.amount_cny else 0 end)
            as retention_cny
    from costs
    cross join grains
    where
        {{ in_rewritten_periods_on_incremental(
            grain_column='grains.period_grain',
            start_column=period_start_by_grain('grains.period_grain', 'costs.month_on'),
        ) }}
    group by
        grains.period_grain,
        {{ period_start_by_grain('grains.period_grain', 'costs.month_on') }}
),

cost_per_customer as (
    select
        cost_periods.period_grain,
        cost_periods.period_start_on,
        cost_periods.acquisition_cny,
        cost_periods.retention_cny,
        retention.customers_new,
        retention.customers_at_end - retention.customers_new as customers_retained,
        retention.customers_active_in_period
    from cost_periods
    inner join retention
        on
            cost_periods.period_grain = retention.period_grain
            and cost_periods.period_start_on = retention.period_start_on
),

acquisition_retention_costs as (
    select
        'F9' as indicator_code,
        'cac' as indicator_variant,
        period_grain,
        period_start_on,
        'company' as slice_type,
        'all' as slice_value,
        cast(acquisition_cny as {{ type_double() }}) as numerator,
        customers_new as denominator,
        'cny' as unit,
        customers_new as n
    from cost_per_customer
    union all
    select
        'F9' as indicator_code,
        'retention_cost' as indicator_variant,
        period_grain,
        period_start_on,
        'company' as slice_type,
        'all' as slice_value,
        cast(retention_cny as {{ type_double() }}) as numerator,
        customers_retained as denominator,
        'cny' as unit,
        customers_retained as n
    from cost_per_customer
    union all
    select
        'F9' as indicator_code,
        'cac_to_retention' as indicator_variant,
        period_grain,
        period_start_on,
        'company' as slice_type,
        'all' as slice_value,
        cast(acquisition_cny / nullif(customers_new, 0) as {{ type_double() }}) as numerator,
        cast(retention_cny / nullif(customers_retained, 0) as {{ type_double() }})
            as denominator,
        'ratio' as unit,
        customers_active_in_period as n
    from cost_per_customer
),

final as (
    select * from average_order_value
    union all
    select * from repeat_rate
    union all
    select * from acquisition_retention_costs
),

rewritten as (
    {{ select_rewritten_rows('final') }}
)

select
    rewritten.*,
    {{ is_complete_period('rewritten.period_grain', 'rewritten.period_start_on') }}
        as is_complete_period
from rewritten
