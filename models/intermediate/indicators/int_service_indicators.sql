-- Service indicators in the tidy shape of loyalty_indicators (METRICS A4–A7), per period
-- (month, quarter, year) and slice (int_customer_slices).
--   A4  hours from a service ticket's opening to its resolution, tickets resolved in the
--       period: variants 'median' and 'p90'.
--   A5  feedback items received in the period: all ('standard'), by channel
--       ('channel:<channel>') and by category ('category:<category>'); 'addressed' = valid
--       items with a response / valid items.
--   A6  valid items / all items × 100 ('standard', and 'channel:<channel>').
--   A7  hours from receipt to first response, feedback responded to in the period ('median',
--       'p90'); the same for service tickets ('ticket_median', 'ticket_p90'); 'followed_up'
--       = valid items with a recorded follow-up / valid items received in the period.
-- Medians, p90s and counts are statistics, not ratios: the statistic is the numerator and
-- the denominator is 1. Counts exist for every period and slice of loyalty_retention (zero
-- when nothing happened); ratios and percentiles only where there is something to measure.
-- Durations are dbt.datediff in minutes / 60: an hour-granularity datediff counts hour
-- boundaries crossed (10:59 to 11:01 is one hour on DuckDB), too coarse for response times.
-- Point in time: a response, resolution or follow-up stamped after as_of has not happened
-- yet (the facts filter on the opening date only).
with tickets as (
    select * from {{ ref('fct_service_tickets') }}
),

