with source as (
    select * from {{ source('crm', 'account_assignments') }}
),

renamed as (
    select
        cast(trim(assignment_id) as {{ dbt.type_string() }}) as assignment_id,
        cast(trim(customer_id) as {{ dbt.type_string() }}) as customer_id,
        cast(trim(manager_id) as {{ dbt.type_string() }}) as manager_id,
        cast(assigned_from as date) as assigned_from,
        cast(assigned_to as date) as assigned_to,
        _file as source_file
    from source
)

select * from renamed
