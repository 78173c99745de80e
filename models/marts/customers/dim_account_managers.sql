-- One row per account manager, as of the as_of var: team, region, employment, and the
-- customers in their care. No personal data: the manager's name stays in raw (staging keeps
-- only its salted hash, which BI has no use for and this mart leaves out).
--   current customers : customers with an assignment to the manager open on as_of
--                       (assigned_from <= as_of and assigned_to null or >= as_of);
--   active customers  : those of them active on as_of (int_customer_months, as_of month).
with managers as (
    select * from {{ ref('stg_crm__account_managers') }}
),

assignments as (
    select * from {{ ref('stg_crm__account_assignments') }}
),

spine as (
    select * from {{ ref('int_customer_months') }}
),

known_assignments as (
    select
        *,
        assigned_to is null or assigned_to >= {{ as_of_date() }} as is_open
    from assignments
    where assigned_from <= {{ as_of_date() }}
),

as_of_status as (
    select
        customer_id,
        is_active
    from spine
    where month_start_on = {{ period_start('month', as_of_date()) }}
),

customer_counts as (
    select
        known_assignments.manager_id,
        count(distinct known_assignments.customer_id) as customers_ever_count,
        count(
            distinct case when known_assignments.is_open then known_assignments.customer_id end
        ) as current_customer_count,
        count(
            distinct case
                when known_assignments.is_open and as_of_status.is_active
                    then known_assignments.customer_id
            end
        ) as current_active_customer_count
    from known_assignments
    left join as_of_status
        on known_assignments.customer_id = as_of_status.customer_id
    group by known_assignments.manager_id
),

final as (
    select
        managers.manager_id,
        managers.team,
        managers.region,
        managers.hired_on,
        case when managers.left_on <= {{ as_of_date() }} then managers.left_on end as left_on,
        managers.hired_on <= {{ as_of_date() }}
        and (managers.left_on is null or managers.left_on > {{ as_of_date() }}) as is_employed,
        cast(coalesce(customer_counts.current_customer_count, 0) as {{ dbt.type_bigint() }})
            as current_customer_count,
        cast(
            coalesce(customer_counts.current_active_customer_count, 0) as {{ dbt.type_bigint() }}
        ) as current_active_customer_count,
        cast(coalesce(customer_counts.customers_ever_count, 0) as {{ dbt.type_bigint() }})
            as customers_ever_count
    from managers
    left join customer_counts
        on managers.manager_id = customer_counts.manager_id
)

select * from final
