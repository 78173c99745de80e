-- The floor of benchmarks/refresh.py: the headline marts in plain DuckDB SQL, one process,
-- straight from the landing CSVs, with no validation, ledger, staging layer, tests or
-- Python assets. A full refresh cannot be faster than this, so refresh.py prints its time as
-- a multiple of this script's.
--
-- It computes, with the rules of the dbt models it mirrors (activity window 365 days, the
-- fx_rates seed, calendar from 2015-01-01, CLV time unit weeks):
--   floor_customer_months    int_customer_months: active / new / churned per customer-month
--   floor_retention_month    loyalty_retention, company slice, month grain (B1, B2)
--   floor_revenue_month      net revenue per month (fct_orders, reporting currency)
--   floor_clv_inputs         customer_clv_inputs: x, t_x, T (weeks), mean repeat spend, on
--                            the orders that bill no contract
--   floor_customer_value     customer_value: recency, invoices, revenue, R/F/M quintiles
--
-- Parameters (DuckDB variables, set before running the file):
--   set variable landing_dir = '/path/to/landing';  -- folders <table>/<date>.csv
--   set variable as_of = date '2026-10-31';
-- This is DuckDB-only SQL on purpose (it is a baseline, not a model): `create or replace
-- table`, `read_csv_auto`, `getvariable`, `date_diff`.

create or replace table floor_orders as
with source as (
    select *
    from read_csv_auto(
        getvariable('landing_dir') || '/orders/*.csv',
        header = true,
        types = { 'amount': 'decimal(18, 2)', 'contract_id': 'varchar' }
    )
),

fx_rates as (
    select
        rates.currency,
        rates.rate_to_cny
    from (
        values
        ('CNY', 1.0::decimal(18, 6)),
        ('USD', 7.10::decimal(18, 6)),
        ('EUR', 7.75::decimal(18, 6)),
        ('HKD', 0.91::decimal(18, 6))
    ) as rates (currency, rate_to_cny)
)

select
    source.order_id,
    source.customer_id,
    source.ordered_on,
    source.is_credit_note,
    source.product_line,
    source.contract_id,
    source.amount * fx_rates.rate_to_cny as amount_cny
from source
inner join fx_rates on source.currency = fx_rates.currency
where source.ordered_on <= getvariable('as_of');

create or replace table floor_customers as
select
    customer_id,
    acquired_on
from read_csv_auto(getvariable('landing_dir') || '/customers/*.csv', header = true);

create or replace table floor_customer_months as
with contracts as (
    select
        customer_id,
        start_on,
        end_on
    from read_csv_auto(getvariable('landing_dir') || '/contracts/*.csv', header = true)
),

churn_records as (
    select
        customer_id,
        churned_on
    from read_csv_auto(getvariable('landing_dir') || '/churn_records/*.csv', header = true)
    where churned_on <= getvariable('as_of')
),

months as (
    select
        month_start_on::date as month_start_on,
        least(
            (month_start_on + interval 1 month - interval 1 day)::date, getvariable('as_of')
        ) as month_end_on,
        (month_start_on + interval 1 month - interval 1 day)::date as calendar_month_end_on
    from generate_series(
        date '2015-01-01', date_trunc('month', getvariable('as_of')), interval 1 month
    ) as series (month_start_on)
),

customer_months as (
    select
        customers.customer_id,
        customers.acquired_on,
        months.month_start_on,
        months.month_end_on
    from floor_customers as customers
    inner join months on customers.acquired_on <= months.calendar_month_end_on
),

order_months as (
    select
        customer_id,
        date_trunc('month', ordered_on)::date as month_start_on,
        max(ordered_on) as month_last_ordered_on,
        count(*) as order_count,
        sum(amount_cny) as revenue_cny
    from floor_orders
    where not is_credit_note
    group by customer_id, month_start_on
),

contract_start_months as (
    select
        customer_id,
        date_trunc('month', start_on)::date as month_start_on,
        max(start_on) as month_contract_started_on
    from contracts
    group by customer_id, month_start_on
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
            and customer_months.month_end_on between contracts.start_on and contracts.end_on
    group by customer_months.customer_id, customer_months.month_start_on
),

churn_months as (
    select
        customer_id,
        date_trunc('month', churned_on)::date as month_start_on,
        max(churned_on) as month_churned_on
    from churn_records
    group by customer_id, month_start_on
),

to_date as (
    select
        customer_months.*,
        coalesce(order_months.order_count, 0) as order_count,
        coalesce(order_months.revenue_cny, 0) as revenue_cny,
        coalesce(open_contracts.open_contract_count, 0) as open_contract_count,
        max(order_months.month_last_ordered_on) over customer_to_date as last_ordered_on,
        max(contract_start_months.month_contract_started_on) over customer_to_date
            as last_contract_started_on,
        max(churn_months.month_churned_on) over customer_to_date as last_churned_on
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
    window customer_to_date as (
        partition by customer_months.customer_id order by customer_months.month_start_on
        rows between unbounded preceding and current row
    )
),

