-- The indicators of the composite indices H1, H2, H3 (seed index_expert_weights), one row per
-- customer and 12-month window, for orchestration/assets/indices.py; every column is defined
-- in _indices__models.yml. A window: 12 calendar months ending with a spine month, at its end
-- (as_of for the as_of month), for the spine's statuses; dated facts (orders, complaints,
-- referrals, events, surveys) in the 365 days ending there and, for the revenue growth, the
-- 365 days before (macros/windows.sql: windows of equal length): current (the as_of
-- month), previous (12 months earlier: reference and trend), backtest (the
-- var('index_backtest_windows', 4) latest quarter ends whose next 12 months have ended by
-- as_of) and backtest_reference (12 months before each). A customer is in a window once
-- acquired by its end month; facts are read on or before the window's end, except the
-- next-window outcomes (filled only when the next window has ended by as_of).
-- Codes: B1 active_at_end_flag, B2 churned_in_window_flag, F3 repeat_order_count,
-- G4 tenure_months, E1 converted_referral_count, C3 event_participation_count,
-- E3 likelihood_to_recommend_score, A2 satisfaction_pct, D1 complaint_count,
-- F4 net_revenue_cny, F5 purchasing_power_ratio, G5 revenue_growth_rate.
-- A table, not a view: the spine is read several times here, and this model by the assets.
{{ config(materialized='table') }}

with spine as (
    select * from {{ ref('int_customer_months') }}
),

customers as (
    select * from {{ ref('dim_customers') }}
),

orders as (
    select * from {{ ref('fct_orders') }}
),

contracts as (
    select * from {{ ref('fct_contracts') }}
),

complaints as (
    select * from {{ ref('fct_complaints') }}
),

referrals as (
    select * from {{ ref('fct_referrals') }}
),

event_attendance as (
    select * from {{ ref('fct_event_attendance') }}
),

survey_answers as (
    select * from {{ ref('fct_survey_answers') }}
),

spine_months as (
    select distinct month_start_on from spine
),

as_of_month as (
    select {{ period_start('month', as_of_date()) }} as as_of_month_on
),

backtest_ends as (
    -- quarter-end months whose following 12 months have ended by as_of, latest first
    select
        month_start_on,
        row_number() over (order by month_start_on desc) as recency_rank
    from spine_months
    where
        {{ period_start('quarter', 'month_start_on') }}
        = cast({{ dbt.dateadd('month', -2, 'month_start_on') }} as date)
        and cast({{ dbt.dateadd('month', 13, 'month_start_on') }} as date)
        <= cast({{ dbt.dateadd('day', 1, as_of_date()) }} as date)
),

window_roles as (
    select
        as_of_month_on as window_end_month_on,
        'current' as window_role
    from as_of_month
    union all
    select
        cast({{ dbt.dateadd('month', -12, 'as_of_month_on') }} as date) as window_end_month_on,
        'previous' as window_role
    from as_of_month
    union all
    select
        month_start_on as window_end_month_on,
        'backtest' as window_role
    from backtest_ends
    where recency_rank <= {{ var('index_backtest_windows', 4) }}
    union all
    select
        cast({{ dbt.dateadd('month', -12, 'month_start_on') }} as date) as window_end_month_on,
        'backtest_reference' as window_role
    from backtest_ends
    where recency_rank <= {{ var('index_backtest_windows', 4) }}
),

windows as (
    select
        window_end_month_on,
        max(case when window_role = 'current' then 1 else 0 end) as current_flag,
        max(case when window_role = 'previous' then 1 else 0 end) as previous_flag,
        max(case when window_role = 'backtest' then 1 else 0 end) as backtest_flag,
        max(case when window_role = 'backtest_reference' then 1 else 0 end)
            as backtest_reference_flag
    from window_roles
    where window_end_month_on in (select spine_months.month_start_on from spine_months)
    group by window_end_month_on
),

window_months as (
    select
        *,
        cast({{ dbt.dateadd('month', -11, 'window_end_month_on') }} as date)
            as window_start_month_on,
        cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', 1, 'window_end_month_on')) }} as date)
            as month_last_on,
        cast({{ dbt.dateadd('month', 12, 'window_end_month_on') }} as date)
            as next_window_end_month_on,
        cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', 13, 'window_end_month_on')) }} as date)
            as next_window_end_on
    from windows
),

window_ends as (
    select
        *,
        case
            when month_last_on > {{ as_of_date() }} then {{ as_of_date() }}
            else month_last_on
        end as window_end_on
    from window_months
),

