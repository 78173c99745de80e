with source as (
    select * from {{ source('survey', 'surveys') }}
),

renamed as (
    select
        cast(trim(survey_id) as {{ dbt.type_string() }}) as survey_id,
        cast(trim(survey_name) as {{ dbt.type_string() }}) as survey_name,
        cast(lower(trim(kind)) as {{ dbt.type_string() }}) as kind,
        cast(fielded_on as date) as fielded_on,
        _file as source_file
    from source
)

select * from renamed
