with customers as (
    select * from {{ ref('stg_crm__customers') }}
),

assignments as (
    -- point in time: an assignment starting after as_of is not known yet
    select * from {{ ref('stg_crm__account_assignments') }}
    where assigned_from <= {{ as_of_date() }}
),

orders as (
    -- point in time: orders and churn records dated after as_of are not known yet
    select * from {{ ref('stg_crm__orders') }}
    where ordered_on <= {{ as_of_date() }}
),

churn_records as (
    select * from {{ ref('stg_crm__churn_records') }}
    where churned_on <= {{ as_of_date() }}
),

assignments_ranked as (
    -- The manager at as_of: an assignment still open that day first (no end, or an end on
    -- or after it), else the one that started last.
    select
        customer_id,
        manager_id,
        row_number() over (
            partition by customer_id
            order by
                case
                    when assigned_to is null or assigned_to >= {{ as_of_date() }} then 0
                    else 1
                end,
                assigned_from desc,
                assignment_id desc
        ) as recency_rank,
        count(*) over (partition by customer_id) as assignment_count
    from assignments
),

current_manager as (
    select
        customer_id,
        manager_id as current_manager_id,
        assignment_count - 1 as manager_change_count
    from assignments_ranked
    where recency_rank = 1
),

order_rollup as (
    select
        customer_id,
        min(case when not is_credit_note then ordered_on end) as first_ordered_on,
        max(case when not is_credit_note then ordered_on end) as last_ordered_on,
        sum(case when is_credit_note then 0 else 1 end) as order_count,
        sum(amount_cny) as net_revenue_cny
    from orders
    group by customer_id
),

churn_rollup as (
    select
        customer_id,
        max(churned_on) as last_churned_on
    from churn_records
    group by customer_id
),

final as (
    select
        customers.customer_id,
        customers.customer_name,
        customers.industry,
        customers.region,
        customers.province,
        customers.city,
        customers.size_band,
        customers.acquired_on,
        customers.acquisition_channel,
        cast(customers.acquisition_cost as {{ dbt.type_numeric() }}) as acquisition_cost_amount,
        current_manager.current_manager_id,
        cast(coalesce(current_manager.manager_change_count, 0) as {{ dbt.type_bigint() }})
            as manager_change_count,
        order_rollup.first_ordered_on,
        order_rollup.last_ordered_on,
        cast(coalesce(order_rollup.order_count, 0) as {{ dbt.type_bigint() }}) as order_count,
        cast(coalesce(order_rollup.net_revenue_cny, 0) as {{ dbt.type_numeric() }})
            as net_revenue_cny,
        churn_rollup.last_churned_on is not null as has_churn_record,
        churn_rollup.last_churned_on
    from customers
    left join current_manager
        on customers.customer_id = current_manager.customer_id
    left join order_rollup
        on customers.customer_id = order_rollup.customer_id
    left join churn_rollup
        on customers.customer_id = churn_rollup.customer_id
)

select * from final
