-- Every customer once per slice (int_customer_slices) with its trailing-12-month net revenue
-- (customer_value.revenue_12m_cny: invoices and credit notes of the 365 days up to as_of),
-- ranked for the concentration marts (METRICS F11). Only customers with positive revenue
-- hold a share: a customer whose credit notes exceed its invoices, or who bought nothing in
-- the year, gets no rank and counts apart (customers_non_positive in the summary), the rule
-- of orchestration/concentration.py. Among the others, smallest first (ties by customer):
--   revenue_rank: 1 = smallest, the position on the Lorenz curve;
--   revenue_below_12m_cny: revenue of the customers ranked before (the curve's height at
--   the customer's left edge).
with customer_values as (
    select * from {{ ref('int_customer_values_scored') }}
),

slices as (
    select * from {{ ref('int_customer_slices') }}
),

joined as (
    select
        slices.slice_type,
        slices.slice_value,
        slices.customer_id,
        customer_values.revenue_12m_cny,
        customer_values.revenue_12m_cny > 0 as has_revenue
    from slices
    inner join customer_values
        on slices.customer_id = customer_values.customer_id
),

ranked as (
    select
        *,
        row_number() over (
            partition by slice_type, slice_value, has_revenue
            order by revenue_12m_cny asc, customer_id asc
        ) as position_in_group,
        sum(revenue_12m_cny) over (
            partition by slice_type, slice_value, has_revenue
            order by revenue_12m_cny asc, customer_id asc
            rows between unbounded preceding and 1 preceding
        ) as revenue_before_cny
    from joined
),

final as (
    select
        slice_type,
        slice_value,
        customer_id,
        revenue_12m_cny,
        has_revenue,
        case
            when has_revenue then cast(position_in_group as {{ dbt.type_bigint() }})
        end as revenue_rank,
        case
            when has_revenue then cast(coalesce(revenue_before_cny, 0) as {{ type_double() }})
        end as revenue_below_12m_cny
    from ranked
)

select * from final
