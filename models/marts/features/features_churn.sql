-- The churn early warning's features and labels (orchestration/churn, METRICS H4, H5): one
-- row per cutoff and customer, for the backtest cutoffs and for as_of, every column defined
-- in _features__models.yml. Point in time: a cutoff is a day; the features read only rows
-- dated strictly before it, the population is the spine's activity rule (is_active_on,
-- macros/activity.sql) at the end of the day before (rows dated on or before that day), and
-- the label looks at the var('churn_window_days') days from the cutoff on.
-- Cutoffs: month starts var('churn_cutoff_spacing_months') apart, going back from the month
-- start of as_of − var('churn_window_days') (its label window has closed by as_of), at most
-- var('churn_cutoffs'), each with a year of orders before it; and as_of + 1 day (features
-- from rows dated up to as_of, no label), which the model scores.
-- Rows: every customer acquired by the day before the cutoff or with an invoice before it,
-- so that the Pareto/NBD benchmark is fitted on every buyer; the model learns from and
-- scores the rows with is_active_at_cutoff.
with customers as (
    select * from {{ ref('dim_customers') }}
),

orders as (
    select * from {{ ref('stg_crm__orders') }}
),

complaints as (
    select * from {{ ref('stg_crm__complaints') }}
),

interactions as (
    select * from {{ ref('stg_crm__interactions') }}
),

contracts as (
    select * from {{ ref('stg_crm__contracts') }}
),

assignments as (
    select * from {{ ref('stg_crm__account_assignments') }}
),

churn_records as (
    select * from {{ ref('stg_crm__churn_records') }}
),

customer_months as (
    select * from {{ ref('int_customer_months') }}
),

survey_answers as (
    select * from {{ ref('fct_survey_answers') }}
),

dates as (
    select * from {{ ref('dim_dates') }}
),

reporting_day as (
    select cast({{ as_of_date() }} as date) as as_of_on
),

latest_cutoff as (
    -- the latest month start whose label window has closed by as_of
    select
        as_of_on,
        {{ period_start('month', dbt.dateadd('day', -var('churn_window_days'), 'as_of_on')) }}
            as latest_cutoff_on
    from reporting_day
),

first_order as (
    select min(ordered_on) as first_ordered_on
    from orders
),

month_starts as (
    select distinct month_start_on
    from dates
),

backtest_months as (
    select
        month_starts.month_start_on as cutoff_on,
        latest_cutoff.as_of_on,
        first_order.first_ordered_on,
        cast(
            {{ dbt.datediff(
                'month_starts.month_start_on', 'latest_cutoff.latest_cutoff_on', 'month'
            ) }}
            as {{ dbt.type_int() }}
        ) as months_before_latest
    from month_starts
    cross join latest_cutoff
    cross join first_order
    where month_starts.month_start_on <= latest_cutoff.latest_cutoff_on
),

cutoffs as (
    -- a backtest cutoff carries the last day of its label window (none for scoring)
    select
        cutoff_on,
        as_of_on,
        false as is_scoring_cutoff,
        cast({{ dbt.dateadd('day', var('churn_window_days'), 'cutoff_on') }} as date)
            as label_window_end_on
    from backtest_months
    where
        mod(months_before_latest, {{ var('churn_cutoff_spacing_months') }}) = 0
        and months_before_latest
        < {{ var('churn_cutoff_spacing_months') }} * {{ var('churn_cutoffs') }}
        and cutoff_on >= cast({{ dbt.dateadd('year', 1, 'first_ordered_on') }} as date)
    union all
    select
        cast({{ dbt.dateadd('day', 1, 'as_of_on') }} as date) as cutoff_on,
        as_of_on,
        true as is_scoring_cutoff,
        cast(null as date) as label_window_end_on
    from reporting_day
),

