-- Descriptive value per customer as of as_of (METRICS F1–F5), published: the scores of
-- int_customer_values_scored (the rules are there), which the concentration ranking reads too.
with scored as (
    select * from {{ ref('int_customer_values_scored') }}
),

final as (
    select
        customer_id,
        last_order_on,
        recency_days,
        invoices,
        revenue_cny,
        r_score,
        f_score,
        m_score,
        rfm_segment,
        average_order_value_cny,
        is_repeat_buyer,
        revenue_12m_cny,
        revenue_12m_share,
        contribution_rank,
        is_top_decile,
        purchasing_power_index
    from scored
)

select * from final
