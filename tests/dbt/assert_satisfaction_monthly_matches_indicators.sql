-- Guards the wide loyalty_satisfaction_monthly against drifting from the tidy
-- loyalty_indicators: in a month with responses (is_<family>_carried_forward false) every
-- value of the wide mart equals loyalty_indicators' value for the same code, variant, month
-- and slice, and every monthly survey value of loyalty_indicators that the wide mart has a
-- column for is there, fresh. BI reads both marts, so they must never disagree on a month
-- with responses. Returns the values that differ or exist on one side only.
{{ config(meta={'dagster': {'ref': {'name': 'loyalty_satisfaction_monthly'}}}) }}
{%- set dimensions = satisfaction_monthly_dimensions() %}
{%- set columns = [
    ('satisfaction', 'A2', 'standard', 'satisfaction_score_pct'),
    ('satisfaction', 'A3', 'response_based', 'csat_response_based_rate'),
    ('satisfaction', 'A3', 'seed_002', 'csat_all_customers_rate'),
    ('satisfaction', 'A3', 'response_rate', 'survey_response_rate'),
    ('satisfaction', 'A3', 'response_based:n', 'csat_respondents'),
    ('nps', 'E2', 'standard', 'recommendation_index_pct'),
    ('nps', 'E3', 'standard', 'net_promoter_score'),
    ('nps', 'E3', 'standard:n', 'nps_respondents'),
    ('nps', 'E3', 'promoters', 'promoter_pct'),
    ('nps', 'E3', 'passives', 'passive_pct'),
    ('nps', 'E3', 'detractors', 'detractor_pct'),
] %}
{%- for dimension, column in dimensions['satisfaction'] %}
    {%- do columns.append(('satisfaction', 'A1', dimension, column)) %}
{%- endfor %}
{%- for item, column in dimensions['brand'] %}
    {%- do columns.append(('brand', 'E5', item, column)) %}
{%- endfor %}

with wide as (
    select * from {{ ref('loyalty_satisfaction_monthly') }}
),

indicators as (
    select * from {{ ref('loyalty_indicators') }}
    where period_grain = 'month'
),

tidy as (
    select
        indicator_code,
        indicator_variant,
        period_start_on as month_start_on,
        slice_type,
        slice_value,
        value
    from indicators
    where value is not null
    union all
    -- the respondents behind A3 and E3
    select
        indicator_code,
        {{ dbt.concat(["indicator_variant", "':n'"]) }} as indicator_variant,
        period_start_on as month_start_on,
        slice_type,
        slice_value,
        cast(n as {{ type_double() }}) as value
    from indicators
    where
        (indicator_code = 'A3' and indicator_variant = 'response_based')
        or (indicator_code = 'E3' and indicator_variant = 'standard')
),

tidy_with_column as (
    select * from tidy
    where
        {%- for family, code, variant, column in columns %}
            (indicator_code = '{{ code }}' and indicator_variant = '{{ variant }}')
            {%- if not loop.last %} or{% endif %}
        {%- endfor %}
),

wide_fresh as (
    {%- for family, code, variant, column in columns %}
        select
            '{{ code }}' as indicator_code,
            '{{ variant }}' as indicator_variant,
            month_start_on,
            slice_type,
            slice_value,
            cast({{ column }} as {{ type_double() }}) as value
        from wide
        where not is_{{ family }}_carried_forward and {{ column }} is not null
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
),

compared as (
    select
        coalesce(wide_fresh.indicator_code, tidy_with_column.indicator_code) as indicator_code,
        coalesce(wide_fresh.indicator_variant, tidy_with_column.indicator_variant)
            as indicator_variant,
        coalesce(wide_fresh.month_start_on, tidy_with_column.month_start_on) as month_start_on,
        coalesce(wide_fresh.slice_type, tidy_with_column.slice_type) as slice_type,
        coalesce(wide_fresh.slice_value, tidy_with_column.slice_value) as slice_value,
        wide_fresh.value as wide_value,
        tidy_with_column.value as indicators_value
    from wide_fresh
    full outer join tidy_with_column
        on
            wide_fresh.indicator_code = tidy_with_column.indicator_code
            and wide_fresh.indicator_variant = tidy_with_column.indicator_variant
            and wide_fresh.month_start_on = tidy_with_column.month_start_on
            and wide_fresh.slice_type = tidy_with_column.slice_type
            and wide_fresh.slice_value = tidy_with_column.slice_value
)

select * from compared
where
    wide_value is null
    or indicators_value is null
    or abs(wide_value - indicators_value) > 1e-9