source_availability as (
    -- rows dated up to as_of per source table: a feature whose table has none is left out
    -- (NULL in every row)
    select
        (
            select count(*) from orders
            where orders.ordered_on <= {{ as_of_date() }}
        ) as order_rows,
        (
            select count(*) from complaints
            where cast(complaints.opened_at as date) <= {{ as_of_date() }}
        ) as complaint_rows,
        (
            select count(*) from interactions
            where cast(interactions.occurred_at as date) <= {{ as_of_date() }}
        ) as interaction_rows,
        (
            select count(*) from contracts
            where contracts.start_on <= {{ as_of_date() }}
        ) as contract_rows,
        (
            select count(*) from assignments
            where assignments.assigned_from <= {{ as_of_date() }}
        ) as assignment_rows,
        (
            select count(*) from survey_answers
            where
                survey_answers.survey_kind = 'satisfaction'
                and survey_answers.submitted_on <= {{ as_of_date() }}
        ) as satisfaction_rows
    from reporting_day
),

known_customers as (
    select customer_id from customers
    union
    select customer_id from orders
),

customer_keys as (
    select
        customer_id,
        row_number() over (order by customer_id) as customer_key
    from known_customers
),

invoices as (
    select
        cutoffs.cutoff_on,
        orders.customer_id,
        orders.ordered_on,
        {{ dbt.datediff('orders.ordered_on', 'cutoffs.cutoff_on', 'day') }}
            as days_before
    from cutoffs
    inner join orders
        on cutoffs.cutoff_on > orders.ordered_on
    where not orders.is_credit_note
),

invoice_facts as (
    select
        cutoff_on,
        customer_id,
        sum(case when days_before <= 90 then 1 else 0 end) as orders_90d,
        sum(case when days_before <= 180 then 1 else 0 end) as orders_180d,
        sum(case when days_before <= 365 then 1 else 0 end) as orders_365d,
        sum(case when days_before > 180 and days_before <= 360 then 1 else 0 end)
            as orders_previous_180d,
        min(days_before) as days_since_last_invoice,
        count(distinct ordered_on) as invoice_day_count,
        min(ordered_on) as first_invoiced_on,
        max(ordered_on) as last_invoiced_on
    from invoices
    group by cutoff_on, customer_id
),

complaint_facts as (
    select
        cutoff_on,
        customer_id,
        sum(case when days_before <= 180 then 1 else 0 end) as complaints_180d,
        sum(case when days_before > 180 and days_before <= 360 then 1 else 0 end)
            as complaints_previous_180d
    from (
        select
            cutoffs.cutoff_on,
            complaints.customer_id,
            {{ dbt.datediff('cast(complaints.opened_at as date)', 'cutoffs.cutoff_on', 'day') }}
                as days_before
        from cutoffs
        inner join complaints
            on cast(complaints.opened_at as date) < cutoffs.cutoff_on
    ) as dated
    group by cutoff_on, customer_id
),

interaction_facts as (
    select
        cutoffs.cutoff_on,
        interactions.customer_id,
        min(
            {{ dbt.datediff(
                'cast(interactions.occurred_at as date)', 'cutoffs.cutoff_on', 'day'
            ) }}
        ) as days_since_last_interaction
    from cutoffs
    inner join interactions
        on cast(interactions.occurred_at as date) < cutoffs.cutoff_on
    group by cutoffs.cutoff_on, interactions.customer_id
),

satisfaction_responses as (
    -- each satisfaction response before the cutoff: its mean score, latest first
    select
        cutoff_on,
        customer_id,
        response_score_pct,
        row_number() over (
            partition by cutoff_on, customer_id
            order by submitted_on desc, response_id desc
        ) as recency_rank
    from (
        select
            cutoffs.cutoff_on,
            survey_answers.customer_id,
            survey_answers.response_id,
            max(survey_answers.submitted_on) as submitted_on,
            -- summed exactly (decimal), so the mean does not depend on the order the
            -- answers arrive in, nor on the engine
            cast(
                sum(cast(survey_answers.score_of_max_pct as decimal(38, 20)))
                as {{ type_double() }}
            )
            / count(survey_answers.score_of_max_pct) as response_score_pct
        from cutoffs
        inner join survey_answers
            on cutoffs.cutoff_on > survey_answers.submitted_on
        where
            survey_answers.survey_kind = 'satisfaction'
            and survey_answers.score_of_max_pct is not null
        group by cutoffs.cutoff_on, survey_answers.customer_id, survey_answers.response_id
    ) as responses
),

