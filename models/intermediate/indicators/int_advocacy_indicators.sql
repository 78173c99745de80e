-- Referral and word-of-mouth indicators (METRICS E1, E4) in the tidy shape of
-- loyalty_indicators, per period (month, quarter, year) and slice.
--   E1 standard                 customers who referred at least one new customer (a converted
--                               referral) in the period / customers active in the period
--                               (loyalty_retention); a row for every period and slice with
--                               customers, 0 when nobody referred;
--   E1 any_referral             the same with any referral, converted or not;
--   E1 converted_referrals      converted referrals made in the period (count: numerator =
--                               count, denominator = 1);
--   E1 referral_conversion_rate converted referrals / referrals made in the period.
--   Referrals are dated by referred_on and sliced by the referring customer.
--   E4 positive / negative / neutral   public reviews published in the period (counts,
--                               denominator = 1);
--   E4 net_sentiment            (positive − negative) / (positive + negative), from −1 to 1;
--                               null when the period has only neutral reviews.
--   Reviews without a customer count in the company slice and as 'unattributed' in every
--   other slice type, so each slice type adds up to the company figure.
with referrals as (
    select * from {{ ref('fct_referrals') }}
),

reviews as (
    select * from {{ ref('fct_reviews') }}
),

slices as (
    select * from {{ ref('int_customer_slices') }}
),

retention as (
    select * from {{ ref('int_retention_bridges') }}
),

grains as (
    select 'month' as period_grain
    union all
    select 'quarter' as period_grain
    union all
    select 'year' as period_grain
),

slice_types as (
    select distinct slice_type from slices
),

referral_periods as (
    select
        referrals.referral_id,
        referrals.referrer_customer_id,
        case
            when referrals.is_converted and referrals.referred_customer_id is not null then 1
            else 0
        end as converted_flag,
        grains.period_grain,
        {{ period_start_by_grain('grains.period_grain', 'referrals.referred_on') }}
            as period_start_on
    from referrals
    cross join grains
),

referrer_periods as (
    select
        referrer_customer_id as customer_id,
        period_grain,
        period_start_on,
        count(*) as referral_count,
        sum(converted_flag) as converted_count
    from referral_periods
    group by
        referrer_customer_id,
        period_grain,
        period_start_on
),

referral_totals as (
    select
        referrer_periods.period_grain,
        referrer_periods.period_start_on,
        slices.slice_type,
        slices.slice_value,
        count(*) as referring_customers,
        sum(
            case when referrer_periods.converted_count > 0 then 1 else 0 end
        ) as converting_customers,
        sum(referrer_periods.referral_count) as referrals,
        sum(referrer_periods.converted_count) as converted_referrals
    from referrer_periods
    inner join slices
        on referrer_periods.customer_id = slices.customer_id
    group by
        referrer_periods.period_grain,
        referrer_periods.period_start_on,
        slices.slice_type,
        slices.slice_value
),

referral_rate_rows as (
    select
        'E1' as indicator_code,
        'standard' as indicator_variant,
        retention.period_grain,
        retention.period_start_on,
        retention.slice_type,
        retention.slice_value,
        coalesce(referral_totals.converting_customers, 0) as numerator,
        retention.customers_active_in_period as denominator,
        'rate' as unit,
        retention.customers_active_in_period as n
    from retention
    left join referral_totals
        on
            retention.period_grain = referral_totals.period_grain
            and retention.period_start_on = referral_totals.period_start_on
            and retention.slice_type = referral_totals.slice_type
            and retention.slice_value = referral_totals.slice_value
    union all
    select
        'E1' as indicator_code,
        'any_referral' as indicator_variant,
        retention.period_grain,
        retention.period_start_on,
        retention.slice_type,
        retention.slice_value,
        coalesce(referral_totals.referring_customers, 0) as numerator,
        retention.customers_active_in_period as denominator,
        'rate' as unit,
        retention.customers_active_in_period as n
    from retention
    left join referral_totals
        on
            retention.period_grain = referral_totals.period_grain
            and retention.period_start_on = referral_totals.period_start_on
            and retention.slice_type = referral_totals.slice_type
            and retention.slice_value = referral_totals.slice_value
),

referral_count_rows as (
    select
        'E1' as indicator_code,
        'converted_referrals' as indicator_variant,
        period_grain,
        period_start_on,
        slice_type,
        slice_value,
        converted_referrals as numerator,
        1 as denominator,
        'count' as unit,
        referrals as n
    from referral_totals
    union all
    select
        'E1' as indicator_code,
        'referral_conversion_rate' as indicator_variant,
        period_grain,
        period_start_on,
        slice_type,
        slice_value,
        converted_referrals as numerator,
        referrals as denominator,
        'rate' as unit,
        referrals as n
    from referral_totals
),

review_periods as (
    select
        reviews.review_id,
        reviews.customer_id,
        case when reviews.sentiment = 'positive' then 1 else 0 end as positive_flag,
        case when reviews.sentiment = 'negative' then 1 else 0 end as negative_flag,
        case when reviews.sentiment = 'neutral' then 1 else 0 end as neutral_flag,
        grains.period_grain,
        {{ period_start_by_grain('grains.period_grain', 'reviews.published_on') }}
            as period_start_on
    from reviews
    cross join grains
),

review_slices as (
    select
        review_periods.*,
        slices.slice_type,
        slices.slice_value
    from review_periods
    inner join slices
        on review_periods.customer_id = slices.customer_id
    union all
    select
        review_periods.*,
        slice_types.slice_type,
        case slice_types.slice_type
            when 'company' then 'all'
            else 'unattributed'
        end as slice_value
    from review_periods
    cross join slice_types
    where review_periods.customer_id is null
),

review_totals as (
    select
        period_grain,
        period_start_on,
        slice_type,
        slice_value,
        sum(positive_flag) as positive_reviews,
        sum(negative_flag) as negative_reviews,
        sum(neutral_flag) as neutral_reviews,
        count(*) as reviews
    from review_slices
    group by
        period_grain,
        period_start_on,
        slice_type,
        slice_value
),

review_rows as (
    {%- set rows = [
        ('positive', 'positive_reviews', '1', 'count', 'positive_reviews'),
        ('negative', 'negative_reviews', '1', 'count', 'negative_reviews'),
        ('neutral', 'neutral_reviews', '1', 'count', 'neutral_reviews'),
        (
            'net_sentiment',
            'positive_reviews - negative_reviews',
            'positive_reviews + negative_reviews',
            'ratio',
            'reviews',
        ),
    ] %}
    {%- for variant, numerator, denominator, unit, n in rows %}
        select
            'E4' as indicator_code,
            '{{ variant }}' as indicator_variant,
            period_grain,
            period_start_on,
            slice_type,
            slice_value,
            {{ numerator }} as numerator,
            {{ denominator }} as denominator,
            '{{ unit }}' as unit,
            {{ n }} as n
        from review_totals
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
),

final as (
    select * from referral_rate_rows
    union all
    select * from referral_count_rows
    union all
    select * from review_rows
)

select
    final.*,
    {{ is_complete_period('final.period_grain', 'final.period_start_on') }} as is_complete_period
from final
