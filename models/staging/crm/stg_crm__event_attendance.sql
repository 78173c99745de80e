with source as (
    select * from {{ source('crm', 'event_attendance') }}
),

renamed as (
    select
        cast(trim(attendance_id) as {{ dbt.type_string() }}) as attendance_id,
        cast(trim(event_id) as {{ dbt.type_string() }}) as event_id,
        cast(trim(customer_id) as {{ dbt.type_string() }}) as customer_id,
        cast(attended as {{ dbt.type_boolean() }}) as attended,
        _file as source_file
    from source
)

select * from renamed
