with source as (
    select * from {{ source('crm', 'interactions') }}
),

renamed as (
    select
        cast(trim(interaction_id) as {{ dbt.type_string() }}) as interaction_id,
        cast(trim(customer_id) as {{ dbt.type_string() }}) as customer_id,
        cast(occurred_at as {{ dbt.type_timestamp() }}) as occurred_at,
        cast(lower(trim(channel)) as {{ dbt.type_string() }}) as channel,
        cast(lower(trim(kind)) as {{ dbt.type_string() }}) as kind,
        cast(trim(manager_id) as {{ dbt.type_string() }}) as manager_id,
        _file as source_file
    from source
)

select * from renamed
