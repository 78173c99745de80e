-- Lifecycle stage (METRICS G3) of every customer at every month end of the spine (as_of for
-- the current month), with the features the rules read. The rules, their thresholds and their
-- order of evaluation are the seed lifecycle_rules: a customer gets the first stage, in
-- evaluation_order, whose rule holds ('unclassified' when none does).
-- Features at the month end:
--   tenure_days             : days since acquired_on;
--   days_since_last_order   : days since the latest invoice (acquired_on if none);
--   days_since_won_back     : days since the start of the latest month the customer was won
--                             back (int_customer_months.is_won_back);
--   revenue_trailing_12m_cny: invoiced revenue (credit notes excluded) of the trailing year
--                             ending at the month end (as_of in the as_of month): the 365
--                             days of macros/windows.sql; revenue_prior_12m_cny the 365 days
--                             before those, so the two always have the same length;
--   product_line_count      : product lines taken so far (invoices and contracts).
--
-- Incremental, as int_customer_months (the state table `<model>__state`, macros/changes.sql):
-- a run rebuilds every month of a customer whose orders, contracts, churn records or
-- customer row a load since the last run added or removed with a date before the boundary
-- (the month of the stored as_of: the spine's closed months of those customers moved), and
-- the months from the boundary on of every other customer. Those sum the invoices of the
-- two years before each month end directly (the running sums below serve the customers
-- rebuilt whole), and read every product line taken and the latest month won back before
-- the boundary from the spine. Without a usable state every customer is rebuilt; the
-- post-hook deletes the rows outside the spine. A change of this model's SQL or of the
-- lifecycle_rules seed rebuilds it in full (orchestration/assets/dbt.py). On Spark the
-- model is a plain table.
{{ stored_by_customer_month() }}

{%- set days = trailing_year_days() %}
{%- set boundary = '(select boundary.boundary_on from boundary)' %}
{%- set rebuilt_customer -%}
    customer_id in (select changed_customers.customer_id from changed_customers)
{%- endset %}
with customers as (
    select * from {{ ref('stg_crm__customers') }}
),

{% if is_incremental() %}
    {{ customer_month_boundary(['orders', 'contracts', 'churn_records', 'customers']) }}

    won_back_before as (
        -- the latest month won back before the boundary, of the customers not rebuilt
        select
            customer_id,
            max(month_start_on) as last_won_back_month_on
        from {{ ref('int_customer_months') }}
        where
            is_won_back
            and month_start_on < {{ boundary }}
            and not {{ rebuilt_customer }}
        group by customer_id
    ),
{% endif %}

spine as (
    select * from {{ ref('int_customer_months') }}
    {%- if is_incremental() %}
        where month_start_on >= {{ boundary }} or {{ rebuilt_customer }}
    {%- endif %}
),

orders as (
    select * from {{ ref('fct_orders') }}
),

invoices as (
    select * from orders
    where not is_credit_note
),

stepped_invoices as (
    -- the invoices of the customers whose every month is rebuilt (every customer on a full
    -- build), summed by the running windows below
    select * from invoices
    {%- if is_incremental() %}
        where {{ rebuilt_customer }}
    {%- endif %}
),

stepped_months as (
    select * from spine
    {%- if is_incremental() %}
        where {{ rebuilt_customer }}
    {%- endif %}
),

contracts as (
    select * from {{ ref('fct_contracts') }}
),

rules as (
    select * from {{ ref('lifecycle_rules') }}
),

purchases as (
    -- Invoices and contract starts: the customer bought this product line on this day.
    select
        customer_id,
        product_line,
        ordered_on as bought_on
    from invoices
    union all
    select
        customer_id,
        product_line,
        start_on as bought_on
    from contracts
),

first_purchases as (
    select
        customer_id,
        min(bought_on) as first_bought_on
    from purchases
    group by customer_id
),

product_lines_taken as (
    select
        customer_id,
        product_line,
        min(bought_on) as first_bought_on
    from purchases
    group by
        customer_id,
        product_line
),

line_counts as (
    select
        spine.customer_id,
        spine.month_start_on,
        count(*) as product_line_count
    from spine
    inner join product_lines_taken
        on
            spine.customer_id = product_lines_taken.customer_id
            and spine.month_end_on >= product_lines_taken.first_bought_on
    group by
        spine.customer_id,
        spine.month_start_on
),

revenue_steps as (
    -- Each invoice enters the trailing year on its day, leaves it (and enters the prior year)
    -- 365 days later and leaves the prior year 365 days after that; a running sum of these
    -- steps, month ends sorted after the steps of their day, gives both windows at every
    -- month end in one pass over the orders rather than every month joined to every order.
    {%- set steps = [
        ('ordered_on', 'amount_cny', '0'),
        (dbt.dateadd('day', days, 'ordered_on'), '-1 * amount_cny', 'amount_cny'),
        (dbt.dateadd('day', 2 * days, 'ordered_on'), '0', '-1 * amount_cny'),
    ] %}
    {%- for stepped_on, trailing_step, prior_step in steps %}
        select
            customer_id,
            cast({{ stepped_on }} as date) as stepped_on,
            0 as is_month_end,
            cast(null as date) as month_start_on,
            {{ trailing_step }} as trailing_step,
            {{ prior_step }} as prior_step
        from stepped_invoices
        union all
    {%- endfor %}
    select
        customer_id,
        month_end_on as stepped_on,
        1 as is_month_end,
        month_start_on,
        0 as trailing_step,
        0 as prior_step
    from stepped_months
),

revenue_sums as (
    select
        customer_id,
        month_start_on,
        is_month_end,
        sum(trailing_step) over (
            partition by customer_id order by stepped_on, is_month_end
            rows between unbounded preceding and current row
        ) as revenue_trailing_12m_cny,
        sum(prior_step) over (
            partition by customer_id order by stepped_on, is_month_end
            rows between unbounded preceding and current row
        ) as revenue_prior_12m_cny
    from revenue_steps
),

revenue_windows as (
    select
        customer_id,
        month_start_on,
        revenue_trailing_12m_cny,
        revenue_prior_12m_cny
    from revenue_sums
    where is_month_end = 1
    {%- if is_incremental() %}
        union all
        -- the months from the boundary on of every other customer: the invoices of the two
        -- windows before each month end, summed directly (a month or two per customer,
        -- where the running sum would sort two years of invoices)
        select
            spine.customer_id,
            spine.month_start_on,
            sum(
                case
                    when {{ is_in_trailing_year('invoices.ordered_on', 'spine.month_end_on') }}
                        then invoices.amount_cny
                    else 0
                end
            ) as revenue_trailing_12m_cny,
            sum(
                case
                    when {{ is_in_trailing_year(
                        'invoices.ordered_on', 'spine.month_end_on', years_before=1
                    ) }}
                        then invoices.amount_cny
                    else 0
                end
            ) as revenue_prior_12m_cny
        from spine
        inner join invoices
            on
                spine.customer_id = invoices.customer_id
                and invoices.ordered_on <= spine.month_end_on
                and invoices.ordered_on > {{ dbt.dateadd('day', -2 * days, 'spine.month_end_on') }}
        where not spine.{{ rebuilt_customer }}
        group by
            spine.customer_id,
            spine.month_start_on
    {%- endif %}
),

windows as (
    select
        spine.customer_id,
        spine.month_start_on,
        spine.month_end_on,
        spine.is_active,
        customers.acquired_on,
        coalesce(spine.last_ordered_on, customers.acquired_on) as last_ordered_or_acquired_on,
        coalesce(first_purchases.first_bought_on <= spine.month_end_on, false) as has_started,
        {%- set last_won_back %}
            max(case when spine.is_won_back then spine.month_start_on end) over (
                partition by spine.customer_id order by spine.month_start_on
                rows between unbounded preceding and current row
            )
        {%- endset %}
        {%- if is_incremental() %}
            coalesce({{ last_won_back }}, won_back_before.last_won_back_month_on)
        {%- else %}
            {{ last_won_back }}
        {%- endif %} as last_won_back_month_on,
        revenue_windows.revenue_trailing_12m_cny,
        revenue_windows.revenue_prior_12m_cny,
        coalesce(line_counts.product_line_count, 0) as product_line_count
    from spine
    inner join customers
        on spine.customer_id = customers.customer_id
    left join first_purchases
        on spine.customer_id = first_purchases.customer_id
    {%- if is_incremental() %}
        left join won_back_before
            on spine.customer_id = won_back_before.customer_id
    {%- endif %}
    left join line_counts
        on
            spine.customer_id = line_counts.customer_id
            and spine.month_start_on = line_counts.month_start_on
    left join revenue_windows
        on
            spine.customer_id = revenue_windows.customer_id
            and spine.month_start_on = revenue_windows.month_start_on
),

features as (
    select
        customer_id,
        month_start_on,
        month_end_on,
        is_active,
        has_started,
        {{ dbt.datediff('acquired_on', 'month_end_on', 'day') }}
            as tenure_days,
        {{ dbt.datediff('last_ordered_or_acquired_on', 'month_end_on', 'day') }}
            as days_since_last_order,
        {{ dbt.datediff('last_won_back_month_on', 'month_end_on', 'day') }}
            as days_since_won_back,
        coalesce(revenue_trailing_12m_cny, 0) as revenue_trailing_12m_cny,
        coalesce(revenue_prior_12m_cny, 0) as revenue_prior_12m_cny,
        product_line_count
    from windows
),

evaluated as (
    select
        features.customer_id,
        features.month_start_on,
        rules.stage,
        rules.evaluation_order,
        case rules.stage
            when 'prospect' then not features.has_started
            when 'churned' then features.has_started and not features.is_active
            when 'at_risk'
                then features.is_active and features.days_since_last_order >= rules.threshold
            when 'won_back'
                then features.is_active and features.days_since_won_back < rules.threshold
            when 'new' then features.is_active and features.tenure_days < rules.threshold
            when 'growing'
                then
                    features.is_active
                    and features.revenue_trailing_12m_cny > 0
                    and features.revenue_trailing_12m_cny * 100
                    >= features.revenue_prior_12m_cny * (100 + rules.threshold)
            when 'mature' then features.is_active
            else false
        end as is_match
    from features
    cross join rules
),

matches as (
    select
        customer_id,
        month_start_on,
        stage,
        row_number() over (
            partition by customer_id, month_start_on
            order by evaluation_order
        ) as match_rank
    from evaluated
    where is_match
),

final as (
    select
        features.customer_id,
        features.month_start_on,
        features.month_end_on,
        features.is_active,
        features.has_started,
        cast(features.tenure_days as {{ dbt.type_bigint() }}) as tenure_days,
        cast(features.days_since_last_order as {{ dbt.type_bigint() }})
            as days_since_last_order,
        cast(features.days_since_won_back as {{ dbt.type_bigint() }}) as days_since_won_back,
        cast(features.revenue_trailing_12m_cny as {{ dbt.type_numeric() }})
            as revenue_trailing_12m_cny,
        cast(features.revenue_prior_12m_cny as {{ dbt.type_numeric() }})
            as revenue_prior_12m_cny,
        cast(features.product_line_count as {{ dbt.type_bigint() }}) as product_line_count,
        coalesce(matches.stage, 'unclassified') as lifecycle_stage
    from features
    left join matches
        on
            features.customer_id = matches.customer_id
            and features.month_start_on = matches.month_start_on
            and matches.match_rank = 1
)

select * from final
