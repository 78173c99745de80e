-- One row per answered question. Scores are normalised by the question's own scale, never
-- by a hard-coded 5 or 10, and reverse-coded items are flipped so that higher is better.
with answers as (
    select * from {{ ref('stg_survey__survey_answers') }}
),

responses as (
    select * from {{ ref('stg_survey__survey_responses') }}
),

questions as (
    select * from {{ ref('dim_survey_questions') }}
),

oriented as (
    select
        answers.response_id,
        answers.question_id,
        questions.survey_id,
        questions.survey_kind,
        responses.customer_id,
        cast(responses.submitted_at as date) as submitted_on,
        questions.dimension,
        questions.scale_min,
        questions.scale_max,
        questions.is_reverse_coded,
        answers.answer_value,
        case
            when questions.is_reverse_coded
                then questions.scale_min + questions.scale_max - answers.answer_value
            else answers.answer_value
        end as oriented_value
    from answers
    inner join responses
        on answers.response_id = responses.response_id
    inner join questions
        on answers.question_id = questions.question_id
    where answers.answer_value is not null
),

final as (
    select
        response_id,
        question_id,
        survey_id,
        survey_kind,
        customer_id,
        submitted_on,
        dimension,
        scale_min,
        scale_max,
        is_reverse_coded,
        cast(answer_value as double precision) as answer_value,
        cast(
            (oriented_value - scale_min) * 1.0 / (scale_max - scale_min) as double precision
        ) as score_rate,
        cast(oriented_value * 100.0 / scale_max as double precision) as score_of_max_pct,
        oriented_value >= scale_max - 1 as is_top_two_box
    from oriented
)

select * from final
