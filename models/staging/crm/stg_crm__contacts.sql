with source as (
    select * from {{ source('crm', 'contacts') }}
),

renamed as (
    select
        cast(trim(contact_id) as {{ dbt.type_string() }}) as contact_id,
        cast(trim(customer_id) as {{ dbt.type_string() }}) as customer_id,
        {{ hash_pii('contact_name') }} as contact_name_hash,
        {{ hash_pii(digits_only('phone')) }} as phone_hash,
        {{ mask_phone('phone') }} as phone_masked,
        {{ hash_pii('lower(email)') }} as email_hash,
        {{ mask_email('email') }} as email_masked,
        cast(lower(trim(role)) as {{ dbt.type_string() }}) as contact_role,
        cast(is_primary as {{ dbt.type_boolean() }}) as is_primary,
        _file as source_file
    from source
)

select * from renamed
