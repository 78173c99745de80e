with questions as (
    select * from {{ ref('stg_survey__survey_questions') }}
),

surveys as (
    select * from {{ ref('stg_survey__surveys') }}
),

final as (
    select
        questions.question_id,
        questions.survey_id,
        surveys.kind as survey_kind,
        surveys.fielded_on,
        questions.question_text,
        questions.dimension,
        questions.scale_min,
        questions.scale_max,
        questions.is_reverse_coded
    from questions
    inner join surveys
        on questions.survey_id = surveys.survey_id
)

select * from final
