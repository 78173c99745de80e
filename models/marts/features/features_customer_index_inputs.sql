-- What a Python asset reads of int_customer_index_inputs (docs/layers.md): a contracted
-- copy, so that the assets never read a staging or intermediate relation.
with index_inputs as (
    select * from {{ ref('int_customer_index_inputs') }}
),

final as (
    select
        customer_id,
        window_end_month_on,
        window_start_on,
        window_end_on,
        is_current_window,
        is_previous_window,
        is_backtest_window,
        is_backtest_reference_window,
        has_next_window,
        industry,
        size_band,
        active_at_end_flag,
        active_at_start_flag,
        churned_in_window_flag,
        active_in_window_flag,
        invoice_count,
        repeat_order_count,
        tenure_months,
        converted_referral_count,
        event_participation_count,
        likelihood_to_recommend_score,
        satisfaction_pct,
        complaint_count,
        net_revenue_cny,
        purchasing_power_ratio,
        revenue_growth_rate,
        previous_window_net_revenue_cny,
        last_invoiced_on,
        recency_days,
        invoices_to_date,
        net_revenue_to_date_cny,
        next_window_active_flag,
        next_window_net_revenue_cny
    from index_inputs
)

select * from final
