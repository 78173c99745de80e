-- What a Python asset reads of stg_crm__interactions (docs/layers.md): a contracted
-- copy, so that the assets never read a staging or intermediate relation.
with interactions as (
    select * from {{ ref('stg_crm__interactions') }}
),

final as (
    select
        customer_id,
        occurred_at
    from interactions
)

select * from final
