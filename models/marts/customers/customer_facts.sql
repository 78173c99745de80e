-- One row per customer as of the as_of var (as_of_date()): tenure, lifecycle stage (G3),
-- cooperation history (G4), demand change (G5), latest satisfaction and NPS category,
-- complaints, engagement, referrals, last touch (C6), account-manager changes (G7) and churn.
-- No personal data: ids, dates, counts and scores only.
--   trailing year : the 365 days up to as_of (macros/windows.sql), the window of
--                   int_customer_lifecycle_months at the as_of month, so the demand change
--                   here is the one the lifecycle rules read; prior year: the 365 days
--                   before it;
--   revenue       : invoiced revenue in CNY, credit notes excluded (int_customer_months);
--   stage         : int_customer_lifecycle_months at the as_of month (seed lifecycle_rules);
--                   a customer not yet on the spine (acquired after as_of) is a prospect.
{%- set satisfaction_dimensions = [
    'overall_satisfaction',
    'service_quality',
    'service_efficiency',
    'professional_competence',
    'communication',
    'price_reasonableness',
    'after_sales',
    'customisation',
    'brand_image',
] %}
with customers as (
    select * from {{ ref('stg_crm__customers') }}
),

spine as (
    select * from {{ ref('int_customer_months') }}
),

lifecycle as (
    select * from {{ ref('int_customer_lifecycle_months') }}
),

orders as (
    select * from {{ ref('fct_orders') }}
),

contracts as (
    select * from {{ ref('fct_contracts') }}
),

survey_answers as (
    select * from {{ ref('fct_survey_answers') }}
),

complaints as (
    select * from {{ ref('fct_complaints') }}
),

interactions as (
    select * from {{ ref('fct_interactions') }}
),

event_attendance as (
    select * from {{ ref('fct_event_attendance') }}
),

referrals as (
    select * from {{ ref('fct_referrals') }}
),

assignments as (
    select * from {{ ref('stg_crm__account_assignments') }}
),

churn_records as (
    select * from {{ ref('stg_crm__churn_records') }}
),

dates as (
    select
        {{ as_of_date() }} as as_of_on,
        {{ period_start('month', as_of_date()) }} as as_of_month_on,
        {{ trailing_year_start() }} as trailing_start_on,
        {{ trailing_year_start(years_before=1) }} as prior_start_on
),

as_of_months as (
    select
        lifecycle.customer_id,
        lifecycle.has_started,
        lifecycle.is_active,
        lifecycle.lifecycle_stage,
        lifecycle.product_line_count,
        lifecycle.revenue_trailing_12m_cny,
        lifecycle.revenue_prior_12m_cny
    from lifecycle
    inner join dates
        on lifecycle.month_start_on = dates.as_of_month_on
),

order_history as (
    select
        orders.customer_id,
        min(orders.ordered_on) as first_ordered_on,
        max(orders.ordered_on) as last_ordered_on,
        count(*) as order_count,
        count(
            distinct case
                when orders.ordered_on >= dates.trailing_start_on then orders.product_line
            end
        ) as product_lines_trailing_12m,
        count(
            distinct case
                when
                    orders.ordered_on >= dates.prior_start_on
                    and orders.ordered_on < dates.trailing_start_on
                    then orders.product_line
            end
        ) as product_lines_prior_12m
    from orders
    cross join dates
    where not orders.is_credit_note
    group by orders.customer_id
),

contract_history as (
    select
        customer_id,
        count(*) as contract_count,
        sum(case when is_open then 1 else 0 end) as open_contract_count
    from contracts
    group by customer_id
),

satisfaction_responses as (
    -- Each customer's mean score per dimension in each questionnaire (a dimension may have
    -- several items), then the latest questionnaire that scored the dimension.
    select
        survey_answers.customer_id,
        survey_answers.dimension,
        survey_answers.response_id,
        survey_answers.submitted_on,
        avg(survey_answers.score_of_max_pct) as score_of_max_pct
    from survey_answers
    cross join dates
    where
        survey_answers.survey_kind = 'satisfaction'
        and survey_answers.submitted_on <= dates.as_of_on
    group by
        survey_answers.customer_id,
        survey_answers.dimension,
        survey_answers.response_id,
        survey_answers.submitted_on
),

latest_satisfaction as (
    select
        *,
        row_number() over (
            partition by customer_id, dimension
            order by submitted_on desc, response_id desc
        ) as response_rank
    from satisfaction_responses
),

satisfaction as (
    select
        customer_id,
        {%- for dimension in satisfaction_dimensions %}
            max(case when dimension = '{{ dimension }}' then score_of_max_pct end)
                as satisfaction_{{ dimension }}_pct,
        {%- endfor %}
        max(submitted_on) as latest_satisfaction_on
    from latest_satisfaction
    where response_rank = 1
    group by customer_id
),

