-- What a Python asset reads of int_customer_months (docs/layers.md): a contracted
-- copy, so that the assets never read a staging or intermediate relation.
with spine as (
    select * from {{ ref('int_customer_months') }}
),

final as (
    select
        customer_id,
        month_start_on,
        month_end_on,
        was_active_at_start,
        is_active,
        is_churned
    from spine
)

select * from final
