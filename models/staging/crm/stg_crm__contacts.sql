-- The hashes and masks are made in Python at ingestion (orchestration/pii.py) and stored
-- beside the clear values in raw: the salt never reaches SQL, so no compiled file, log or
-- view definition can hold it. The clear columns are not selected.
with source as (
    select * from {{ source('crm', 'contacts') }}
),

renamed as (
    select
        cast(trim(contact_id) as {{ dbt.type_string() }}) as contact_id,
        cast(trim(customer_id) as {{ dbt.type_string() }}) as customer_id,
        cast(contact_name_hash as {{ dbt.type_string() }}) as contact_name_hash,
        cast(phone_hash as {{ dbt.type_string() }}) as phone_hash,
        cast(phone_masked as {{ dbt.type_string() }}) as phone_masked,
        cast(email_hash as {{ dbt.type_string() }}) as email_hash,
        cast(email_masked as {{ dbt.type_string() }}) as email_masked,
        -- `role` is the landing contract's name, kept although it is a SQL keyword.
        cast(lower(trim(role)) as {{ dbt.type_string() }}) as role,  -- noqa: RF04
        cast(is_primary as {{ dbt.type_boolean() }}) as is_primary,
        _file as source_file
    from source
)

select * from renamed
