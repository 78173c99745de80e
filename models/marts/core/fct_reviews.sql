-- Public reviews published by as_of.
-- Point in time: only rows dated on or before the as_of var (see macros/as_of.sql).
with source as (
    select * from {{ ref('stg_crm__reviews') }}
),

final as (
    select
        review_id,
        customer_id,
        published_on,
        sentiment,
        rating
    from source
    where published_on <= {{ as_of_date() }}
)

select * from final