nps_answers as (
    select
        survey_answers.customer_id,
        survey_answers.submitted_on,
        survey_answers.answer_value,
        row_number() over (
            partition by survey_answers.customer_id
            order by
                survey_answers.submitted_on desc,
                survey_answers.response_id desc,
                survey_answers.question_id desc
        ) as answer_rank
    from survey_answers
    cross join dates
    where
        survey_answers.dimension = 'likelihood_to_recommend'
        and survey_answers.scale_min = 0
        and survey_answers.scale_max = 10
        and survey_answers.submitted_on <= dates.as_of_on
),

nps as (
    select
        customer_id,
        submitted_on as nps_answered_on,
        answer_value as nps_answer_value,
        case
            when answer_value >= {{ var('nps_promoter_min') }} then 'promoter'
            when answer_value <= {{ var('nps_detractor_max') }} then 'detractor'
            else 'passive'
        end as nps_category
    from nps_answers
    where answer_rank = 1
),

complaint_counts as (
    select
        complaints.customer_id,
        sum(
            case
                when cast(complaints.opened_at as date) >= dates.trailing_start_on then 1 else 0
            end
        ) as complaints_trailing_12m,
        sum(case when complaints.is_open then 1 else 0 end) as open_complaint_count
    from complaints
    cross join dates
    group by complaints.customer_id
),

interaction_counts as (
    select
        interactions.customer_id,
        sum(
            case
                when cast(interactions.occurred_at as date) >= dates.trailing_start_on then 1 else 0
            end
        ) as interactions_trailing_12m,
        max(cast(interactions.occurred_at as date)) as last_touched_on
    from interactions
    cross join dates
    group by interactions.customer_id
),

event_counts as (
    select
        event_attendance.customer_id,
        count(*) as events_attended_trailing_12m
    from event_attendance
    cross join dates
    where
        event_attendance.attended
        and event_attendance.held_on >= dates.trailing_start_on
    group by event_attendance.customer_id
),

referral_counts as (
    select
        referrer_customer_id as customer_id,
        count(*) as referrals_made_count,
        sum(case when is_converted then 1 else 0 end) as referrals_converted_count
    from referrals
    group by referrer_customer_id
),

known_assignments as (
    -- The manager on as_of: an assignment open on as_of first, else the one that started last
    -- (the rule of dim_customers, for assignments known by as_of).
    select
        assignments.customer_id,
        assignments.manager_id,
        row_number() over (
            partition by assignments.customer_id
            order by
                case
                    when
                        assignments.assigned_to is null
                        or assignments.assigned_to >= dates.as_of_on
                        then 0
                    else 1
                end,
                assignments.assigned_from desc,
                assignments.assignment_id desc
        ) as recency_rank,
        count(*) over (partition by assignments.customer_id) as assignment_count
    from assignments
    cross join dates
    where assignments.assigned_from <= dates.as_of_on
),

managers as (
    select
        customer_id,
        manager_id as current_manager_id,
        assignment_count - 1 as manager_change_count
    from known_assignments
    where recency_rank = 1
),

churn_months as (
    select
        spine.customer_id,
        spine.month_start_on as last_churn_month_on,
        spine.churn_reason_code,
        row_number() over (
            partition by spine.customer_id
            order by spine.month_start_on desc
        ) as churn_rank
    from spine
    where spine.is_churned
),

churn_record_ranks as (
    select
        churn_records.customer_id,
        churn_records.churned_on,
        churn_records.reason_code,
        row_number() over (
            partition by churn_records.customer_id
            order by churn_records.churned_on desc, churn_records.churn_id desc
        ) as record_rank
    from churn_records
    cross join dates
    where churn_records.churned_on <= dates.as_of_on
),

