-- The customer-period spine: one row per customer and calendar month, from the month of
-- acquisition to the as_of month, with the customer's status at the month's end.
-- Rules (METRICS conventions, documented in _customers__models.yml):
--   active   = an open contract at the month end, or an invoice in the trailing
--              var('activity_window_days') days, unless a churn record is the latest event;
--   churned  = active at the month's start, not active at its end;
--   won back = active again after an earlier churn.
with customers as (
    select * from {{ ref('stg_crm__customers') }}
),

orders as (
    select * from {{ ref('stg_crm__orders') }}
),

contracts as (
    select * from {{ ref('stg_crm__contracts') }}
),

churn_records as (
    -- point in time: a churn record dated after as_of is not known yet
    select * from {{ ref('stg_crm__churn_records') }}
    where churned_on <= {{ as_of_date() }}
),

months as (
    select distinct
        month_start_on,
        month_end_on
    from {{ ref('dim_dates') }}
    where month_start_on <= {{ as_of_date() }}
),

customer_months as (
    select
        customers.customer_id,
        customers.acquired_on,
        months.month_start_on,
        case
            when months.month_end_on > {{ as_of_date() }} then {{ as_of_date() }}
            else months.month_end_on
        end as month_end_on
    from customers
    inner join months
        on customers.acquired_on <= months.month_end_on
),

order_months as (
    select
        customer_id,
        cast({{ dbt.date_trunc('month', 'ordered_on') }} as date) as month_start_on,
        max(ordered_on) as month_last_ordered_on,
        count(*) as month_order_count,
        sum(amount_cny) as month_revenue_cny
    from orders
    where not is_credit_note
    group by
        customer_id,
        cast({{ dbt.date_trunc('month', 'ordered_on') }} as date)
),

contract_start_months as (
    select
        customer_id,
        cast({{ dbt.date_trunc('month', 'start_on') }} as date) as month_start_on,
        max(start_on) as month_contract_started_on
    from contracts
    group by
        customer_id,
        cast({{ dbt.date_trunc('month', 'start_on') }} as date)
),

open_contracts as (
    select
        customer_months.customer_id,
        customer_months.month_start_on,
        count(*) as open_contract_count
    from customer_months
    inner join contracts
        on
            customer_months.customer_id = contracts.customer_id
            and customer_months.month_end_on >= contracts.start_on
            and customer_months.month_end_on <= contracts.end_on
    group by
        customer_months.customer_id,
        customer_months.month_start_on
),

churn_months as (
    select
        customer_id,
        cast({{ dbt.date_trunc('month', 'churned_on') }} as date) as month_start_on,
        max(churned_on) as month_churned_on
    from churn_records
    group by
        customer_id,
        cast({{ dbt.date_trunc('month', 'churned_on') }} as date)
),

joined as (
    select
        customer_months.customer_id,
        customer_months.acquired_on,
        customer_months.month_start_on,
        customer_months.month_end_on,
        order_months.month_last_ordered_on,
        coalesce(order_months.month_order_count, 0) as order_count,
        coalesce(order_months.month_revenue_cny, 0) as revenue_cny,
        contract_start_months.month_contract_started_on,
        coalesce(open_contracts.open_contract_count, 0) as open_contract_count,
        churn_months.month_churned_on
    from customer_months
    left join order_months
        on
            customer_months.customer_id = order_months.customer_id
            and customer_months.month_start_on = order_months.month_start_on
    left join contract_start_months
        on
            customer_months.customer_id = contract_start_months.customer_id
            and customer_months.month_start_on = contract_start_months.month_start_on
    left join open_contracts
        on
            customer_months.customer_id = open_contracts.customer_id
            and customer_months.month_start_on = open_contracts.month_start_on
    left join churn_months
        on
            customer_months.customer_id = churn_months.customer_id
            and customer_months.month_start_on = churn_months.month_start_on
),

to_date as (
    select
        *,
        max(month_last_ordered_on) over (
            partition by customer_id order by month_start_on
            rows between unbounded preceding and current row
        ) as last_ordered_on,
        max(month_contract_started_on) over (
            partition by customer_id order by month_start_on
            rows between unbounded preceding and current row
        ) as last_contract_started_on,
        max(month_churned_on) over (
            partition by customer_id order by month_start_on
            rows between unbounded preceding and current row
        ) as last_churned_on
    from joined
),

status as (
    select
        *,
        case
            when
                last_churned_on is not null
                and last_churned_on >= coalesce(last_ordered_on, acquired_on)
                and last_churned_on >= coalesce(last_contract_started_on, acquired_on)
                then 0
            when open_contract_count > 0 then 1
            when
                last_ordered_on is not null
                and last_ordered_on > {{ dbt.dateadd(
                    'day', -1 * var('activity_window_days'), 'month_end_on'
                ) }}
                then 1
            else 0
        end as active_flag
    from to_date
),

transitions as (
    select
        *,
        coalesce(
            lag(active_flag) over (partition by customer_id order by month_start_on), 0
        ) as active_at_start_flag,
        case when acquired_on >= month_start_on then 1 else 0 end as new_flag
    from status
),

churn_flags as (
    select
        *,
        case when active_at_start_flag = 1 and active_flag = 0 then 1 else 0 end as churned_flag
    from transitions
),

history as (
    select
        *,
        coalesce(
            max(churned_flag) over (
                partition by customer_id order by month_start_on
                rows between unbounded preceding and 1 preceding
            ),
            0
        ) as churned_before_flag
    from churn_flags
),

reasons as (
    -- The record that documents a loss: the first churn record on or after its month.
    select
        history.customer_id,
        history.month_start_on,
        churn_records.reason_code,
        row_number() over (
            partition by history.customer_id, history.month_start_on
            order by churn_records.churned_on, churn_records.churn_id
        ) as record_rank
    from history
    inner join churn_records
        on
            history.customer_id = churn_records.customer_id
            and history.month_start_on <= churn_records.churned_on
    where history.churned_flag = 1
),

final as (
    select
        history.customer_id,
        history.month_start_on,
        history.month_end_on,
        history.active_at_start_flag = 1 as was_active_at_start,
        history.active_flag = 1 as is_active,
        history.new_flag = 1 as is_new,
        history.churned_flag = 1 as is_churned,
        history.active_flag = 1
        and history.active_at_start_flag = 0
        and history.churned_before_flag = 1 as is_won_back,
        history.churned_before_flag = 1 as has_churned_before,
        case
            when history.churned_flag = 1 then coalesce(reasons.reason_code, 'unrecorded')
        end as churn_reason_code,
        history.order_count,
        cast(history.revenue_cny as {{ dbt.type_numeric() }}) as revenue_cny,
        history.open_contract_count,
        history.last_ordered_on,
        history.last_churned_on
    from history
    left join reasons
        on
            history.customer_id = reasons.customer_id
            and history.month_start_on = reasons.month_start_on
            and reasons.record_rank = 1
)

select * from final
