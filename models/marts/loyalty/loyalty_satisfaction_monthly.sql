-- Survey indicators (METRICS A1, A2, A3, E2, E3, E5) wide for BI: one row per month and
-- slice (company, industry, region, size band, account manager), every month the slice has
-- on loyalty_retention's spine.
--
-- Surveys come in waves, so loyalty_indicators has survey values only in months with
-- responses. Here each survey family carries its latest month's results forward over the
-- months without responses, for at most var('survey_carry_forward_months') months (default
-- 12; 0 = fresh months only), and says so: <family>_survey_month_on (the month the values come
-- from), <family>_months_since_survey (0 = fresh) and is_<family>_carried_forward (null when
-- there is no result within the limit, and then every column of the family is null).
-- Families, each with its own waves: satisfaction (A1, A2, A3), nps (E2, E3), brand (E5).
-- In a month with responses every value equals loyalty_indicators' value for the same code,
-- variant, month and slice (tests/dbt/assert_satisfaction_monthly_matches_indicators.sql).
--
-- Dimensions are a fixed list (contract-enforced columns cannot follow the data): the eight
-- A1 dimensions and four E5 items of METRICS.md (macros/survey_dimensions.sql). A dimension
-- outside the list is still in loyalty_indicators; a warning test names it
-- (tests/dbt/assert_satisfaction_monthly_has_every_dimension.sql).
{%- set carry_forward_months = var('survey_carry_forward_months') | int %}
{%- set satisfaction_dimensions = satisfaction_monthly_dimensions()['satisfaction'] %}
{%- set brand_items = satisfaction_monthly_dimensions()['brand'] %}
{%- set families = ['satisfaction', 'nps', 'brand'] %}

with retention as (
    select * from {{ ref('loyalty_retention') }}
),

survey_indicators as (
    select * from {{ ref('int_survey_indicators') }}
),

months as (
    select
        period_start_on as month_start_on,
        slice_type,
        slice_value
    from retention
    where period_grain = 'month'
),

measured as (
    -- value as loyalty_indicators computes it: doubles, null over a zero denominator
    select
        indicator_code,
        indicator_variant,
        period_start_on as survey_month_on,
        slice_type,
        slice_value,
        cast(numerator as {{ type_double() }}) as numerator,
        cast(denominator as {{ type_double() }}) as denominator,
        cast(n as {{ dbt.type_bigint() }}) as n,
        cast(
            cast(numerator as {{ type_double() }})
            / nullif(cast(denominator as {{ type_double() }}), 0)
            as {{ type_double() }}
        ) as value
    from survey_indicators
    where period_grain = 'month'
),

satisfaction_results as (
    select
        survey_month_on,
        slice_type,
        slice_value,
        {% for dimension, column in satisfaction_dimensions %}
            max(
                case
                    when indicator_code = 'A1' and indicator_variant = '{{ dimension }}'
                        then value
                end
            ) as {{ column }},
        {% endfor %}
        max(
            case
                when indicator_code = 'A3' and indicator_variant = 'response_based'
                    then denominator
            end
        ) as csat_respondents,
        max(
            case
                when indicator_code = 'A3' and indicator_variant = 'response_based'
                    then numerator
            end
        ) as csat_satisfied_customers,
        max(
            case
                when indicator_code = 'A3' and indicator_variant = 'seed_002'
                    then denominator
            end
        ) as customers_active_in_survey_month,
        max(
            case
                when indicator_code = 'A3' and indicator_variant = 'response_based'
                    then value
            end
        ) as csat_response_based_rate,
        max(
            case
                when indicator_code = 'A3' and indicator_variant = 'seed_002' then value
            end
        ) as csat_all_customers_rate,
        max(
            case
                when indicator_code = 'A3' and indicator_variant = 'response_rate' then value
            end
        ) as survey_response_rate,
        max(
            case
                when indicator_code = 'A2' and indicator_variant = 'standard' then value
            end
        ) as satisfaction_score_pct
    from measured
    where indicator_code in ('A1', 'A2', 'A3')
    group by
        survey_month_on,
        slice_type,
        slice_value
),

nps_results as (
    select
        survey_month_on,
        slice_type,
        slice_value,
        max(
            case when indicator_code = 'E3' and indicator_variant = 'standard' then n end
        ) as nps_respondents,
        max(
            case
                when indicator_code = 'E3' and indicator_variant = 'standard' then value
            end
        ) as net_promoter_score,
        max(
            case
                when indicator_code = 'E3' and indicator_variant = 'promoters' then value
            end
        ) as promoter_pct,
        max(
            case
                when indicator_code = 'E3' and indicator_variant = 'passives' then value
            end
        ) as passive_pct,
        max(
            case
                when indicator_code = 'E3' and indicator_variant = 'detractors' then value
            end
        ) as detractor_pct,
        max(
            case
                when indicator_code = 'E2' and indicator_variant = 'standard' then value
            end
        ) as recommendation_index_pct
    from measured
    where indicator_code in ('E2', 'E3')
    group by
        survey_month_on,
        slice_type,
        slice_value
),

