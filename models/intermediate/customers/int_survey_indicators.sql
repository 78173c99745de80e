-- Survey indicators in the tidy shape of loyalty_indicators (METRICS A1, A2, A3, E2, E3, E5)
-- per period (month, quarter, year of submission) and slice.
--   A1 / A2 / E2 / E5: mean score / the item's scale maximum x 100 (reverse items flipped);
--   A3: customers whose latest overall-satisfaction answer is in the top two points of its
--       scale, over respondents (response_based) and over all active customers (seed_002);
--   E3: NPS on 0–10 items: % promoters (>= nps_promoter_min) − % detractors
--       (<= nps_detractor_max), each customer's latest answer in the period (standard);
--       beside it the shares of promoters, passives and detractors (pct, summing to 100).
-- Stored by period (macros/rewrite_window.sql): a daily run rewrites the periods from the
-- run's window on and keeps the others (a table on Spark). Every figure of a period reads
-- the answers submitted in it (the latest per customer within the period) and the
-- customer bridge of the period, with the slices of its customers. A customer whose account
-- manager moved rewrites the rows of its managers' slices only (by_slice): the answers of
-- those slices' customers are read from the earliest such window.
{{ stored_by_period(by_slice=true) }}
with answers as (
    select * from {{ ref('fct_survey_answers') }}
),

slices as (
    select * from {{ ref('int_customer_slices') }}
),

retention as (
    select * from {{ ref('int_retention_bridges') }}
    where {{ in_rewritten_periods_on_incremental() }}
),

grains as (
    select 'month' as period_grain
    union all
    select 'quarter' as period_grain
    union all
    select 'year' as period_grain
),

answer_periods as (
    select * from (
        select
            answers.*,
            grains.period_grain,
            {{ period_start_by_grain('grains.period_grain', 'answers.submitted_on') }}
                as period_start_on
        from answers
        cross join grains
    ) as dated
    where {{ in_rewritten_customer_periods_on_incremental() }}
),

sliced as (
    select
        answer_periods.*,
        slices.slice_type,
        slices.slice_value
    from answer_periods
    inner join slices
        on answer_periods.customer_id = slices.customer_id
),

coded as (
    select
        *,
        case
            when survey_kind = 'satisfaction' and dimension = 'overall_satisfaction' then 'A2'
            when survey_kind = 'satisfaction' then 'A1'
            when dimension = 'likelihood_to_recommend' then 'E2'
            when survey_kind = 'brand' then 'E5'
        end as indicator_code,
        case
            when dimension in ('overall_satisfaction', 'likelihood_to_recommend') then 'standard'
            else dimension
        end as indicator_variant
    from sliced
),

mean_scores as (
    select
        indicator_code,
        indicator_variant,
        period_grain,
        period_start_on,
        slice_type,
        slice_value,
        -- summed exactly (decimal), so the total does not depend on the order the answers
        -- arrive in (a double sum differed in its last digits between builds)
        cast(sum(cast(score_of_max_pct as decimal(38, 20))) as {{ type_double() }})
            as numerator,
        count(*) as denominator,
        'pct' as unit,
        count(distinct customer_id) as n
    from coded
    where indicator_code is not null
    group by
        indicator_code,
        indicator_variant,
        period_grain,
        period_start_on,
        slice_type,
        slice_value
),

latest_answers as (
    select
        *,
        row_number() over (
            partition by customer_id, dimension, period_grain, period_start_on, slice_type
            order by submitted_on desc, response_id desc
        ) as answer_rank
    from sliced
    where
        (survey_kind = 'satisfaction' and dimension = 'overall_satisfaction')
        or (dimension = 'likelihood_to_recommend' and scale_min = 0 and scale_max = 10)
),

csat as (
    select
        period_grain,
        period_start_on,
        slice_type,
        slice_value,
        sum(case when is_top_two_box then 1 else 0 end) as satisfied_customers,
        count(*) as respondents
    from latest_answers
    where answer_rank = 1 and dimension = 'overall_satisfaction'
    group by
        period_grain,
        period_start_on,
        slice_type,
        slice_value
),

csat_rows as (
    select
        'A3' as indicator_code,
        'response_based' as indicator_variant,
        period_grain,
        period_start_on,
        slice_type,
        slice_value,
        satisfied_customers as numerator,
        respondents as denominator,
        'rate' as unit,
        respondents as n
    from csat
    union all
    select
        'A3' as indicator_code,
        'seed_002' as indicator_variant,
        csat.period_grain,
        csat.period_start_on,
        csat.slice_type,
        csat.slice_value,
        csat.satisfied_customers as numerator,
        retention.customers_active_in_period as denominator,
        'rate' as unit,
        csat.respondents as n
    from csat
    inner join retention
        on
            csat.period_grain = retention.period_grain
            and csat.period_start_on = retention.period_start_on
            and csat.slice_type = retention.slice_type
            and csat.slice_value = retention.slice_value
    union all
    select
        'A3' as indicator_code,
        'response_rate' as indicator_variant,
        csat.period_grain,
        csat.period_start_on,
        csat.slice_type,
        csat.slice_value,
        csat.respondents as numerator,
        retention.customers_active_in_period as denominator,
        'rate' as unit,
        csat.respondents as n
    from csat
    inner join retention
        on
            csat.period_grain = retention.period_grain
            and csat.period_start_on = retention.period_start_on
            and csat.slice_type = retention.slice_type
            and csat.slice_value = retention.slice_value
),

nps_counts as (
    select
        period_grain,
        period_start_on,
        slice_type,
        slice_value,
        sum(
            case when answer_value >= {{ var('nps_promoter_min') }} then 1 else 0 end
        ) as promoters,
        sum(
            case when answer_value <= {{ var('nps_detractor_max') }} then 1 else 0 end
        ) as detractors,
        count(*) as respondents
    from latest_answers
    where answer_rank = 1 and dimension = 'likelihood_to_recommend'
    group by
        period_grain,
        period_start_on,
        slice_type,
        slice_value
),

nps_rows as (
    {%- set nps_variants = [
        ('standard', '100.0 * (promoters - detractors)', 'nps'),
        ('promoters', '100.0 * promoters', 'pct'),
        ('passives', '100.0 * (respondents - promoters - detractors)', 'pct'),
        ('detractors', '100.0 * detractors', 'pct'),
    ] %}
    {%- for variant, numerator, unit in nps_variants %}
        select
            'E3' as indicator_code,
            '{{ variant }}' as indicator_variant,
            period_grain,
            period_start_on,
            slice_type,
            slice_value,
            {{ numerator }} as numerator,
            respondents as denominator,
            '{{ unit }}' as unit,
            respondents as n
        from nps_counts
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
),

final as (
    select * from mean_scores
    union all
    select * from csat_rows
    union all
    select * from nps_rows
),

rewritten as (
    {{ select_rewritten_rows('final') }}
)

select
    rewritten.*,
    {{ is_complete_period('rewritten.period_grain', 'rewritten.period_start_on') }}
        as is_complete_period
from rewritten
