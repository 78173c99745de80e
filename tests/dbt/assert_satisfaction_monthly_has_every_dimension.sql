-- Warns when the surveys measure a satisfaction dimension (A1) or brand item (E5) that
-- loyalty_satisfaction_monthly has no column for: its columns are a fixed list
-- (macros/survey_dimensions.sql, contract enforced), so such a dimension is only in
-- loyalty_indicators until someone adds a column. A warning, not an error: the data is right,
-- the wide mart is incomplete.
{{ config(severity='warn', meta={'dagster': {'ref': {'name': 'dim_survey_questions'}}}) }}
{%- set dimensions = satisfaction_monthly_dimensions() %}

with questions as (
    select * from {{ ref('dim_survey_questions') }}
)

select distinct
    survey_kind,
    dimension
from questions
where
    (
        survey_kind = 'satisfaction'
        and dimension not in (
            'overall_satisfaction',
            {%- for dimension, column in dimensions['satisfaction'] %}
                '{{ dimension }}'{{ ',' if not loop.last }}
            {%- endfor %}
        )
    )
    or (
        survey_kind = 'brand'
        and dimension not in (
            {%- for item, column in dimensions['brand'] %}
                '{{ item }}'{{ ',' if not loop.last }}
            {%- endfor %}
        )
    )
