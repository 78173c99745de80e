with source as (
    select * from {{ source('crm', 'loyalty_programme') }}
),

renamed as (
    select
        cast(trim(entry_id) as {{ dbt.type_string() }}) as entry_id,
        cast(trim(customer_id) as {{ dbt.type_string() }}) as customer_id,
        cast(occurred_on as date) as occurred_on,
        cast(lower(trim(entry_type)) as {{ dbt.type_string() }}) as entry_type,
        cast(points as {{ dbt.type_bigint() }}) as points,
        _file as source_file
    from source
)

select * from renamed
