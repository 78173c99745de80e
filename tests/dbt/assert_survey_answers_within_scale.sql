-- Guards the contract rule answer_in_scale after staging: an answer lies within its
-- question's scale_min..scale_max. Indices rescale answers by that range, so a value outside
-- it would push scores past 0–100. A skipped answer (null) is fine.
{{ config(meta={'dagster': {'ref': {'name': 'stg_survey__survey_answers'}}}) }}

with answers as (
    select * from {{ ref('stg_survey__survey_answers') }}
),

questions as (
    select * from {{ ref('stg_survey__survey_questions') }}
)

select
    answers.response_id,
    answers.question_id,
    answers.answer_value,
    questions.scale_min,
    questions.scale_max
from answers
inner join questions
    on answers.question_id = questions.question_id
where
    answers.answer_value is not null
    and (answers.answer_value < questions.scale_min or answers.answer_value > questions.scale_max)
