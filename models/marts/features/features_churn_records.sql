-- What a Python asset reads of stg_crm__churn_records (docs/layers.md): a contracted
-- copy, so that the assets never read a staging or intermediate relation.
with churn_records as (
    select * from {{ ref('stg_crm__churn_records') }}
),

final as (
    select
        customer_id,
        churned_on
    from churn_records
)

select * from final
