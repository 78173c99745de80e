-- What a Python asset reads of stg_crm__account_assignments (docs/layers.md): a contracted
-- copy, so that the assets never read a staging or intermediate relation.
with assignments as (
    select * from {{ ref('stg_crm__account_assignments') }}
),

final as (
    select
        customer_id,
        manager_id,
        assigned_from
    from assignments
)

select * from final
