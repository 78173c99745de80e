-- Feedback received by as_of.
-- Point in time: only rows dated on or before the as_of var (see macros/as_of.sql).
with source as (
    select * from {{ ref('stg_crm__feedback') }}
),

final as (
    select
        feedback_id,
        customer_id,
        received_at,
        channel,
        category,
        is_valid,
        is_suggestion,
        is_adopted,
        responded_at,
        followed_up_at
    from source
    where cast(received_at as date) <= {{ as_of_date() }}
)

select * from final
