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
with orders as (
    select * from {{ ref('fct_orders') }}
),

costs as (
    select * from {{ ref('stg_crm__costs') }}
    where month_on <= {{ as_of_date() }}
),

slices as (
    select * from {{ ref('int_customer_slices') }}
),

retention as (
    select * from {{ ref('int_retention_bridges') }}
    where slice_type = 'company'
),

grains as (
    select 'month' as period_grain
    union all
    select 'quarter' as period_grain
    union all
    select 'year' as period_grain
),

order_periods as (
    select
        orders.*,
        grains.period_grain,
        {{ period_start_by_grain('grains.period_grain', 'orders.ordered_on') }} as period_start_on
    from orders
    cross join grains
),

sliced_orders as (
    select
        order_periods.*,
        slices.slice_type,
        slices.slice_value
    from order_periods
    inner join slices
        on order_periods.customer_id = slices.customer_id
    union all
    select
        order_periods.*,
        'product_line' as slice_type,
        order_periods.product_line as slice_value
    from order_periods
),

average_order_value as (
    select
        'F2' as indicator_code,
        'standard' as indicator_variant,
        period_grain,
        period_start_on,
        slice_type,
        slice_value,
        sum(amount_cny) as numerator,
        sum(case when is_credit_note then 0 else 1 end) as denominator,
        'cny' as unit,
        count(distinct customer_id) as n
    from sliced_orders
    group by period_grain, period_start_on, slice_type, slice_value
),

customer_invoices as (
    select
        customer_id,
        period_grain,
        period_start_on,
        slice_type,
        slice_value,
        sum(case when is_credit_note then 0 else 1 end) as invoices
    from sliced_orders
    where slice_type != 'product_line'
    group by customer_id, period_grain, period_start_on, slice_type, slice_value
),

repeat_rate as (
    select
        'F3' as indicator_code,
        'standard' as indicator_variant,
        period_grain,
        period_start_on,
        slice_type,
        slice_value,
        sum(case when invoices >= 2 then 1 else 0 end) as numerator,
        sum(case when invoices >= 1 then 1 else 0 end) as denominator,
        'rate' as unit,
        sum(case when invoices >= 1 then 1 else 0 end) as n
    from customer_invoices
    group by period_grain, period_start_on, slice_type, slice_value
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
)

select
    final.*,
    {{ is_complete_period('final.period_grain', 'final.period_start_on') }} as is_complete_period
from final
