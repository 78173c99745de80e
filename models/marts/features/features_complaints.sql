-- What a Python asset reads of stg_crm__complaints (docs/layers.md): a contracted
-- copy, so that the assets never read a staging or intermediate relation.
with complaints as (
    select * from {{ ref('stg_crm__complaints') }}
),

final as (
    select
        customer_id,
        opened_at
    from complaints
)

select * from final