window_bounds as (
    -- Dated facts are counted in the trailing year ending at the window's end (365 days,
    -- macros/windows.sql) and compared with the 365 days before: windows of equal length,
    -- also for the current window that ends on as_of inside a month. The spine's statuses
    -- are read on the window's 12 months (window_start_month_on to window_end_month_on).
    select
        *,
        {{ trailing_year_start('window_end_on') }} as window_start_on,
        {{ trailing_year_start('window_end_on', years_before=1) }} as previous_window_start_on
    from window_ends
),

customer_windows as (
    select
        spine.customer_id,
        customers.industry,
        customers.size_band,
        window_bounds.*,
        window_bounds.next_window_end_on <= {{ as_of_date() }} as has_next_window,
        case when spine.is_active then 1 else 0 end as active_at_end_flag
    from window_bounds
    inner join spine
        on window_bounds.window_end_month_on = spine.month_start_on
    left join customers
        on spine.customer_id = customers.customer_id
),

window_spine as (
    select
        customer_windows.customer_id,
        customer_windows.window_end_month_on,
        max(case when spine.is_churned then 1 else 0 end) as churned_in_window_flag,
        max(case when spine.is_active or spine.was_active_at_start then 1 else 0 end)
            as active_in_window_flag,
        max(
            case
                when
                    spine.month_start_on = customer_windows.window_start_month_on
                    and spine.was_active_at_start
                    then 1
                else 0
            end
        ) as active_at_start_flag
    from customer_windows
    inner join spine
        on
            customer_windows.customer_id = spine.customer_id
            and customer_windows.window_start_month_on <= spine.month_start_on
            and customer_windows.window_end_month_on >= spine.month_start_on
    group by
        customer_windows.customer_id,
        customer_windows.window_end_month_on
),

next_window_status as (
    select
        customer_windows.customer_id,
        customer_windows.window_end_month_on,
        case when spine.is_active then 1 else 0 end as next_window_active_flag
    from customer_windows
    inner join spine
        on
            customer_windows.customer_id = spine.customer_id
            and customer_windows.next_window_end_month_on = spine.month_start_on
    where customer_windows.has_next_window
),

window_orders as (
    -- each order once per window, from the previous window's start to the next window's end
    select
        customer_windows.customer_id,
        customer_windows.window_end_month_on,
        customer_windows.previous_window_start_on,
        customer_windows.window_start_on,
        customer_windows.window_end_on,
        orders.ordered_on,
        orders.amount_cny,
        case when orders.is_credit_note then 0 else 1 end as invoice_flag
    from customer_windows
    inner join orders
        on
            customer_windows.customer_id = orders.customer_id
            and customer_windows.next_window_end_on >= orders.ordered_on
),

order_totals as (
    select
        customer_id,
        window_end_month_on,
        sum(
            case
                when ordered_on >= window_start_on and ordered_on <= window_end_on then amount_cny
                else 0
            end
        ) as net_revenue_cny,
        sum(
            case
                when ordered_on >= window_start_on and ordered_on <= window_end_on
                    then invoice_flag
                else 0
            end
        ) as invoice_count,
        sum(
            case
                when ordered_on >= previous_window_start_on and ordered_on < window_start_on
                    then amount_cny
                else 0
            end
        ) as previous_window_net_revenue_cny,
        sum(case when ordered_on > window_end_on then amount_cny else 0 end)
            as next_window_net_revenue_cny,
        min(case when invoice_flag = 1 and ordered_on <= window_end_on then ordered_on end)
            as first_invoiced_on,
        max(case when invoice_flag = 1 and ordered_on <= window_end_on then ordered_on end)
            as last_invoiced_on,
        sum(case when ordered_on <= window_end_on then invoice_flag else 0 end)
            as invoices_to_date,
        sum(case when ordered_on <= window_end_on then amount_cny else 0 end)
            as net_revenue_to_date_cny
    from window_orders
    group by
        customer_id,
        window_end_month_on
),

window_contracts as (
    select
        customer_windows.customer_id,
        customer_windows.window_end_month_on,
        min(contracts.start_on) as first_contract_started_on
    from customer_windows
    inner join contracts
        on
            customer_windows.customer_id = contracts.customer_id
            and customer_windows.window_end_on >= contracts.start_on
    group by
        customer_windows.customer_id,
        customer_windows.window_end_month_on
),

window_complaints as (
    select
        customer_windows.customer_id,
        customer_windows.window_end_month_on,
        count(*) as complaint_count
    from customer_windows
    inner join complaints
        on
            customer_windows.customer_id = complaints.customer_id
            and customer_windows.window_start_on <= cast(complaints.opened_at as date)
            and customer_windows.window_end_on >= cast(complaints.opened_at as date)
    group by
        customer_windows.customer_id,
        customer_windows.window_end_month_on
),

