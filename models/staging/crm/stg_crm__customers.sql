with source as (
    select * from {{ source('crm', 'customers') }}
),

renamed as (
    select
        cast(trim(customer_id) as {{ dbt.type_string() }}) as customer_id,
        cast(trim(customer_name) as {{ dbt.type_string() }}) as customer_name,
        cast(lower(trim(industry)) as {{ dbt.type_string() }}) as industry,
        cast(trim(province) as {{ dbt.type_string() }}) as province,
        cast(lower(trim(region)) as {{ dbt.type_string() }}) as region,
        cast(trim(city) as {{ dbt.type_string() }}) as city,
        cast(lower(trim(size_band)) as {{ dbt.type_string() }}) as size_band,
        cast(acquired_on as date) as acquired_on,
        cast(lower(trim(acquisition_channel)) as {{ dbt.type_string() }}) as acquisition_channel,
        cast(acquisition_cost as {{ dbt.type_numeric() }}) as acquisition_cost,
        _file as source_file
    from source
)

select * from renamed
