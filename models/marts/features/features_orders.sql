-- What a Python asset reads of stg_crm__orders (docs/layers.md): a contracted
-- copy, so that the assets never read a staging or intermediate relation.
with orders as (
    select * from {{ ref('stg_crm__orders') }}
),

final as (
    select
        customer_id,
        ordered_on,
        amount_cny,
        is_credit_note
    from orders
)

select * from final