feedback as (
    select * from {{ ref('fct_feedback') }}
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

ticket_stamps as (
    select
        customer_id,
        opened_at,
        case
            when cast(first_response_at as date) <= {{ as_of_date() }} then first_response_at
        end as first_response_at,
        case
            when cast(resolved_at as date) <= {{ as_of_date() }} then resolved_at
        end as resolved_at
    from tickets
),

feedback_stamps as (
    select
        customer_id,
        received_at,
        channel,
        category,
        is_valid,
        case
            when cast(responded_at as date) <= {{ as_of_date() }} then responded_at
        end as responded_at,
        case
            when cast(followed_up_at as date) <= {{ as_of_date() }} then followed_up_at
        end as followed_up_at
    from feedback
),

-- One row per thing measured: measure_kind says how it aggregates ('count': sum, over 1;
-- 'ratio': sum over sum of denominator_value; 'duration': median and p90 of
-- numerator_value, the variant being the prefix of the two variant names).
items as (
    select
        'A4' as indicator_code,
        '' as indicator_variant,
        'hours' as unit,
        'duration' as measure_kind,
        customer_id,
        cast(resolved_at as date) as measured_on,
        {{ dbt.datediff('opened_at', 'resolved_at', 'minute') }}
        / 60.0 as numerator_value,
        1 as denominator_value
    from ticket_stamps
    where resolved_at is not null
    union all
    select
        'A7' as indicator_code,
        '' as indicator_variant,
        'hours' as unit,
        'duration' as measure_kind,
        customer_id,
        cast(responded_at as date) as measured_on,
        {{ dbt.datediff('received_at', 'responded_at', 'minute') }}
        / 60.0 as numerator_value,
        1 as denominator_value
    from feedback_stamps
    where responded_at is not null
    union all
    select
        'A7' as indicator_code,
        'ticket_' as indicator_variant,
        'hours' as unit,
        'duration' as measure_kind,
        customer_id,
        cast(first_response_at as date) as measured_on,
        {{ dbt.datediff('opened_at', 'first_response_at', 'minute') }}
        / 60.0 as numerator_value,
        1 as denominator_value
    from ticket_stamps
    where first_response_at is not null
    union all
    select
        'A5' as indicator_code,
        'standard' as indicator_variant,
        'count' as unit,
        'count' as measure_kind,
        customer_id,
        cast(received_at as date) as measured_on,
        1 as numerator_value,
        1 as denominator_value
    from feedback_stamps
    union all
    select
        'A5' as indicator_code,
        {{ dbt.concat(["'channel:'", 'channel']) }} as indicator_variant,
        'count' as unit,
        'count' as measure_kind,
        customer_id,
        cast(received_at as date) as measured_on,
        1 as numerator_value,
        1 as denominator_value
    from feedback_stamps
    union all
    select
        'A5' as indicator_code,
        {{ dbt.concat(["'category:'", 'category']) }} as indicator_variant,
        'count' as unit,
        'count' as measure_kind,
        customer_id,
        cast(received_at as date) as measured_on,
        1 as numerator_value,
        1 as denominator_value
    from feedback_stamps
    union all
    select
        'A5' as indicator_code,
        'addressed' as indicator_variant,
        'rate' as unit,
        'ratio' as measure_kind,
        customer_id,
        cast(received_at as date) as measured_on,
        case when responded_at is not null then 1 else 0 end as numerator_value,
        1 as denominator_value
    from feedback_stamps
    where is_valid
    union all
    select
        'A6' as indicator_code,
        'standard' as indicator_variant,
        'pct' as unit,
        'ratio' as measure_kind,
        customer_id,
        cast(received_at as date) as measured_on,
        case when is_valid then 100 else 0 end as numerator_value,
        1 as denominator_value
    from feedback_stamps
    union all
    select
        'A6' as indicator_code,
        {{ dbt.concat(["'channel:'", 'channel']) }} as indicator_variant,
        'pct' as unit,
        'ratio' as measure_kind,
        customer_id,
        cast(received_at as date) as measured_on,
        case when is_valid then 100 else 0 end as numerator_value,
        1 as denominator_value
    from feedback_stamps
    union all
    select
        'A7' as indicator_code,
        'followed_up' as indicator_variant,
        'rate' as unit,
        'ratio' as measure_kind,
        customer_id,
        cast(received_at as date) as measured_on,
        case when followed_up_at is not null then 1 else 0 end as numerator_value,
        1 as denominator_value
    from feedback_stamps
    where is_valid
),

item_periods as (
    select
        items.*,
        grains.period_grain,
        {{ period_start_by_grain('grains.period_grain', 'items.measured_on') }} as period_start_on
    from items
    cross join grains
),

sliced as (
    select
        item_periods.*,
        slices.slice_type,
        slices.slice_value
    from item_periods
    inner join slices
        on item_periods.customer_id = slices.customer_id
),

durations as (
    select
        indicator_code,
        indicator_variant as variant_prefix,
        unit,
        period_grain,
        period_start_on,
        slice_type,
        slice_value,
        {{ percentile('numerator_value', 0.5) }} as median_value,
        {{ percentile('numerator_value', 0.9) }} as p90_value,
        count(*) as n
    from sliced
    where measure_kind = 'duration'
    group by
        indicator_code,
        indicator_variant,
        unit,
        period_grain,
        period_start_on,
        slice_type,
        slice_value
),

duration_rows as (
    select
        indicator_code,
        {{ dbt.concat(['variant_prefix', "'median'"]) }} as indicator_variant,
        period_grain,
        period_start_on,
        slice_type,
        slice_value,
        median_value as numerator,
        1 as denominator,
        unit,
        n
    from durations
    union all
    select
        indicator_code,
        {{ dbt.concat(['variant_prefix', "'p90'"]) }} as indicator_variant,
        period_grain,
        period_start_on,
        slice_type,
        slice_value,
        p90_value as numerator,
        1 as denominator,
        unit,
        n
    from durations
),

ratio_rows as (
    select
        indicator_code,
        indicator_variant,
        period_grain,
        period_start_on,
        slice_type,
        slice_value,
        sum(numerator_value) as numerator,
        sum(denominator_value) as denominator,
        unit,
        count(*) as n
    from sliced
    where measure_kind = 'ratio'
    group by
        indicator_code,
        indicator_variant,
        unit,
        period_grain,
        period_start_on,
        slice_type,
        slice_value
),

counts as (
    select
        indicator_code,
        indicator_variant,
        unit,
        period_grain,
        period_start_on,
        slice_type,
        slice_value,
        sum(numerator_value) as numerator,
        count(*) as n
    from sliced
    where measure_kind = 'count'
    group by
        indicator_code,
        indicator_variant,
        unit,
        period_grain,
        period_start_on,
        slice_type,
        slice_value
),

count_variants as (
    select distinct
        indicator_code,
        indicator_variant,
        unit
    from counts
),

-- Every count variant seen anywhere, for every period and slice customers exist in, so a
-- quiet period reads 0 rather than missing.
count_keys as (
    select
        count_variants.indicator_code,
        count_variants.indicator_variant,
        count_variants.unit,
        retention.period_grain,
        retention.period_start_on,
        retention.slice_type,
        retention.slice_value
    from count_variants
    cross join retention
    union
    select
        indicator_code,
        indicator_variant,
        unit,
        period_grain,
        period_start_on,
        slice_type,
        slice_value
    from counts
),

count_rows as (
    select
        count_keys.indicator_code,
        count_keys.indicator_variant,
        count_keys.period_grain,
        count_keys.period_start_on,
        count_keys.slice_type,
        count_keys.slice_value,
        coalesce(counts.numerator, 0) as numerator,
        1 as denominator,
        count_keys.unit,
        coalesce(counts.n, 0) as n
    from count_keys
    left join counts
        on
            count_keys.indicator_code = counts.indicator_code
            and count_keys.indicator_variant = counts.indicator_variant
            and count_keys.period_grain = counts.period_grain
            and count_keys.period_start_on = counts.period_start_on
            and count_keys.slice_type = counts.slice_type
            and count_keys.slice_value = counts.slice_value
),

final as (
    select * from duration_rows
    union all
    select * from ratio_rows
    union all
    select * from count_rows
)

select
    final.*,
    {{ is_complete_period('final.period_grain', 'final.period_start_on') }} as is_complete_period
from final
