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
-- Not items of indicator_fanout (macros/indicators.sql): the E1 rates have a row for every period
-- and slice with customers even when nobody referred anywhere, the referral counts none where
-- there was no referral, and reviews without a customer count as 'unattributed'; sums per
-- customer and period are rolled up with indicator_slice_rollup.
with referrals as (
    select * from {{ ref('fct_referrals') }}
),

reviews as (
    select * from {{ ref('fct_reviews') }}
),

slice_customers as (
    {{ indicator_slice_customers() }}
),

retention as (
    select * from {{ ref('int_retention_bridges') }}
),

grains as (
    {{ period_grains() }}
),

slice_types as (
    select distinct slice_type from {{ ref('int_customer_slices') }}
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
    {{ indicator_slice_rollup(
        'referrer_periods',
        ['period_grain', 'period_start_on'],
        [
            'count(*) as referring_customers',
            'sum(case when converted_count > 0 then 1 else 0 end)'
            ~ ' as converting_customers',
            'sum(referral_count) as referrals',
            'sum(converted_count) as converted_referrals',
        ],
        customers='slice_customers',
    ) }}
),

-- E1 rates over every period and slice with customers (0 when nobody referred).
referral_rates as (
    select
        retention.period_grain,
        retention.period_start_on,
        retention.slice_type,
        retention.slice_value,
        retention.customers_active_in_period,
        coalesce(referral_totals.converting_customers, 0) as converting_customers,
        coalesce(referral_totals.referring_customers, 0) as referring_customers
    from retention
    left join referral_totals
        on {{ same_period_and_slice('retention', 'referral_totals') }}
),

referral_rows as (
    {{ indicator_rows([
        {'variant': 'standard', 'numerator': 'converting_customers',
         'denominator': 'customers_active_in_period', 'unit': 'rate',
         'n': 'customers_active_in_period', 'from': 'referral_rates'},
        {'variant': 'any_referral', 'numerator': 'referring_customers',
         'denominator': 'customers_active_in_period', 'unit': 'rate',
         'n': 'customers_active_in_period', 'from': 'referral_rates'},
        {'variant': 'converted_referrals', 'numerator': 'converted_referrals', 'unit': 'count',
         'n': 'referrals'},
        {'variant': 'referral_conversion_rate', 'numerator': 'converted_referrals',
         'denominator': 'referrals', 'unit': 'rate', 'n': 'referrals'},
    ], defaults={'code': 'E1', 'from': 'referral_totals'}) }}
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

-- Reviews of a customer: summed per customer and period, then every slice in one pass.
customer_reviews as (
    select
        customer_id,
        period_grain,
        period_start_on,
        sum(positive_flag) as positive_reviews,
        sum(negative_flag) as negative_reviews,
        sum(neutral_flag) as neutral_reviews,
        count(*) as reviews
    from review_periods
    where customer_id is not null
    group by
        customer_id,
        period_grain,
        period_start_on
),

attributed_review_totals as (
    {{ indicator_slice_rollup(
        'customer_reviews',
        ['period_grain', 'period_start_on'],
        [
            'sum(positive_reviews) as positive_reviews',
            'sum(negative_reviews) as negative_reviews',
            'sum(neutral_reviews) as neutral_reviews',
            'sum(reviews) as reviews',
        ],
        customers='slice_customers',
    ) }}
),

unattributed_reviews as (
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

review_slices as (
    select
        period_grain,
        period_start_on,
        slice_type,
        slice_value,
        positive_reviews,
        negative_reviews,
        neutral_reviews,
        reviews
    from attributed_review_totals
    union all
    select
        period_grain,
        period_start_on,
        slice_type,
        slice_value,
        sum(positive_flag) as positive_reviews,
        sum(negative_flag) as negative_reviews,
        sum(neutral_flag) as neutral_reviews,
        count(*) as reviews
    from unattributed_reviews
    group by
        period_grain,
        period_start_on,
        slice_type,
        slice_value
),

review_totals as (
    select
        period_grain,
        period_start_on,
        slice_type,
        slice_value,
        sum(positive_reviews) as positive_reviews,
        sum(negative_reviews) as negative_reviews,
        sum(neutral_reviews) as neutral_reviews,
        sum(reviews) as reviews
    from review_slices
    group by
        period_grain,
        period_start_on,
        slice_type,
        slice_value
),

review_rows as (
    {%- set counts = {'denominator': 1, 'unit': 'count'} %}
    {{ indicator_rows([
        dict(counts, variant='positive', numerator='positive_reviews', n='positive_reviews'),
        dict(counts, variant='negative', numerator='negative_reviews', n='negative_reviews'),
        dict(counts, variant='neutral', numerator='neutral_reviews', n='neutral_reviews'),
        {'variant': 'net_sentiment', 'numerator': 'positive_reviews - negative_reviews',
         'denominator': 'positive_reviews + negative_reviews', 'unit': 'ratio', 'n': 'reviews'},
    ], defaults={'code': 'E4', 'from': 'review_totals'}) }}
),

final as (
    select * from referral_rows
    union all
    select * from review_rows
)

select
    final.*,
    {{ is_complete_period('final.period_grain', 'final.period_start_on') }} as is_complete_period
from final
