-- The customer-period spine: one row per customer and calendar month, from the month of
-- acquisition to the as_of month, with the customer's status at the month's end.
-- Rules (METRICS conventions, documented in _customers__models.yml):
--   active   = an open contract at the month end, or an invoice in the trailing
--              var('activity_window_days') days, unless a churn record is the latest event;
--   churned  = active at the month's start, not active at its end;
--   won back = active again after an earlier churn.
-- Point in time: orders, contract starts and churn records dated after as_of are not known.
--
-- Incremental: beside the spine, a state table (`int_customer_months__state`, written by the
-- post-hook, macros/changes.sql) keeps the last load of the ingestion's change record it has
-- seen, its as_of and its activity window; the boundary is the month of that as_of. A run
-- then rebuilds
--   * every month of a customer whose orders, contracts, churn records or customer row a
--     later load added or removed with a date before the boundary (a late, corrected or
--     removed row of a closed month; a new or changed customer), or who has a churn record
--     dated on or after the boundary (a churn month's reason is the first record on or after
--     it);
--   * the months from the boundary on of every other customer, seeded with the stored row of
--     the month before (status and running maxima), so the window rules need no history;
-- and the post-hook deletes the rows outside the spine (a customer removed or acquired later,
-- months after a new, earlier as_of). Without a usable state (first run, an as_of moved to an
-- earlier month, another activity window) every customer is rebuilt. A change of this
-- model's SQL or of the fx_rates seed needs --full-refresh, which the jobs start by
-- themselves (orchestration/assets/dbt.py). On Spark the model is a plain table.
{{ stored_by_customer_month() }}

with customers as (
    select * from {{ ref('stg_crm__customers') }}
),

orders as (
    -- the invoices and credit notes known by as_of (a table: the staging view converts
    -- every order's currency again on each read)
    select * from {{ ref('fct_orders') }}
    where ordered_on <= {{ as_of_date() }}
),

contracts as (
    select * from {{ ref('stg_crm__contracts') }}
    where start_on <= {{ as_of_date() }}
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

{% if is_incremental() %}
    {%- set boundary = '(select boundary.boundary_on from boundary)' %}
    {{ customer_month_boundary(
        ['orders', 'contracts', 'churn_records', 'customers'],
        also_changed='select customer_id from ' ~ ref('stg_crm__churn_records')
        ~ ' where churned_on >= ' ~ boundary,
    ) }}

    seeds as (
        -- the stored row of the month before the boundary, of the customers not rebuilt
        select
            built.customer_id,
            built.month_start_on,
            built.month_end_on,
            built.last_ordered_on,
            built.last_churned_on,
            case when built.is_active then 1 else 0 end as seed_active_flag,
            case
                when built.is_churned or built.has_churned_before then 1 else 0
            end as seed_churned_flag
        from {{ this }} as built
        where
            built.month_start_on
            = cast({{ dbt.dateadd('month', -1, boundary) }} as date)
            and not exists (
                select 1
                from changed_customers
                where changed_customers.customer_id = built.customer_id
            )
    ),

    seed_contract_starts as (
        select
            customer_id,
            max(start_on) as last_contract_started_on
        from contracts
        where start_on < {{ boundary }}
        group by customer_id
    ),
{% endif %}

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
    {%- if is_incremental() %}
        where
            months.month_start_on >= {{ boundary }}
            or customers.customer_id in (
                select changed_customers.customer_id from changed_customers
            )
    {%- endif %}
),

order_months as (
    select
        customer_id,
        {{ period_start('month', 'ordered_on') }} as month_start_on,
        max(ordered_on) as month_last_ordered_on,
        count(*) as month_order_count,
        sum(amount_cny) as month_revenue_cny
    from orders
    where
        not is_credit_note
    {%- if is_incremental() %}
            and (
                ordered_on >= {{ boundary }}
                or customer_id in (select changed_customers.customer_id from changed_customers)
            )
        {%- endif %}
    group by
        customer_id,
        {{ period_start('month', 'ordered_on') }}
),

contract_start_months as (
    select
        customer_id,
        {{ period_start('month', 'start_on') }} as month_start_on,
        max(start_on) as month_contract_started_on
    from contracts
    group by
        customer_id,
        {{ period_start('month', 'start_on') }}
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
        {{ period_start('month', 'churned_on') }} as month_start_on,
        max(churned_on) as month_churned_on
    from churn_records
    group by
        customer_id,
        {{ period_start('month', 'churned_on') }}
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
        churn_months.month_churned_on,
        0 as is_seed,
        cast(null as {{ dbt.type_int() }}) as seed_active_flag,
        cast(null as {{ dbt.type_int() }}) as seed_churned_flag
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
    {%- if is_incremental() %}
        union all
        select
            seeds.customer_id,
            customers.acquired_on,
            seeds.month_start_on,
            seeds.month_end_on,
            seeds.last_ordered_on as month_last_ordered_on,
            0 as order_count,
            0 as revenue_cny,
            seed_contract_starts.last_contract_started_on as month_contract_started_on,
            0 as open_contract_count,
            seeds.last_churned_on as month_churned_on,
            1 as is_seed,
            seeds.seed_active_flag,
            seeds.seed_churned_flag
        from seeds
        inner join customers
            on seeds.customer_id = customers.customer_id
        left join seed_contract_starts
            on seeds.customer_id = seed_contract_starts.customer_id
    {%- endif %}
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
            when is_seed = 1 then seed_active_flag
            when {{ is_active_on(
                    day='month_end_on',
                    acquired_on='acquired_on',
                    has_open_contract='open_contract_count > 0',
                    last_ordered_on='last_ordered_on',
                    last_contract_started_on='last_contract_started_on',
                    last_churned_on='last_churned_on',
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
        case
            when is_seed = 1 then seed_churned_flag
            when active_at_start_flag = 1 and active_flag = 0 then 1
            else 0
        end as churned_flag
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
    where history.churned_flag = 1 and history.is_seed = 0
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
    where history.is_seed = 0
)

select * from final
