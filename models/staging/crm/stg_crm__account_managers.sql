with source as (
    select * from {{ source('crm', 'account_managers') }}
),

-- The name's keyed hash, made in Python at ingestion (orchestration/pii.py).
pseudonyms as (
    select * from {{ source('crm', 'account_managers_pseudonyms') }}
),

renamed as (
    select
        cast(trim(source.manager_id) as {{ dbt.type_string() }}) as manager_id,
        cast(pseudonyms.manager_name_hash as {{ dbt.type_string() }}) as manager_name_hash,
        cast(trim(source.team) as {{ dbt.type_string() }}) as team,
        cast(lower(trim(source.region)) as {{ dbt.type_string() }}) as region,
        cast(source.hired_on as date) as hired_on,
        cast(source.left_on as date) as left_on,
        source._file as source_file
    from source
    left join pseudonyms
        on
            source._file = pseudonyms._file
            and source._line = pseudonyms._line
            and source._loaded_at = pseudonyms._loaded_at
)

select * from renamed
