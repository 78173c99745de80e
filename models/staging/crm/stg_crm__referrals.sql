with source as (
    select * from {{ source('crm', 'referrals') }}
),

renamed as (
    select
        cast(trim(referral_id) as {{ dbt.type_string() }}) as referral_id,
        cast(trim(referrer_customer_id) as {{ dbt.type_string() }}) as referrer_customer_id,
        cast(trim(referred_customer_id) as {{ dbt.type_string() }}) as referred_customer_id,
        cast(referred_on as date) as referred_on,
        cast(is_converted as {{ dbt.type_boolean() }}) as is_converted,
        _file as source_file
    from source
)

select * from renamed