window_referrals as (
    select
        customer_windows.customer_id,
        customer_windows.window_end_month_on,
        count(*) as converted_referral_count
    from customer_windows
    inner join referrals
        on
            customer_windows.customer_id = referrals.referrer_customer_id
            and customer_windows.window_start_on <= referrals.referred_on
            and customer_windows.window_end_on >= referrals.referred_on
    inner join customers as referred
        on referrals.referred_customer_id = referred.customer_id
    where
        referrals.is_converted
        and referred.acquired_on <= customer_windows.window_end_on
    group by
        customer_windows.customer_id,
        customer_windows.window_end_month_on
),

window_events as (
    select
        customer_windows.customer_id,
        customer_windows.window_end_month_on,
        count(*) as event_participation_count
    from customer_windows
    inner join event_attendance
        on
            customer_windows.customer_id = event_attendance.customer_id
            and customer_windows.window_start_on <= event_attendance.held_on
            and customer_windows.window_end_on >= event_attendance.held_on
    where event_attendance.attended
    group by
        customer_windows.customer_id,
        customer_windows.window_end_month_on
),

window_answers as (
    select
        customer_windows.customer_id,
        customer_windows.window_end_month_on,
        survey_answers.response_id,
        survey_answers.question_id,
        survey_answers.submitted_on,
        survey_answers.survey_kind,
        survey_answers.dimension,
        survey_answers.scale_min,
        survey_answers.scale_max,
        survey_answers.answer_value,
        survey_answers.score_of_max_pct
    from customer_windows
    inner join survey_answers
        on
            customer_windows.customer_id = survey_answers.customer_id
            and customer_windows.window_start_on <= survey_answers.submitted_on
            and customer_windows.window_end_on >= survey_answers.submitted_on
),

window_satisfaction as (
    select
        customer_id,
        window_end_month_on,
        avg(score_of_max_pct) as satisfaction_pct
    from window_answers
    where survey_kind = 'satisfaction'
    group by
        customer_id,
        window_end_month_on
),

ranked_recommendations as (
    select
        customer_id,
        window_end_month_on,
        answer_value,
        row_number() over (
            partition by customer_id, window_end_month_on
            order by submitted_on desc, response_id desc, question_id desc
        ) as answer_rank
    from window_answers
    where
        dimension = 'likelihood_to_recommend'
        and scale_min = 0
        and scale_max = 10
),

window_recommendations as (
    select
        customer_id,
        window_end_month_on,
        answer_value as likelihood_to_recommend_score
    from ranked_recommendations
    where answer_rank = 1
),

joined as (
    select
        customer_windows.customer_id,
        customer_windows.industry,
        customer_windows.size_band,
        customer_windows.window_end_month_on,
        customer_windows.window_start_on,
        customer_windows.window_end_on,
        customer_windows.current_flag = 1 as is_current_window,
        customer_windows.previous_flag = 1 as is_previous_window,
        customer_windows.backtest_flag = 1 as is_backtest_window,
        customer_windows.backtest_reference_flag = 1 as is_backtest_reference_window,
        customer_windows.has_next_window,
        customer_windows.active_at_end_flag,
        coalesce(window_spine.active_at_start_flag, 0) as active_at_start_flag,
        coalesce(window_spine.churned_in_window_flag, 0) as churned_in_window_flag,
        coalesce(window_spine.active_in_window_flag, 0) as active_in_window_flag,
        coalesce(order_totals.invoice_count, 0) as invoice_count,
        case
            when order_totals.invoice_count > 1 then order_totals.invoice_count - 1 else 0
        end as repeat_order_count,
        case
            when
                window_contracts.first_contract_started_on is not null
                and (
                    order_totals.first_invoiced_on is null
                    or window_contracts.first_contract_started_on
                    < order_totals.first_invoiced_on
                )
                then window_contracts.first_contract_started_on
            else order_totals.first_invoiced_on
        end as first_purchased_on,
        coalesce(window_referrals.converted_referral_count, 0) as converted_referral_count,
        coalesce(window_events.event_participation_count, 0) as event_participation_count,
        window_recommendations.likelihood_to_recommend_score,
        window_satisfaction.satisfaction_pct,
        coalesce(window_complaints.complaint_count, 0) as complaint_count,
        coalesce(order_totals.net_revenue_cny, 0) as net_revenue_cny,
        coalesce(order_totals.previous_window_net_revenue_cny, 0)
            as previous_window_net_revenue_cny,
        order_totals.last_invoiced_on,
        coalesce(order_totals.invoices_to_date, 0) as invoices_to_date,
        coalesce(order_totals.net_revenue_to_date_cny, 0) as net_revenue_to_date_cny,
        case
            when customer_windows.has_next_window
                then coalesce(next_window_status.next_window_active_flag, 0)
        end as next_window_active_flag,
        case
            when customer_windows.has_next_window
                then coalesce(order_totals.next_window_net_revenue_cny, 0)
        end as next_window_net_revenue_cny
    from customer_windows
    left join window_spine
        on
            customer_windows.customer_id = window_spine.customer_id
            and customer_windows.window_end_month_on = window_spine.window_end_month_on
    left join next_window_status
        on
            customer_windows.customer_id = next_window_status.customer_id
            and customer_windows.window_end_month_on = next_window_status.window_end_month_on
    left join order_totals
        on
            customer_windows.customer_id = order_totals.customer_id
            and customer_windows.window_end_month_on = order_totals.window_end_month_on
    left join window_contracts
        on
            customer_windows.customer_id = window_contracts.customer_id
            and customer_windows.window_end_month_on = window_contracts.window_end_month_on
    left join window_complaints
        on
            customer_windows.customer_id = window_complaints.customer_id
            and customer_windows.window_end_month_on = window_complaints.window_end_month_on
    left join window_referrals
        on
            customer_windows.customer_id = window_referrals.customer_id
            and customer_windows.window_end_month_on = window_referrals.window_end_month_on
    left join window_events
        on
            customer_windows.customer_id = window_events.customer_id
            and customer_windows.window_end_month_on = window_events.window_end_month_on
    left join window_satisfaction
        on
            customer_windows.customer_id = window_satisfaction.customer_id
            and customer_windows.window_end_month_on = window_satisfaction.window_end_month_on
    left join window_recommendations
        on
            customer_windows.customer_id = window_recommendations.customer_id
            and customer_windows.window_end_month_on
            = window_recommendations.window_end_month_on
),

