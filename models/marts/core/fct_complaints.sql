-- Complaints opened by as_of.
-- Point in time: only rows dated on or before the as_of var (see macros/as_of.sql).
with source as (
    select * from {{ ref('stg_crm__complaints') }}
),

final as (
    select
        complaint_id,
        customer_id,
        opened_at,
        resolved_at,
        category,
        outcome,
        satisfaction_after
    from source
    where cast(opened_at as date) <= {{ as_of_date() }}
)

select * from final
