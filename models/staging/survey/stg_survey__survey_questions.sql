with source as (
    select * from {{ source('survey', 'survey_questions') }}
),

renamed as (
    select
        cast(trim(question_id) as {{ dbt.type_string() }}) as question_id,
        cast(trim(survey_id) as {{ dbt.type_string() }}) as survey_id,
        cast(trim(question_text) as {{ dbt.type_string() }}) as question_text,
        cast(lower(trim(dimension)) as {{ dbt.type_string() }}) as dimension,
        cast(scale_min as {{ dbt.type_bigint() }}) as scale_min,
        cast(scale_max as {{ dbt.type_bigint() }}) as scale_max,
        cast(is_reverse_coded as {{ dbt.type_boolean() }}) as is_reverse_coded,
        _file as source_file
    from source
)

select * from renamed
