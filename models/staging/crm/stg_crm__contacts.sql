with source as (
    select * from {{ source('crm', 'contacts') }}
),

renamed as (
    select
        cast(trim(contact_id) as {{ dbt.type_string() }}) as contact_id,
        cast(trim(customer_id) as {{ dbt.type_string() }}) as customer_id,
        {{ hash_pii('trim(contact_name)') }} as contact_name_hash,
        {{ hash_pii(phone_digits('phone')) }} as phone_hash,
        {{ mask_phone('phone') }} as phone_masked,
        {{ hash_pii('lower(trim(email))') }} as email_hash,
        {{ mask_email('trim(email)') }} as email_masked,
        -- `role` is the landing contract's name, kept although it is a SQL keyword.
        cast(lower(trim(role)) as {{ dbt.type_string() }}) as role,  -- noqa: RF04
        cast(is_primary as {{ dbt.type_boolean() }}) as is_primary,
        _file as source_file
    from source
)

select * from renamed