peers as (
    select
        *,
        avg(net_revenue_cny) over (
            partition by window_end_month_on, industry, size_band
        ) as peer_mean_net_revenue_cny
    from joined
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
        cast(active_at_end_flag as {{ dbt.type_int() }}) as active_at_end_flag,
        cast(active_at_start_flag as {{ dbt.type_int() }}) as active_at_start_flag,
        cast(churned_in_window_flag as {{ dbt.type_int() }}) as churned_in_window_flag,
        cast(active_in_window_flag as {{ dbt.type_int() }}) as active_in_window_flag,
        cast(invoice_count as {{ dbt.type_int() }}) as invoice_count,
        cast(repeat_order_count as {{ dbt.type_int() }}) as repeat_order_count,
        cast(
            {{ dbt.datediff('first_purchased_on', 'window_end_on', 'month') }}
            as {{ dbt.type_int() }}
        ) as tenure_months,
        cast(converted_referral_count as {{ dbt.type_int() }}) as converted_referral_count,
        cast(event_participation_count as {{ dbt.type_int() }}) as event_participation_count,
        cast(likelihood_to_recommend_score as {{ type_double() }})
            as likelihood_to_recommend_score,
        cast(satisfaction_pct as {{ type_double() }}) as satisfaction_pct,
        cast(complaint_count as {{ dbt.type_int() }}) as complaint_count,
        cast(net_revenue_cny as {{ type_double() }}) as net_revenue_cny,
        -- amounts cast to double before a division, so every engine divides in binary
        -- floating point (Spark's decimal division keeps 6 decimals)
        cast(net_revenue_cny as {{ type_double() }})
        / nullif(cast(peer_mean_net_revenue_cny as {{ type_double() }}), 0)
            as purchasing_power_ratio,
        case
            when previous_window_net_revenue_cny > 0
                then
                    cast(net_revenue_cny as {{ type_double() }})
                    / cast(previous_window_net_revenue_cny as {{ type_double() }}) - 1
        end as revenue_growth_rate,
        cast(previous_window_net_revenue_cny as {{ type_double() }})
            as previous_window_net_revenue_cny,
        last_invoiced_on,
        cast(
            {{ dbt.datediff('last_invoiced_on', 'window_end_on', 'day') }}
            as {{ dbt.type_int() }}
        ) as recency_days,
        cast(invoices_to_date as {{ dbt.type_int() }}) as invoices_to_date,
        cast(net_revenue_to_date_cny as {{ type_double() }}) as net_revenue_to_date_cny,
        cast(next_window_active_flag as {{ dbt.type_int() }}) as next_window_active_flag,
        cast(next_window_net_revenue_cny as {{ type_double() }}) as next_window_net_revenue_cny
    from peers
)

select * from final