status as (
    select
        *,
        case
            when
                last_churned_on >= coalesce(last_ordered_on, acquired_on)
                and last_churned_on >= coalesce(last_contract_started_on, acquired_on)
                then 0
            when open_contract_count > 0 then 1
            when last_ordered_on > month_end_on - interval 365 day then 1
            else 0
        end as active_flag
    from to_date
)

select
    customer_id,
    month_start_on,
    coalesce(
        lag(active_flag) over (partition by customer_id order by month_start_on), 0
    ) = 1 as was_active_at_start,
    active_flag = 1 as is_active,
    acquired_on >= month_start_on as is_new,
    order_count,
    revenue_cny
from status;

create or replace table floor_retention_month as
select
    month_start_on,
    count(*) filter (where was_active_at_start) as customers_at_start,
    count(*) filter (where is_active) as customers_at_end,
    count(*) filter (where is_new) as customers_new,
    count(*) filter (where was_active_at_start and not is_active) as customers_lost,
    (customers_at_end - customers_new) / nullif(customers_at_start, 0) as retention_rate,
    customers_lost / nullif(customers_at_start, 0) as churn_rate
from floor_customer_months
group by month_start_on;

create or replace table floor_revenue_month as
select
    date_trunc('month', ordered_on)::date as month_start_on,
    sum(amount_cny) as revenue_cny,
    count(*) filter (where not is_credit_note) as invoices
from floor_orders
group by month_start_on;

create or replace table floor_clv_inputs as
with contracts as (
    select
        customer_id,
        product_line,
        start_on,
        end_on
    from read_csv_auto(getvariable('landing_dir') || '/contracts/*.csv', header = true)
),

-- Orders that bill a contract are left out (contract revenue): those with a contract_id, or,
-- when no order carries one, those inside a term of a same-line contract of the customer.
orders as (
    select floor_orders.*
    from floor_orders
    where
        not floor_orders.is_credit_note
        and floor_orders.contract_id is null
        and (
            (select count(contract_id) from floor_orders) > 0
            or not exists (
                select 1
                from contracts
                where
                    contracts.customer_id = floor_orders.customer_id
                    and contracts.product_line = floor_orders.product_line
                    and floor_orders.ordered_on between contracts.start_on and contracts.end_on
            )
        )
),

purchase_days as (
    select
        customer_id,
        ordered_on,
        sum(amount_cny) as day_amount_cny
    from orders
    group by customer_id, ordered_on
),

per_customer as (
    select
        customer_id,
        min(ordered_on) as first_purchase_on,
        max(ordered_on) as last_purchase_on,
        count(*) - 1 as frequency_x,
        sum(day_amount_cny) - arg_min(day_amount_cny, ordered_on) as repeat_spend_cny
    from purchase_days
    group by customer_id
)

select
    customer_id,
    frequency_x,
    date_diff('day', first_purchase_on, last_purchase_on) / 7.0 as recency_t_x,
    date_diff('day', first_purchase_on, getvariable('as_of')) / 7.0 as age_t,
    repeat_spend_cny / nullif(frequency_x, 0) as mean_repeat_spend_cny
from per_customer;

create or replace table floor_customer_value as
with per_customer as (
    select
        customer_id,
        max(ordered_on) filter (where not is_credit_note) as last_order_on,
        count(*) filter (where not is_credit_note) as invoices,
        sum(amount_cny) as revenue_cny
    from floor_orders
    group by customer_id
),

joined as (
    select
        customers.customer_id,
        per_customer.last_order_on,
        coalesce(per_customer.invoices, 0) as invoices,
        coalesce(per_customer.revenue_cny, 0) as revenue_cny,
        date_diff('day', per_customer.last_order_on, getvariable('as_of')) as recency_days
    from floor_customers as customers
    left join per_customer on customers.customer_id = per_customer.customer_id
)

select
    customer_id,
    recency_days,
    invoices,
    revenue_cny,
    case when last_order_on is not null then ntile(5) over recency_order end as r_score,
    case when last_order_on is not null then ntile(5) over frequency_order end as f_score,
    case when last_order_on is not null then ntile(5) over monetary_order end as m_score
from joined
window
    recency_order as (
        partition by last_order_on is null order by recency_days desc, customer_id asc
    ),
    frequency_order as (partition by last_order_on is null order by invoices, customer_id),
    monetary_order as (partition by last_order_on is null order by revenue_cny, customer_id);
