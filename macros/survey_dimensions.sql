{#-
    The survey dimensions loyalty_satisfaction_monthly has a column for: the eight A1
    dimensions and the four E5 brand items of METRICS.md, as dim_survey_questions names them,
    with their column. A fixed list, since a contract-enforced mart's columns cannot follow the
    data; tests/dbt/assert_satisfaction_monthly_has_every_dimension.sql warns about a
    dimension of the data outside it (it stays in loyalty_indicators).
-#}
{% macro satisfaction_monthly_dimensions() %}
    {{- return({
        'satisfaction': [
            ('service_quality', 'service_quality_satisfaction_pct'),
            ('service_efficiency', 'service_efficiency_satisfaction_pct'),
            ('professional_competence', 'professional_competence_satisfaction_pct'),
            ('communication', 'communication_satisfaction_pct'),
            ('price_reasonableness', 'price_reasonableness_satisfaction_pct'),
            ('after_sales', 'after_sales_satisfaction_pct'),
            ('customisation', 'customisation_satisfaction_pct'),
            ('brand_image', 'brand_image_satisfaction_pct'),
        ],
        'brand': [
            ('awareness', 'brand_awareness_pct'),
            ('brand_image', 'brand_image_pct'),
            ('emotional_connection', 'brand_emotional_connection_pct'),
            ('switching_cost', 'brand_switching_cost_pct'),
        ],
    }) -}}
{% endmacro %}
