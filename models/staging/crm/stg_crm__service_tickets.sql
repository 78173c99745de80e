with source as (
    select * from {{ source('crm', 'service_tickets') }}
),

renamed as (
    select
        cast(trim(ticket_id) as {{ dbt.type_string() }}) as ticket_id,
        cast(trim(customer_id) as {{ dbt.type_string() }}) as customer_id,
        cast(opened_at as {{ dbt.type_timestamp() }}) as opened_at,
        cast(first_response_at as {{ dbt.type_timestamp() }}) as first_response_at,
        cast(resolved_at as {{ dbt.type_timestamp() }}) as resolved_at,
        cast(lower(trim(category)) as {{ dbt.type_string() }}) as category,
        cast(lower(trim(priority)) as {{ dbt.type_string() }}) as priority,
        cast(lower(trim(status)) as {{ dbt.type_string() }}) as status,
        _file as source_file
    from source
)

select * from renamed
