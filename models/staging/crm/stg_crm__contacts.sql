with source as (
    select * from {{ source('crm', 'contacts') }}
),

-- Hashes and masks made in Python at ingestion (orchestration/pii.py): the salt never
-- reaches SQL, so no compiled file, log or view definition can hold it.
pseudonyms as (
    select * from {{ source('crm', 'contacts_pseudonyms') }}
),

renamed as (
    select
        cast(trim(source.contact_id) as {{ dbt.type_string() }}) as contact_id,
        cast(trim(source.customer_id) as {{ dbt.type_string() }}) as customer_id,
        cast(pseudonyms.contact_name_hash as {{ dbt.type_string() }}) as contact_name_hash,
        cast(pseudonyms.phone_hash as {{ dbt.type_string() }}) as phone_hash,
        cast(pseudonyms.phone_masked as {{ dbt.type_string() }}) as phone_masked,
        cast(pseudonyms.email_hash as {{ dbt.type_string() }}) as email_hash,
        cast(pseudonyms.email_masked as {{ dbt.type_string() }}) as email_masked,
        -- `role` is the landing contract's name, kept although it is a SQL keyword.
        cast(lower(trim(source.role)) as {{ dbt.type_string() }}) as role,  -- noqa: RF04
        cast(source.is_primary as {{ dbt.type_boolean() }}) as is_primary,
        source._file as source_file
    from source
    left join pseudonyms
        on
            source._file = pseudonyms._file
            and source._line = pseudonyms._line
            and source._loaded_at = pseudonyms._loaded_at
)

select * from renamed
