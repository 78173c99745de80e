with source as (
    select * from {{ source('survey', 'survey_answers') }}
),

renamed as (
    select
        cast(trim(response_id) as {{ dbt.type_string() }}) as response_id,
        cast(trim(question_id) as {{ dbt.type_string() }}) as question_id,
        cast(value as {{ dbt.type_numeric() }}) as answer_value,
        _file as source_file
    from source
)

select * from renamed
