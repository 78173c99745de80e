with source as (
    select * from {{ source('crm', 'complaints') }}
),

renamed as (
    select
        cast(trim(complaint_id) as {{ dbt.type_string() }}) as complaint_id,
        cast(trim(customer_id) as {{ dbt.type_string() }}) as customer_id,
        cast(opened_at as {{ dbt.type_timestamp() }}) as opened_at,
        cast(resolved_at as {{ dbt.type_timestamp() }}) as resolved_at,
        cast(lower(trim(category)) as {{ dbt.type_string() }}) as category,
        cast(lower(trim(outcome)) as {{ dbt.type_string() }}) as outcome,
        cast(satisfaction_after as {{ dbt.type_bigint() }}) as satisfaction_after,
        _file as source_file
    from source
)

select * from renamed
