-- Feedback received by as_of, as it stood on as_of.
-- Point in time: only feedback received on or before the as_of var (see macros/as_of.sql); a
-- response or follow-up dated after as_of is not yet known (null), and neither is the adoption
-- decision of a suggestion answered after as_of (is_adopted null: still pending). Adoption has
-- no date of its own, so a suggestion answered by as_of keeps the adoption the CRM records.
with source as (
    select * from {{ ref('stg_crm__feedback') }}
),

known as (
    select
        *,
        responded_at is not null
        and cast(responded_at as date) > {{ as_of_date() }} as is_responded_later
    from source
    where cast(received_at as date) <= {{ as_of_date() }}
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
        case when not is_responded_later then is_adopted end as is_adopted,
        case when not is_responded_later then responded_at end as responded_at,
        case
            when cast(followed_up_at as date) <= {{ as_of_date() }} then followed_up_at
        end as followed_up_at,
        case
            when not is_responded_later
                then
                    cast(
                        {{ dbt.datediff('received_at', 'responded_at', 'second') }}
                        / 3600.0 as {{ type_double() }}
                    )
        end as response_hours
    from known
)

select * from final