satisfaction_facts as (
    select
        cutoff_on,
        customer_id,
        max(case when recency_rank = 1 then response_score_pct end) as satisfaction_latest_pct,
        max(case when recency_rank = 1 then response_score_pct end)
        - max(case when recency_rank = 2 then response_score_pct end) as satisfaction_change_pct
    from satisfaction_responses
    where recency_rank <= 2
    group by cutoff_on, customer_id
),

manager_changes as (
    -- a spell whose manager differs from the customer's previous spell
    select
        customer_id,
        assigned_from
    from (
        select
            customer_id,
            manager_id,
            assigned_from,
            lag(manager_id) over (partition by customer_id order by assigned_from)
                as previous_manager_id
        from assignments
    ) as spells
    where previous_manager_id is not null and manager_id <> previous_manager_id
),

manager_facts as (
    select distinct
        cutoffs.cutoff_on,
        manager_changes.customer_id
    from cutoffs
    inner join manager_changes
        on
            cutoffs.cutoff_on > manager_changes.assigned_from
            and cast({{ dbt.dateadd('day', -365, 'cutoffs.cutoff_on') }} as date)
            <= manager_changes.assigned_from
),

contracts_signed as (
    -- contracts signed before the cutoff; a contract terminated on or after the cutoff ends
    -- at its planned end (start + the median term of the contracts that ran their course)
    select
        cutoffs.cutoff_on,
        contracts.customer_id,
        contracts.start_on,
        contracts.end_on,
        coalesce(lower(contracts.status) = 'terminated', false) as is_terminated,
        1 + {{ dbt.datediff('contracts.start_on', 'contracts.end_on', 'day') }}
            as term_days
    from cutoffs
    inner join contracts
        on cutoffs.cutoff_on > contracts.start_on
),

median_terms as (
    select
        cutoff_on,
        {{ percentile('term_days', 0.5) }} as median_term_days
    from contracts_signed
    where not is_terminated
    group by cutoff_on
),

planned_contracts as (
    select
        contracts_signed.cutoff_on,
        contracts_signed.customer_id,
        contracts_signed.start_on,
        contracts_signed.end_on,
        case
            when
                contracts_signed.is_terminated
                and contracts_signed.end_on >= contracts_signed.cutoff_on
                and median_terms.median_term_days is not null
                then cast({{ dbt.dateadd(
                    'day',
                    'cast(floor(median_terms.median_term_days - 1) as integer)',
                    'contracts_signed.start_on',
                ) }} as date)
            else contracts_signed.end_on
        end as planned_end_on
    from contracts_signed
    left join median_terms
        on contracts_signed.cutoff_on = median_terms.cutoff_on
),

contract_facts as (
    select
        cutoff_on,
        customer_id,
        max(start_on) as last_contract_start_on,
        max(end_on) as last_contract_end_on,
        max(
            case
                when end_on >= cast({{ dbt.dateadd('day', -1, 'cutoff_on') }} as date) then 1
                else 0
            end
        ) as open_day_before_flag,
        min(
            case
                when planned_end_on >= cutoff_on
                    then {{ dbt.datediff('cutoff_on', 'planned_end_on', 'day') }}
            end
        ) as days_to_planned_end
    from planned_contracts
    group by cutoff_on, customer_id
),

churn_record_facts as (
    select
        cutoffs.cutoff_on,
        churn_records.customer_id,
        max(churn_records.churned_on) as last_churned_on
    from cutoffs
    inner join churn_records
        on cutoffs.cutoff_on > churn_records.churned_on
    group by cutoffs.cutoff_on, churn_records.customer_id
),

churners as (
    -- churned in the label window: a churned month of the spine ending in it, or a churn record
    select
        cutoffs.cutoff_on,
        customer_months.customer_id
    from cutoffs
    inner join customer_months
        on
            cutoffs.cutoff_on <= customer_months.month_end_on
            and cutoffs.label_window_end_on >= customer_months.month_end_on
            and customer_months.is_churned
    where not cutoffs.is_scoring_cutoff
    union
    select
        cutoffs.cutoff_on,
        churn_records.customer_id
    from cutoffs
    inner join churn_records
        on
            cutoffs.cutoff_on <= churn_records.churned_on
            and cutoffs.label_window_end_on >= churn_records.churned_on
    where not cutoffs.is_scoring_cutoff
),