joined as (
    select
        customers.customer_id,
        dates.as_of_on,
        customers.acquired_on,
        case
            when customers.acquired_on <= dates.as_of_on
                then {{ dbt.datediff('customers.acquired_on', 'dates.as_of_on', 'day') }}
        end as tenure_days,
        coalesce(as_of_months.has_started, false) as has_started,
        coalesce(as_of_months.is_active, false) as is_active,
        coalesce(as_of_months.lifecycle_stage, 'prospect') as lifecycle_stage,
        order_history.first_ordered_on,
        order_history.last_ordered_on,
        coalesce(order_history.order_count, 0) as order_count,
        coalesce(contract_history.contract_count, 0) as contract_count,
        coalesce(contract_history.open_contract_count, 0) as open_contract_count,
        coalesce(as_of_months.product_line_count, 0) as product_line_count,
        coalesce(as_of_months.revenue_trailing_12m_cny, 0) as revenue_trailing_12m_cny,
        coalesce(as_of_months.revenue_prior_12m_cny, 0) as revenue_prior_12m_cny,
        coalesce(order_history.product_lines_trailing_12m, 0) as product_lines_trailing_12m,
        coalesce(order_history.product_lines_prior_12m, 0) as product_lines_prior_12m,
        satisfaction.latest_satisfaction_on,
        {%- for dimension in satisfaction_dimensions %}
            satisfaction.satisfaction_{{ dimension }}_pct,
        {%- endfor %}
        nps.nps_answered_on,
        nps.nps_answer_value,
        nps.nps_category,
        coalesce(complaint_counts.complaints_trailing_12m, 0) as complaints_trailing_12m,
        coalesce(complaint_counts.open_complaint_count, 0) as open_complaint_count,
        coalesce(interaction_counts.interactions_trailing_12m, 0) as interactions_trailing_12m,
        coalesce(event_counts.events_attended_trailing_12m, 0) as events_attended_trailing_12m,
        coalesce(referral_counts.referrals_made_count, 0) as referrals_made_count,
        coalesce(referral_counts.referrals_converted_count, 0) as referrals_converted_count,
        interaction_counts.last_touched_on,
        managers.current_manager_id,
        coalesce(managers.manager_change_count, 0) as manager_change_count,
        churn_months.last_churn_month_on,
        churn_months.churn_reason_code as last_churn_reason_code,
        churn_record_ranks.churned_on as churn_record_on,
        churn_record_ranks.reason_code as churn_record_reason_code
    from customers
    cross join dates
    left join as_of_months
        on customers.customer_id = as_of_months.customer_id
    left join order_history
        on customers.customer_id = order_history.customer_id
    left join contract_history
        on customers.customer_id = contract_history.customer_id
    left join satisfaction
        on customers.customer_id = satisfaction.customer_id
    left join nps
        on customers.customer_id = nps.customer_id
    left join complaint_counts
        on customers.customer_id = complaint_counts.customer_id
    left join interaction_counts
        on customers.customer_id = interaction_counts.customer_id
    left join event_counts
        on customers.customer_id = event_counts.customer_id
    left join referral_counts
        on customers.customer_id = referral_counts.customer_id
    left join managers
        on customers.customer_id = managers.customer_id
    left join churn_months
        on
            customers.customer_id = churn_months.customer_id
            and churn_months.churn_rank = 1
    left join churn_record_ranks
        on
            customers.customer_id = churn_record_ranks.customer_id
            and churn_record_ranks.record_rank = 1
),

final as (
    select
        customer_id,
        as_of_on,
        acquired_on,
        cast(tenure_days as {{ dbt.type_bigint() }}) as tenure_days,
        cast(tenure_days / 365.25 as {{ dbt.type_numeric() }}) as tenure_years,
        lifecycle_stage,
        first_ordered_on,
        last_ordered_on,
        cast(order_count as {{ dbt.type_bigint() }}) as order_count,
        cast(contract_count as {{ dbt.type_bigint() }}) as contract_count,
        cast(open_contract_count as {{ dbt.type_bigint() }}) as open_contract_count,
        cast(product_line_count as {{ dbt.type_bigint() }}) as product_line_count,
        cast(revenue_trailing_12m_cny as {{ dbt.type_numeric() }}) as revenue_trailing_12m_cny,
        cast(revenue_prior_12m_cny as {{ dbt.type_numeric() }}) as revenue_prior_12m_cny,
        cast(
            (revenue_trailing_12m_cny - revenue_prior_12m_cny) * 100.0
            / nullif(revenue_prior_12m_cny, 0) as {{ type_double() }}
        ) as revenue_change_pct,
        cast(product_lines_trailing_12m as {{ dbt.type_bigint() }}) as product_lines_trailing_12m,
        cast(product_lines_prior_12m as {{ dbt.type_bigint() }}) as product_lines_prior_12m,
        cast(product_lines_trailing_12m - product_lines_prior_12m as {{ dbt.type_bigint() }})
            as product_line_change,
        latest_satisfaction_on,
        {%- for dimension in satisfaction_dimensions %}
            cast(satisfaction_{{ dimension }}_pct as {{ type_double() }})
                as satisfaction_{{ dimension }}_pct,
        {%- endfor %}
        nps_answered_on,
        cast(nps_answer_value as {{ type_double() }}) as nps_answer_value,
        nps_category,
        cast(complaints_trailing_12m as {{ dbt.type_bigint() }}) as complaints_trailing_12m,
        cast(open_complaint_count as {{ dbt.type_bigint() }}) as open_complaint_count,
        cast(interactions_trailing_12m as {{ dbt.type_bigint() }}) as interactions_trailing_12m,
        cast(events_attended_trailing_12m as {{ dbt.type_bigint() }})
            as events_attended_trailing_12m,
        cast(referrals_made_count as {{ dbt.type_bigint() }}) as referrals_made_count,
        cast(referrals_converted_count as {{ dbt.type_bigint() }}) as referrals_converted_count,
        last_touched_on,
        cast(
            {{ dbt.datediff('last_touched_on', 'as_of_on', 'day') }}
            as {{ dbt.type_bigint() }}
        ) as days_since_last_touch,
        current_manager_id,
        cast(manager_change_count as {{ dbt.type_bigint() }}) as manager_change_count,
        is_active,
        case
            when not has_started then 'prospect'
            when is_active then 'active'
            else 'churned'
        end as churn_status,
        case
            when has_started and not is_active then last_churn_reason_code
        end as churn_reason_code,
        last_churn_month_on,
        churn_record_on,
        churn_record_reason_code
    from joined
)

select * from final
