-- One row per answered question. Scores are normalised by the question's own scale, never
-- by a hard-coded 5 or 10, and reverse-coded items are flipped so that higher is better.
-- Point in time: only responses submitted on or before the as_of var (see macros/as_of.sql).
--
-- Incremental: a run rewrites the known answers of the customers the ingestion's change
-- record names for the answers and responses loaded since the last run (a new drop, a
-- corrected drop and the rows it removed), of every customer when surveys or questions were
-- loaded (a rescaled question), and of the customers with a response submitted between the
-- last run's as_of and this one's (macros/changes.sql); without a state table, every
-- customer. The post-hook deletes the answers no longer known (removed from raw by a
-- corrected drop, skipped, or submitted after a new, earlier as_of). A change of this
-- model's own logic needs a run with --full-refresh, which the jobs start by themselves; a
-- change of its columns fails the run until then (on_schema_change).
{{
    config(
        materialized=incremental_materialization(),
        unique_key=['response_id', 'question_id'],
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        post_hook=[
            incremental_hook("
                delete from {{ this }} as built
                where not exists (
                    select 1
                    from {{ ref('stg_survey__survey_answers') }} as answers
                    inner join {{ ref('stg_survey__survey_responses') }} as responses
                        on answers.response_id = responses.response_id
                    inner join {{ ref('dim_survey_questions') }} as questions
                        on answers.question_id = questions.question_id
                    where
                        answers.response_id = built.response_id
                        and answers.question_id = built.question_id
                        and answers.answer_value is not null
                        and cast(responses.submitted_at as date) <= {{ as_of_date() }}
                )
            "),
        ] + write_incremental_state(),
    )
}}

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
    where
        answers.answer_value is not null
        and cast(responses.submitted_at as date) <= {{ as_of_date() }}
),

{% if is_incremental() %}
    -- every customer after a load of surveys or questions (a rescaled question)
    {{ changed_customers_since_stored_state(
        ['survey_answers', 'survey_responses', 'surveys', 'survey_questions'],
        'responses',
        'cast(responses.submitted_at as date)',
    ) }}

    in_scope as (
        select * from oriented
        where customer_id in (select changed_customers.customer_id from changed_customers)
    ),
{% else %}
    in_scope as (
        select * from oriented
    ),
{% endif %}

final as (
    -- strings cast to the contract's type: on PostgreSQL some arrive as `character varying`,
    -- which an incremental run would take for a schema change against the table's `text`
    select
        cast(response_id as {{ dbt.type_string() }}) as response_id,
        cast(question_id as {{ dbt.type_string() }}) as question_id,
        cast(survey_id as {{ dbt.type_string() }}) as survey_id,
        cast(survey_kind as {{ dbt.type_string() }}) as survey_kind,
        cast(customer_id as {{ dbt.type_string() }}) as customer_id,
        submitted_on,
        cast(dimension as {{ dbt.type_string() }}) as dimension,
        scale_min,
        scale_max,
        is_reverse_coded,
        cast(answer_value as {{ type_double() }}) as answer_value,
        -- divided as doubles: Spark divides decimals (x * 1.0) to 12 places only
        cast(oriented_value - scale_min as {{ type_double() }})
        / (scale_max - scale_min) as score_rate,
        cast(oriented_value as {{ type_double() }}) * 100 / scale_max as score_of_max_pct,
        oriented_value >= scale_max - 1 as is_top_two_box
    from in_scope
)

select * from final
