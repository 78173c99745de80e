-- Complaints opened by as_of, as they stood on as_of.
-- Point in time: only complaints opened on or before the as_of var (see macros/as_of.sql); a
-- complaint resolved after as_of is still open on as_of, so its resolved_at, outcome and
-- satisfaction_after (all recorded at closing) are null.
with source as (
    select * from {{ ref('stg_crm__complaints') }}
),

known as (
    select
        *,
        resolved_at is not null
        and cast(resolved_at as date) > {{ as_of_date() }} as is_resolved_later
    from source
    where cast(opened_at as date) <= {{ as_of_date() }}
),

final as (
    select
        complaint_id,
        customer_id,
        opened_at,
        case when not is_resolved_later then resolved_at end as resolved_at,
        category,
        case when not is_resolved_later then outcome end as outcome,
        case when not is_resolved_later then satisfaction_after end as satisfaction_after,
        resolved_at is null or is_resolved_later as is_open,
        case
            when not is_resolved_later
                then
                    cast(
                        {{ dbt.datediff('opened_at', 'resolved_at', 'second') }}
                        / 3600.0 as {{ type_double() }}
                    )
        end as resolution_hours
    from known
)

select * from final
