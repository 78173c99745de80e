-- What a Python asset reads of int_customer_slices (docs/layers.md): a contracted
-- copy, so that the assets never read a staging or intermediate relation.
with customer_slices as (
    select * from {{ ref('int_customer_slices') }}
),

final as (
    select
        customer_id,
        slice_type,
        slice_value
    from customer_slices
)

select * from final
