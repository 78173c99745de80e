-- What a Python asset reads of stg_crm__contracts (docs/layers.md): a contracted
-- copy, so that the assets never read a staging or intermediate relation.
with contracts as (
    select * from {{ ref('stg_crm__contracts') }}
),

final as (
    select
        customer_id,
        start_on,
        end_on,
        status
    from contracts
)

select * from final
