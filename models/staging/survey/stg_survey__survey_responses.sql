with source as (
    select * from {{ source('survey', 'survey_responses') }}
),

renamed as (
    select
        cast(trim(response_id) as {{ dbt.type_string() }}) as response_id,
        cast(trim(survey_id) as {{ dbt.type_string() }}) as survey_id,
        cast(trim(customer_id) as {{ dbt.type_string() }}) as customer_id,
        cast(trim(contact_id) as {{ dbt.type_string() }}) as contact_id,
        cast(submitted_at as {{ dbt.type_timestamp() }}) as submitted_at,
        _file as source_file
    from source
)

select * from renamed
