-- Service tickets opened by as_of, as they stood on as_of.
-- Point in time: only tickets opened on or before the as_of var (see macros/as_of.sql); a
-- response or resolution dated after as_of is not yet known, so its timestamp is null and the
-- status falls back to 'in_progress' (answered, not resolved) or 'open' (not answered).
-- Durations are in hours, from opened_at, null until the step is known.
with source as (
    select * from {{ ref('stg_crm__service_tickets') }}
),

known as (
    select
        ticket_id,
        customer_id,
        opened_at,
        first_response_at as recorded_first_response_at,
        resolved_at as recorded_resolved_at,
        case
            when cast(first_response_at as date) <= {{ as_of_date() }} then first_response_at
        end as first_response_at,
        case
            when cast(resolved_at as date) <= {{ as_of_date() }} then resolved_at
        end as resolved_at,
        category,
        priority,
        status as recorded_status
    from source
    where cast(opened_at as date) <= {{ as_of_date() }}
),

final as (
    select
        ticket_id,
        customer_id,
        opened_at,
        first_response_at,
        resolved_at,
        category,
        priority,
        case
            when recorded_resolved_at is not null and resolved_at is null
                then case when first_response_at is not null then 'in_progress' else 'open' end
            when
                recorded_status = 'in_progress'
                and recorded_first_response_at is not null
                and first_response_at is null
                then 'open'
            else recorded_status
        end as status,
        resolved_at is not null as is_resolved,
        cast(
            {{ dbt.datediff('opened_at', 'first_response_at', 'second') }}
            / 3600.0 as {{ type_double() }}
        ) as first_response_hours,
        cast(
            {{ dbt.datediff('opened_at', 'resolved_at', 'second') }}
            / 3600.0 as {{ type_double() }}
        ) as resolution_hours
    from known
)

select * from final
