-- The name's keyed hash is made in Python at ingestion (orchestration/pii.py).
with source as (
    select * from {{ source('crm', 'account_managers') }}
),

renamed as (
    select
        cast(trim(manager_id) as {{ dbt.type_string() }}) as manager_id,
        cast(manager_name_hash as {{ dbt.type_string() }}) as manager_name_hash,
        cast(trim(team) as {{ dbt.type_string() }}) as team,
        cast(lower(trim(region)) as {{ dbt.type_string() }}) as region,
        cast(hired_on as date) as hired_on,
        cast(left_on as date) as left_on,
        _file as source_file
    from source
)

select * from renamed