brand_results as (
    select
        {% for item, column in brand_items %}
            max(
                case
                    when indicator_code = 'E5' and indicator_variant = '{{ item }}' then value
                end
            ) as {{ column }},
        {% endfor %}
        survey_month_on,
        slice_type,
        slice_value
    from measured
    where indicator_code = 'E5'
    group by
        survey_month_on,
        slice_type,
        slice_value
),

{% for family in families %}
    {{ family }}_latest as (
        -- the family's latest month with results, within the carry-forward limit
        select
            months.month_start_on,
            months.slice_type,
            months.slice_value,
            max(results.survey_month_on) as survey_month_on
        from months
        inner join {{ family }}_results as results
            on
                months.slice_type = results.slice_type
                and months.slice_value = results.slice_value
                and months.month_start_on >= results.survey_month_on
                and {{ dbt.datediff(
                    'results.survey_month_on', 'months.month_start_on', 'month'
                ) }} <= {{ carry_forward_months }}
        group by
            months.month_start_on,
            months.slice_type,
            months.slice_value
    ),
{% endfor %}

final as (
    select
        months.month_start_on,
        months.slice_type,
        months.slice_value,
        {{ is_complete_period("'month'", 'months.month_start_on') }} as is_complete_period,
        satisfaction_latest.survey_month_on as satisfaction_survey_month_on,
        cast(
            {{ dbt.datediff(
                'satisfaction_latest.survey_month_on', 'months.month_start_on', 'month'
            ) }} as {{ dbt.type_bigint() }}
        ) as satisfaction_months_since_survey,
        satisfaction_latest.survey_month_on < months.month_start_on
            as is_satisfaction_carried_forward,
        cast(satisfaction.csat_respondents as {{ dbt.type_bigint() }}) as csat_respondents,
        cast(satisfaction.csat_satisfied_customers as {{ dbt.type_bigint() }})
            as csat_satisfied_customers,
        cast(satisfaction.customers_active_in_survey_month as {{ dbt.type_bigint() }})
            as customers_active_in_survey_month,
        satisfaction.csat_response_based_rate,
        satisfaction.csat_all_customers_rate,
        satisfaction.survey_response_rate,
        satisfaction.satisfaction_score_pct,
        {% for dimension, column in satisfaction_dimensions %}
            satisfaction.{{ column }},
        {% endfor %}
        brand_latest.survey_month_on as brand_survey_month_on,
        cast(
            {{ dbt.datediff(
                'brand_latest.survey_month_on', 'months.month_start_on', 'month'
            ) }} as {{ dbt.type_bigint() }}
        ) as brand_months_since_survey,
        brand_latest.survey_month_on < months.month_start_on as is_brand_carried_forward,
        {% for item, column in brand_items %}
            brand.{{ column }},
        {% endfor %}
        nps_latest.survey_month_on as nps_survey_month_on,
        cast(
            {{ dbt.datediff(
                'nps_latest.survey_month_on', 'months.month_start_on', 'month'
            ) }} as {{ dbt.type_bigint() }}
        ) as nps_months_since_survey,
        nps_latest.survey_month_on < months.month_start_on as is_nps_carried_forward,
        nps.nps_respondents,
        nps.net_promoter_score,
        nps.promoter_pct,
        nps.passive_pct,
        nps.detractor_pct,
        nps.nps_respondents < {{ var('nps_small_sample_min') }} as is_nps_small_sample,
        nps.recommendation_index_pct
    from months
    left join satisfaction_latest
        on
            months.month_start_on = satisfaction_latest.month_start_on
            and months.slice_type = satisfaction_latest.slice_type
            and months.slice_value = satisfaction_latest.slice_value
    left join satisfaction_results as satisfaction
        on
            satisfaction_latest.survey_month_on = satisfaction.survey_month_on
            and satisfaction_latest.slice_type = satisfaction.slice_type
            and satisfaction_latest.slice_value = satisfaction.slice_value
    left join nps_latest
        on
            months.month_start_on = nps_latest.month_start_on
            and months.slice_type = nps_latest.slice_type
            and months.slice_value = nps_latest.slice_value
    left join nps_results as nps
        on
            nps_latest.survey_month_on = nps.survey_month_on
            and nps_latest.slice_type = nps.slice_type
            and nps_latest.slice_value = nps.slice_value
    left join brand_latest
        on
            months.month_start_on = brand_latest.month_start_on
            and months.slice_type = brand_latest.slice_type
            and months.slice_value = brand_latest.slice_value
    left join brand_results as brand
        on
            brand_latest.survey_month_on = brand.survey_month_on
            and brand_latest.slice_type = brand.slice_type
            and brand_latest.slice_value = brand.slice_value
)

select * from final
