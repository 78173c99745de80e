-- Service tickets opened by as_of.
-- Point in time: only rows dated on or before the as_of var (see macros/as_of.sql).
with source as (
    select * from {{ ref('stg_crm__service_tickets') }}
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
        status
    from source
    where cast(opened_at as date) <= {{ as_of_date() }}
)

select * from final