cutoff_customers as (
    select
        cutoffs.cutoff_on,
        customers.customer_id
    from cutoffs
    inner join customers
        on cutoffs.cutoff_on > customers.acquired_on
    union
    select
        cutoff_on,
        customer_id
    from invoice_facts
),

joined as (
    select
        cutoff_customers.cutoff_on,
        customer_keys.customer_key,
        cutoff_customers.customer_id,
        cutoffs.as_of_on,
        cutoffs.is_scoring_cutoff,
        cutoffs.label_window_end_on,
        cast({{ dbt.dateadd('day', -1, 'cutoff_customers.cutoff_on') }} as date)
            as day_before_cutoff_on,
        customers.acquired_on,
        {{ dbt.datediff('customers.acquired_on', 'cutoff_customers.cutoff_on', 'day') }}
            as tenure_days,
        invoice_facts.orders_90d,
        invoice_facts.orders_180d,
        invoice_facts.orders_365d,
        invoice_facts.orders_previous_180d,
        invoice_facts.days_since_last_invoice,
        invoice_facts.invoice_day_count,
        invoice_facts.first_invoiced_on,
        invoice_facts.last_invoiced_on,
        complaint_facts.complaints_180d,
        complaint_facts.complaints_previous_180d,
        interaction_facts.days_since_last_interaction,
        satisfaction_facts.satisfaction_latest_pct,
        satisfaction_facts.satisfaction_change_pct,
        manager_facts.customer_id is not null as has_manager_change,
        contract_facts.last_contract_start_on,
        contract_facts.last_contract_end_on,
        coalesce(contract_facts.open_day_before_flag, 0) = 1 as has_contract_day_before,
        contract_facts.days_to_planned_end,
        churn_record_facts.last_churned_on,
        churners.customer_id is not null as is_churner,
        source_availability.order_rows,
        source_availability.complaint_rows,
        source_availability.interaction_rows,
        source_availability.contract_rows,
        source_availability.assignment_rows,
        source_availability.satisfaction_rows
    from cutoff_customers
    inner join cutoffs
        on cutoff_customers.cutoff_on = cutoffs.cutoff_on
    inner join customer_keys
        on cutoff_customers.customer_id = customer_keys.customer_id
    cross join source_availability
    left join customers
        on cutoff_customers.customer_id = customers.customer_id
    left join invoice_facts
        on
            cutoff_customers.cutoff_on = invoice_facts.cutoff_on
            and cutoff_customers.customer_id = invoice_facts.customer_id
    left join complaint_facts
        on
            cutoff_customers.cutoff_on = complaint_facts.cutoff_on
            and cutoff_customers.customer_id = complaint_facts.customer_id
    left join interaction_facts
        on
            cutoff_customers.cutoff_on = interaction_facts.cutoff_on
            and cutoff_customers.customer_id = interaction_facts.customer_id
    left join satisfaction_facts
        on
            cutoff_customers.cutoff_on = satisfaction_facts.cutoff_on
            and cutoff_customers.customer_id = satisfaction_facts.customer_id
    left join manager_facts
        on
            cutoff_customers.cutoff_on = manager_facts.cutoff_on
            and cutoff_customers.customer_id = manager_facts.customer_id
    left join contract_facts
        on
            cutoff_customers.cutoff_on = contract_facts.cutoff_on
            and cutoff_customers.customer_id = contract_facts.customer_id
    left join churn_record_facts
        on
            cutoff_customers.cutoff_on = churn_record_facts.cutoff_on
            and cutoff_customers.customer_id = churn_record_facts.customer_id
    left join churners
        on
            cutoff_customers.cutoff_on = churners.cutoff_on
            and cutoff_customers.customer_id = churners.customer_id
),

