with source as (
    select * from {{ source('crm', 'events') }}
),

renamed as (
    select
        cast(trim(event_id) as {{ dbt.type_string() }}) as event_id,
        cast(trim(event_name) as {{ dbt.type_string() }}) as event_name,
        cast(lower(trim(kind)) as {{ dbt.type_string() }}) as kind,
        cast(held_on as date) as held_on,
        cast(trim(city) as {{ dbt.type_string() }}) as city,
        _file as source_file
    from source
)

select * from renamed
