with source as (
    select * from {{ source('crm', 'feedback') }}
),

renamed as (
    select
        cast(trim(feedback_id) as {{ dbt.type_string() }}) as feedback_id,
        cast(trim(customer_id) as {{ dbt.type_string() }}) as customer_id,
        cast(received_at as {{ dbt.type_timestamp() }}) as received_at,
        cast(lower(trim(channel)) as {{ dbt.type_string() }}) as channel,
        cast(lower(trim(category)) as {{ dbt.type_string() }}) as category,
        cast(is_valid as {{ dbt.type_boolean() }}) as is_valid,
        cast(is_suggestion as {{ dbt.type_boolean() }}) as is_suggestion,
        cast(is_adopted as {{ dbt.type_boolean() }}) as is_adopted,
        cast(responded_at as {{ dbt.type_timestamp() }}) as responded_at,
        cast(followed_up_at as {{ dbt.type_timestamp() }}) as followed_up_at,
        _file as source_file
    from source
)

select * from renamed
