-- Customer interactions (consultations, visits, calls, e-mails, social) up to as_of.
-- Point in time: only rows dated on or before the as_of var (see macros/as_of.sql).
with source as (
    select * from {{ ref('stg_crm__interactions') }}
),

final as (
    select
        interaction_id,
        customer_id,
        occurred_at,
        channel,
        kind,
        manager_id
    from source
    where cast(occurred_at as date) <= {{ as_of_date() }}
)

select * from final