statuses as (
    -- the spine's activity rule (is_active_on) at the end of the day before the cutoff, and
    -- the first day it calls the customer lost if nothing new happens (the later of last
    -- invoice + the activity window and the day after the latest contract end)
    select
        *,
        acquired_on < cutoff_on
        and {{ is_active_on(
            day='day_before_cutoff_on',
            acquired_on='acquired_on',
            has_open_contract='has_contract_day_before',
            last_ordered_on='last_invoiced_on',
            last_contract_started_on='last_contract_start_on',
            last_churned_on='last_churned_on',
        ) }} as is_active_at_cutoff,
        case
            when last_contract_end_on is null
                then cast({{
                    dbt.dateadd('day', var('activity_window_days'), 'last_invoiced_on')
                }} as date)
            when last_invoiced_on is null
                then cast({{ dbt.dateadd('day', 1, 'last_contract_end_on') }} as date)
            when cast({{
                    dbt.dateadd('day', var('activity_window_days'), 'last_invoiced_on')
                }} as date) > cast({{ dbt.dateadd('day', 1, 'last_contract_end_on') }} as date)
                then cast({{
                    dbt.dateadd('day', var('activity_window_days'), 'last_invoiced_on')
                }} as date)
            else cast({{ dbt.dateadd('day', 1, 'last_contract_end_on') }} as date)
        end as lapses_on,
        cast({{
            dbt.dateadd('day', -1, dbt.dateadd('month', 1, period_start('month', 'cutoff_on')))
        }} as date) as month_close_on
    from joined
),

final as (
    select
        cast(cutoff_on as date) as cutoff_on,
        cast(customer_key as bigint) as customer_key,
        customer_id,
        cast(as_of_on as date) as as_of_on,
        is_scoring_cutoff,
        coalesce(is_active_at_cutoff, false) as is_active_at_cutoff,
        coalesce(is_active_at_cutoff and lapses_on <= month_close_on, false)
            as is_lost_by_activity_rule,
        case
            when order_rows > 0 then cast(coalesce(orders_90d, 0) as integer)
        end as orders_90d,
        case
            when order_rows > 0 then cast(coalesce(orders_180d, 0) as integer)
        end as orders_180d,
        case
            when order_rows > 0 then cast(coalesce(orders_365d, 0) as integer)
        end as orders_365d,
        case
            when order_rows > 0
                then cast(coalesce(orders_180d, 0) - coalesce(orders_previous_180d, 0) as integer)
        end as order_trend_180d,
        case
            when order_rows > 0
                then cast(coalesce(days_since_last_invoice, tenure_days) as integer)
        end as days_since_last_order,
        case
            when complaint_rows > 0 then cast(coalesce(complaints_180d, 0) as integer)
        end as complaints_180d,
        case
            when complaint_rows > 0
                then cast(
                    coalesce(complaints_180d, 0) - coalesce(complaints_previous_180d, 0)
                    as integer
                )
        end as complaint_trend_180d,
        case
            when satisfaction_rows > 0 then cast(satisfaction_latest_pct as {{ type_double() }})
        end as satisfaction_latest_pct,
        case
            when satisfaction_rows > 0 then cast(satisfaction_change_pct as {{ type_double() }})
        end as satisfaction_change_pct,
        case
            when interaction_rows > 0
                then cast(coalesce(days_since_last_interaction, tenure_days) as integer)
        end as days_since_last_interaction,
        case
            when assignment_rows > 0 then case when has_manager_change then 1 else 0 end
        end as manager_changed_365d,
        case
            when contract_rows > 0 then case when days_to_planned_end is null then 0 else 1 end
        end as has_open_contract,
        case
            when contract_rows > 0
                then case
                    when days_to_planned_end is null or days_to_planned_end > 365 then 365
                    else cast(days_to_planned_end as integer)
                end
        end as days_to_contract_end,
        cast(tenure_days as integer) as tenure_days,
        cast(invoice_day_count as integer) as invoice_day_count,
        cast(first_invoiced_on as date) as first_invoiced_on,
        cast(last_invoiced_on as date) as last_invoiced_on,
        label_window_end_on,
        case when not is_scoring_cutoff then is_churner end as is_churned_in_window
    from statuses
)

select * from final
