-- Each customer once per slice type, so a mart can aggregate every slice with one join:
-- company, industry, region, size band and (current) account manager.
with customers as (
    select * from {{ ref('dim_customers') }}
),

final as (
    select
        customer_id,
        'company' as slice_type,
        'all' as slice_value
    from customers
    union all
    select
        customer_id,
        'industry' as slice_type,
        industry as slice_value
    from customers
    union all
    select
        customer_id,
        'region' as slice_type,
        region as slice_value
    from customers
    union all
    select
        customer_id,
        'size_band' as slice_type,
        size_band as slice_value
    from customers
    union all
    select
        customer_id,
        'account_manager' as slice_type,
        coalesce(current_manager_id, 'unassigned') as slice_value
    from customers
)

select * from final
