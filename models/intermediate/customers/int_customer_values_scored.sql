-- Descriptive value per customer as of as_of (METRICS F1–F5), from fct_orders (invoices and
-- credit notes netted, reporting currency):
--   F1 RFM: recency = days since the last invoice, frequency = invoices, monetary = net
--      revenue, each scored 1–5 by quintile over customers with an invoice (5 = best), and a
--      segment from the scores (rules below);
--   F2 average order value = net revenue / invoices;
--   F3 repeat buyer = two or more invoices (the rate is in loyalty_indicators);
--   F4 contribution: trailing-12-month net revenue (the 365 days to as_of,
--      macros/windows.sql), its share of the total, rank, top decile;
--   F5 purchasing power = trailing-12-month revenue / the mean of the customer's industry ×
--      size band (1 = typical for its peers).
-- RFM segments, first match wins: champions (R >= 4, F >= 4), loyal (F >= 4),
-- new (R >= 4, F = 1), at_risk (R <= 2, F >= 3), lost (R = 1), needs_attention (the rest).
with customers as (
    select * from {{ ref('dim_customers') }}
),

orders as (
    select * from {{ ref('fct_orders') }}
),

per_customer as (
    select
        customer_id,
        max(case when not is_credit_note then ordered_on end) as last_order_on,
        sum(case when is_credit_note then 0 else 1 end) as invoices,
        sum(amount_cny) as revenue_cny,
        sum(
            case
                when {{ is_in_trailing_year('ordered_on') }} then amount_cny
                else 0
            end
        ) as revenue_12m_cny
    from orders
    group by customer_id
),

joined as (
    select
        customers.customer_id,
        customers.industry,
        customers.size_band,
        per_customer.last_order_on,
        coalesce(per_customer.invoices, 0) as invoices,
        coalesce(per_customer.revenue_cny, 0) as revenue_cny,
        coalesce(per_customer.revenue_12m_cny, 0) as revenue_12m_cny,
        case
            when per_customer.last_order_on is not null
                then {{ dbt.datediff('per_customer.last_order_on', as_of_date(), 'day') }}
        end as recency_days
    from customers
    left join per_customer
        on customers.customer_id = per_customer.customer_id
),

scored as (
    select
        *,
        case
            when last_order_on is not null
                then ntile(5) over (
                    partition by case when last_order_on is null then 0 else 1 end
                    order by recency_days desc, customer_id asc
                )
        end as r_score,
        case
            when last_order_on is not null
                then ntile(5) over (
                    partition by case when last_order_on is null then 0 else 1 end
                    order by invoices, customer_id
                )
        end as f_score,
        case
            when last_order_on is not null
                then ntile(5) over (
                    partition by case when last_order_on is null then 0 else 1 end
                    order by revenue_cny, customer_id
                )
        end as m_score,
        sum(revenue_12m_cny) over () as total_revenue_12m_cny,
        avg(revenue_12m_cny) over (partition by industry, size_band) as peer_mean_revenue_12m_cny,
        rank() over (order by revenue_12m_cny desc) as contribution_rank,
        count(*) over () as customers
    from joined
),

final as (
    select
        customer_id,
        last_order_on,
        cast(recency_days as {{ dbt.type_int() }}) as recency_days,
        cast(invoices as {{ dbt.type_int() }}) as invoices,
        cast(revenue_cny as {{ type_double() }}) as revenue_cny,
        cast(r_score as {{ dbt.type_int() }}) as r_score,
        cast(f_score as {{ dbt.type_int() }}) as f_score,
        cast(m_score as {{ dbt.type_int() }}) as m_score,
        case
            when r_score is null then 'no_purchase'
            when r_score >= 4 and f_score >= 4 then 'champions'
            when f_score >= 4 then 'loyal'
            when r_score >= 4 and invoices = 1 then 'new'
            when r_score <= 2 and f_score >= 3 then 'at_risk'
            when r_score = 1 then 'lost'
            else 'needs_attention'
        end as rfm_segment,
        cast(revenue_cny / nullif(invoices, 0) as {{ type_double() }}) as average_order_value_cny,
        invoices >= 2 as is_repeat_buyer,
        cast(revenue_12m_cny as {{ type_double() }}) as revenue_12m_cny,
        -- shares divided as doubles: Spark divides these decimals to 6 places only
        cast(revenue_12m_cny as {{ type_double() }})
        / nullif(total_revenue_12m_cny, 0) as revenue_12m_share,
        cast(contribution_rank as {{ dbt.type_int() }}) as contribution_rank,
        contribution_rank <= ceiling(customers / 10.0) as is_top_decile,
        cast(revenue_12m_cny as {{ type_double() }})
        / nullif(peer_mean_revenue_12m_cny, 0) as purchasing_power_index
    from scored
)

select * from final
