-- Renewal, churn-reason and churn-cost indicators (METRICS B3, B5, B6) in the tidy shape of
-- loyalty_indicators, per period (month, quarter, year) and slice.
--   B3 standard        contracts renewed / contracts that came up for renewal: contracts whose
--                      end_on (on or before as_of) falls in the period; renewed = a contract
--                      signed by as_of names it in renewal_of. Early terminations count as
--                      not renewed at their end_on. Customer slices and 'product_line'.
--   B3 customer_based  customers with a renewed contract / customers with a contract up for
--                      renewal in the period.
--   B3 seed_002        seed 002's "renewed customers / all customers": customers with a
--                      renewed contract up in the period / customers active in the period
--                      (loyalty_retention; customer slices only).
--   Customers lost in a period are those of loyalty_retention (B2): active at the period's
--   start, not at its end. Their churn event is the last churned month of the spine in the
--   period; its reason is the first churn record (int_churn_reasons) dated on or after that
--   month and before the customer's next churn, else 'unrecorded'.
--   B5 reason:<category>        customers lost with that reason (count, denominator = 1);
--   B5 reason_share:<category>  the same / all customers lost in the period and slice;
--   B5 lost_revenue:<category>  their lost revenue as in B6 standard (cny, denominator = 1).
--   B5 rows exist for each category ('unrecorded' when no record documents the churn) that
--   lost a customer in the period and slice; summed over the categories, reason:… gives
--   B2's numerator (customers_lost of loyalty_retention).
--   B6 standard        lost revenue: invoiced revenue (CNY, credit notes excluded) of the
--                      lost customers in the trailing year up to their last invoice before
--                      the churn (the 365 days of macros/windows.sql; a customer who lapses
--                      after the 365-day activity window bought nothing in the year before
--                      the churn month itself; without any invoice, the year up to the churn
--                      month's end); sum, denominator = 1.
--   B6 to_churn_month  the literal reading: revenue in the 365 days up to the churn month's
--                      end (as_of when the churn month is the as_of month).
--   B6 has a row (0 when nobody was lost) for every period and slice with customers (those of
--   int_retention_bridges, from the same spine and slices); the losses themselves are sought
--   only in the customer periods with a churned month.
-- The cohort rows (B8) are not here: loyalty_indicators makes them from
-- int_cohort_retention_curves, which a copy here wrote once more (21 M of this table's 29 M
-- rows at 1,000,000 customers).
-- Not items of indicator_fanout (macros/indicators.sql): B3 is per contract with a product-line
-- slice and B3 seed_002 spans every period and slice with customers; B5 and B6 are sums over
-- the customers lost in a period (a state change on the spine, not a dated item). Their rows
-- come from indicator_rows.
{%- set lost_revenue = 'cast(lost_revenue_cny as ' ~ type_double() ~ ')' %}
with contracts as (
    select * from {{ ref('fct_contracts') }}
),

orders as (
    select * from {{ ref('fct_orders') }}
),

spine as (
    select * from {{ ref('int_customer_months') }}
),

churn_reasons as (
    select * from {{ ref('int_churn_reasons') }}
),

slices as (
    select * from {{ ref('int_customer_slices') }}
),

retention as (
    select * from {{ ref('int_retention_bridges') }}
),

grains as (
    {{ period_grains() }}
),

-- B3 ---------------------------------------------------------------------------------------

renewed_contracts as (
    select distinct renewal_of as contract_id
    from contracts
    where renewal_of is not null
),

contracts_up as (
    select
        contracts.contract_id,
        contracts.customer_id,
        contracts.product_line,
        contracts.end_on,
        case when renewed_contracts.contract_id is not null then 1 else 0 end as renewed_flag
    from contracts
    left join renewed_contracts
        on contracts.contract_id = renewed_contracts.contract_id
    where contracts.end_on <= {{ as_of_date() }}
),

contract_periods as (
    select
        contracts_up.*,
        grains.period_grain,
        {{ period_start_by_grain('grains.period_grain', 'contracts_up.end_on') }} as period_start_on
    from contracts_up
    cross join grains
),

contract_slices as (
    select
        contract_periods.*,
        slices.slice_type,
        slices.slice_value
    from contract_periods
    inner join slices
        on contract_periods.customer_id = slices.customer_id
    union all
    select
        contract_periods.*,
        'product_line' as slice_type,
        contract_periods.product_line as slice_value
    from contract_periods
),

customer_renewals as (
    select
        customer_id,
        period_grain,
        period_start_on,
        slice_type,
        slice_value,
        max(renewed_flag) as renewed_flag
    from contract_slices
    group by
        customer_id,
        period_grain,
        period_start_on,
        slice_type,
        slice_value
),

renewal_contract_totals as (
    select
        period_grain,
        period_start_on,
        slice_type,
        slice_value,
        sum(renewed_flag) as contracts_renewed,
        count(*) as contracts_up
    from contract_slices
    group by
        period_grain,
        period_start_on,
        slice_type,
        slice_value
),

renewal_customer_totals as (
    select
        period_grain,
        period_start_on,
        slice_type,
        slice_value,
        sum(renewed_flag) as customers_renewed,
        count(*) as customers_up
    from customer_renewals
    group by
        period_grain,
        period_start_on,
        slice_type,
        slice_value
),

renewal_seed_002 as (
    select
        retention.period_grain,
        retention.period_start_on,
        retention.slice_type,
        retention.slice_value,
        retention.customers_active_in_period,
        coalesce(renewal_customer_totals.customers_renewed, 0) as customers_renewed
    from retention
    left join renewal_customer_totals
        on {{ same_period_and_slice('retention', 'renewal_customer_totals') }}
),

renewal_rows as (
    {{ indicator_rows([
        {'variant': 'standard', 'numerator': 'contracts_renewed', 'denominator': 'contracts_up',
         'n': 'contracts_up', 'from': 'renewal_contract_totals'},
        {'variant': 'customer_based', 'numerator': 'customers_renewed',
         'denominator': 'customers_up', 'n': 'customers_up', 'from': 'renewal_customer_totals'},
        {'variant': 'seed_002', 'numerator': 'customers_renewed',
         'denominator': 'customers_active_in_period', 'n': 'customers_active_in_period',
         'from': 'renewal_seed_002'},
    ], defaults={'code': 'B3', 'unit': 'rate'}) }}
),

-- B5, B6 -----------------------------------------------------------------------------------

churn_events as (
    select
        customer_id,
        month_start_on as churn_month_on,
        month_end_on as churn_month_end_on,
        coalesce(last_ordered_on, month_end_on) as lost_revenue_end_on,
        lead(month_start_on) over (
            partition by customer_id order by month_start_on
        ) as next_churn_month_on
    from spine
    where is_churned
),

event_records as (
    select
        churn_events.customer_id,
        churn_events.churn_month_on,
        churn_reasons.reason_category,
        row_number() over (
            partition by churn_events.customer_id, churn_events.churn_month_on
            order by churn_reasons.churned_on, churn_reasons.churn_id
        ) as record_rank
    from churn_events
    inner join churn_reasons
        on
            churn_events.customer_id = churn_reasons.customer_id
            and churn_events.churn_month_on <= churn_reasons.churned_on
            and (
                churn_events.next_churn_month_on is null
                or churn_events.next_churn_month_on > churn_reasons.churned_on
            )
),

event_revenue as (
    -- Each churn's invoices of the two trailing years (macros/windows.sql) ending at the last
    -- invoice and at the churn month's end; the first ends on or before the second.
    select
        churn_events.customer_id,
        churn_events.churn_month_on,
        sum(
            case
                when
                    {{ is_in_trailing_year(
                        'orders.ordered_on', 'churn_events.lost_revenue_end_on'
                    ) }}
                    then orders.amount_cny
                else 0
            end
        ) as lost_revenue_cny,
        sum(
            case
                when
                    {{ is_in_trailing_year(
                        'orders.ordered_on', 'churn_events.churn_month_end_on'
                    ) }}
                    then orders.amount_cny
                else 0
            end
        ) as revenue_to_churn_month_cny
    from churn_events
    inner join orders
        on
            churn_events.customer_id = orders.customer_id
            and churn_events.churn_month_end_on >= orders.ordered_on
            and {{ dbt.dateadd(
                'day', -1 * trailing_year_days(), 'churn_events.lost_revenue_end_on'
            ) }} < orders.ordered_on
    where not orders.is_credit_note
    group by
        churn_events.customer_id,
        churn_events.churn_month_on
),

churn_event_details as (
    select
        churn_events.customer_id,
        churn_events.churn_month_on,
        coalesce(event_records.reason_category, 'unrecorded') as reason_category,
        coalesce(event_revenue.lost_revenue_cny, 0) as lost_revenue_cny,
        coalesce(event_revenue.revenue_to_churn_month_cny, 0) as revenue_to_churn_month_cny
    from churn_events
    left join event_records
        on
            churn_events.customer_id = event_records.customer_id
            and churn_events.churn_month_on = event_records.churn_month_on
            and event_records.record_rank = 1
    left join event_revenue
        on
            churn_events.customer_id = event_revenue.customer_id
            and churn_events.churn_month_on = event_revenue.churn_month_on
),

churn_periods as (
    -- the customer periods with a churned month, the only ones where a customer can be lost
    -- (active at the period's start and not at its end, it churned in one of its months)
    select
        spine.customer_id,
        grains.period_grain,
        {{ period_start_by_grain('grains.period_grain', 'spine.month_start_on') }}
            as period_start_on,
        max(spine.month_start_on) as last_churn_month_on
    from spine
    cross join grains
    where spine.is_churned
    group by
        spine.customer_id,
        grains.period_grain,
        {{ period_start_by_grain('grains.period_grain', 'spine.month_start_on') }}
),

period_bounds as (
    select
        churn_periods.customer_id,
        churn_periods.period_grain,
        churn_periods.period_start_on,
        min(spine.month_start_on) as first_month_on,
        max(spine.month_start_on) as last_month_on,
        max(churn_periods.last_churn_month_on) as last_churn_month_on
    from churn_periods
    inner join spine
        on
            churn_periods.customer_id = spine.customer_id
            and churn_periods.period_start_on <= spine.month_start_on
            and {{ next_period_start_by_grain(
                'churn_periods.period_grain', 'churn_periods.period_start_on'
            ) }} > spine.month_start_on
    group by
        churn_periods.customer_id,
        churn_periods.period_grain,
        churn_periods.period_start_on
),

customer_losses as (
    select
        period_bounds.customer_id,
        period_bounds.period_grain,
        period_bounds.period_start_on,
        case
            when first_month.was_active_at_start and not last_month.is_active then 1
            else 0
        end as lost_flag,
        period_bounds.last_churn_month_on
    from period_bounds
    inner join spine as first_month
        on
            period_bounds.customer_id = first_month.customer_id
            and period_bounds.first_month_on = first_month.month_start_on
    inner join spine as last_month
        on
            period_bounds.customer_id = last_month.customer_id
            and period_bounds.last_month_on = last_month.month_start_on
),

lost_customers as (
    select
        customer_losses.customer_id,
        customer_losses.period_grain,
        customer_losses.period_start_on,
        customer_losses.lost_flag,
        case
            when customer_losses.lost_flag = 1 then churn_event_details.reason_category
        end as reason_category,
        case
            when customer_losses.lost_flag = 1 then churn_event_details.lost_revenue_cny
            else 0
        end as lost_revenue_cny,
        case
            when customer_losses.lost_flag = 1
                then churn_event_details.revenue_to_churn_month_cny
            else 0
        end as revenue_to_churn_month_cny
    from customer_losses
    left join churn_event_details
        on
            customer_losses.customer_id = churn_event_details.customer_id
            and customer_losses.last_churn_month_on = churn_event_details.churn_month_on
),

lost_sliced as (
    select
        lost_customers.*,
        slices.slice_type,
        slices.slice_value
    from lost_customers
    inner join slices
        on lost_customers.customer_id = slices.customer_id
    where lost_customers.lost_flag = 1
),

lost_totals as (
    select
        period_grain,
        period_start_on,
        slice_type,
        slice_value,
        sum(lost_flag) as customers_lost,
        sum(lost_revenue_cny) as lost_revenue_cny,
        sum(revenue_to_churn_month_cny) as revenue_to_churn_month_cny
    from lost_sliced
    group by
        period_grain,
        period_start_on,
        slice_type,
        slice_value
),

loss_totals as (
    -- every period and slice with customers (those of int_retention_bridges, from the same
    -- spine and slices), 0 where nobody was lost
    select
        retention.period_grain,
        retention.period_start_on,
        retention.slice_type,
        retention.slice_value,
        coalesce(lost_totals.customers_lost, 0) as customers_lost,
        coalesce(lost_totals.lost_revenue_cny, 0) as lost_revenue_cny,
        coalesce(lost_totals.revenue_to_churn_month_cny, 0) as revenue_to_churn_month_cny
    from retention
    left join lost_totals
        on {{ same_period_and_slice('retention', 'lost_totals') }}
),

loss_reason_totals as (
    select
        period_grain,
        period_start_on,
        slice_type,
        slice_value,
        reason_category,
        count(*) as customers_lost,
        sum(lost_revenue_cny) as lost_revenue_cny
    from lost_sliced
    where lost_flag = 1
    group by
        period_grain,
        period_start_on,
        slice_type,
        slice_value,
        reason_category
),

reason_grid as (
    select
        loss_reason_totals.period_grain,
        loss_reason_totals.period_start_on,
        loss_reason_totals.slice_type,
        loss_reason_totals.slice_value,
        loss_reason_totals.reason_category,
        loss_reason_totals.customers_lost,
        loss_reason_totals.lost_revenue_cny,
        loss_totals.customers_lost as customers_lost_all
    from loss_reason_totals
    inner join loss_totals
        on {{ same_period_and_slice('loss_reason_totals', 'loss_totals') }}
),

churn_reason_rows as (
    {{ indicator_rows([
        {'variant_sql': dbt.concat(["'reason:'", 'reason_category']),
         'numerator': 'customers_lost', 'unit': 'count', 'n': 'customers_lost'},
        {'variant_sql': dbt.concat(["'reason_share:'", 'reason_category']),
         'numerator': 'customers_lost', 'denominator': 'customers_lost_all', 'unit': 'rate',
         'n': 'customers_lost_all'},
        {'variant_sql': dbt.concat(["'lost_revenue:'", 'reason_category']),
         'numerator': lost_revenue, 'unit': 'cny', 'n': 'customers_lost'},
    ], defaults={'code': 'B5', 'from': 'reason_grid'}) }}
),

churn_cost_rows as (
    {{ indicator_rows([
        {'variant': 'standard', 'numerator': lost_revenue},
        {'variant': 'to_churn_month',
         'numerator': 'cast(revenue_to_churn_month_cny as ' ~ type_double() ~ ')'},
    ], defaults={'code': 'B6', 'unit': 'cny', 'n': 'customers_lost', 'from': 'loss_totals'}) }}
),

final as (
    select * from renewal_rows
    union all
    select * from churn_reason_rows
    union all
    select * from churn_cost_rows
)

select
    final.*,
    {{ is_complete_period('final.period_grain', 'final.period_start_on') }} as is_complete_period
from final
