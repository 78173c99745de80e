-- Complaint indicators in the tidy shape of loyalty_indicators (METRICS D1–D5), per period
-- (month, quarter, year) and slice (int_customer_slices).
--   D1  complaints opened in the period / customers active in it
--       (loyalty_retention.customers_active_in_period) ('standard').
--   D2  100 × complaints closed with outcome 'resolved' / complaints opened in the period
--       ('standard'); the same over the complaints of the period closed by as_of
--       ('of_closed'), which does not fall while recent complaints are still open.
--       'partially_resolved', 'unresolved' and 'withdrawn' are not successes.
--   D3  hours from opening to closing, complaints closed in the period: 'median', 'p90'.
--   D4  mean satisfaction_after of the complaints closed in the period that carry one
--       ('standard', unit score on the 1–5 scale the landing contract fixes), and the same
--       as % of the scale maximum ('pct_of_max').
--   D5  complaints opened, by category ('category:<category>'); 'recurring_customers':
--       customers with two or more complaints of one category opened in the period.
-- Medians, p90s and counts are statistics, not ratios: the statistic is the numerator and
-- the denominator is 1. Counts and D1 exist for every period and slice of loyalty_retention
-- (zero when nothing happened); ratios and percentiles only where there is something to
-- measure. Durations are dbt.datediff in minutes / 60 (an hour-granularity datediff counts
-- hour boundaries). Point in time: a closing stamped after as_of has not happened yet.
{%- set satisfaction_after_scale_max = 5 %}
with complaints as (
    select * from {{ ref('fct_complaints') }}
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

closed_flags as (
    select
        *,
        coalesce(cast(resolved_at as date) <= {{ as_of_date() }}, false) as is_closed
    from complaints
),

complaint_stamps as (
    select
        customer_id,
        opened_at,
        category,
        case when is_closed then resolved_at end as resolved_at,
        case when is_closed then outcome end as outcome,
        case when is_closed then satisfaction_after end as satisfaction_after
    from closed_flags
),

-- One row per thing measured: measure_kind says how it aggregates ('count': sum, over 1;
-- 'per_customer': sum, over the customers active in the period; 'ratio': sum over sum of
-- denominator_value; 'duration': median and p90 of numerator_value).
items as (
    select
        'D1' as indicator_code,
        'standard' as indicator_variant,
        'per_customer' as unit,
        'per_customer' as measure_kind,
        customer_id,
        cast(opened_at as date) as measured_on,
        1 as numerator_value,
        1 as denominator_value
    from complaint_stamps
    union all
    select
        'D2' as indicator_code,
        'standard' as indicator_variant,
        'pct' as unit,
        'ratio' as measure_kind,
        customer_id,
        cast(opened_at as date) as measured_on,
        case when outcome = 'resolved' then 100 else 0 end as numerator_value,
        1 as denominator_value
    from complaint_stamps
    union all
    select
        'D2' as indicator_code,
        'of_closed' as indicator_variant,
        'pct' as unit,
        'ratio' as measure_kind,
        customer_id,
        cast(opened_at as date) as measured_on,
        case when outcome = 'resolved' then 100 else 0 end as numerator_value,
        1 as denominator_value
    from complaint_stamps
    where resolved_at is not null
    union all
    select
        'D3' as indicator_code,
        '' as indicator_variant,
        'hours' as unit,
        'duration' as measure_kind,
        customer_id,
        cast(resolved_at as date) as measured_on,
        {{ dbt.datediff('opened_at', 'resolved_at', 'minute') }}
        / 60.0 as numerator_value,
        1 as denominator_value
    from complaint_stamps
    where resolved_at is not null
    union all
    select
        'D4' as indicator_code,
        'standard' as indicator_variant,
        'score' as unit,
        'ratio' as measure_kind,
        customer_id,
        cast(resolved_at as date) as measured_on,
        satisfaction_after as numerator_value,
        1 as denominator_value
    from complaint_stamps
    where satisfaction_after is not null
    union all
    select
        'D4' as indicator_code,
        'pct_of_max' as indicator_variant,
        'pct' as unit,
        'ratio' as measure_kind,
        customer_id,
        cast(resolved_at as date) as measured_on,
        100.0 * satisfaction_after / {{ satisfaction_after_scale_max }} as numerator_value,
        1 as denominator_value
    from complaint_stamps
    where satisfaction_after is not null
    union all
    select
        'D5' as indicator_code,
        {{ dbt.concat(["'category:'", 'category']) }} as indicator_variant,
        'count' as unit,
        'count' as measure_kind,
        customer_id,
        cast(opened_at as date) as measured_on,
        1 as numerator_value,
        1 as denominator_value
    from complaint_stamps
),

item_periods as (
    select
        items.*,
        grains.period_grain,
        {{ period_start_by_grain('grains.period_grain', 'items.measured_on') }} as period_start_on
    from items
    cross join grains
),

-- D5 recurring issues: a customer counts once in a period when some category has two or
-- more of its complaints opened in it.
repeated_categories as (
    select
        customer_id,
        period_grain,
        period_start_on
    from item_periods
    where indicator_code = 'D5'
    group by
        customer_id,
        indicator_variant,
        period_grain,
        period_start_on
    having count(*) >= 2
),

recurring_customers as (
    select distinct
        'D5' as indicator_code,
        'recurring_customers' as indicator_variant,
        'count' as unit,
        'count' as measure_kind,
        customer_id,
        1 as numerator_value,
        1 as denominator_value,
        period_grain,
        period_start_on
    from repeated_categories
),

period_items as (
    select
        indicator_code,
        indicator_variant,
        unit,
        measure_kind,
        customer_id,
        numerator_value,
        denominator_value,
        period_grain,
        period_start_on
    from item_periods
    union all
    select
        indicator_code,
        indicator_variant,
        unit,
        measure_kind,
        customer_id,
        numerator_value,
        denominator_value,
        period_grain,
        period_start_on
    from recurring_customers
),

sliced as (
    select
        period_items.*,
        slices.slice_type,
        slices.slice_value
    from period_items
    inner join slices
        on period_items.customer_id = slices.customer_id
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

measured as (
    select
        indicator_code,
        indicator_variant,
        unit,
        measure_kind,
        period_grain,
        period_start_on,
        slice_type,
        slice_value,
        sum(numerator_value) as numerator,
        count(*) as n
    from sliced
    where measure_kind in ('count', 'per_customer')
    group by
        indicator_code,
        indicator_variant,
        unit,
        measure_kind,
        period_grain,
        period_start_on,
        slice_type,
        slice_value
),

measured_variants as (
    select distinct
        indicator_code,
        indicator_variant,
        unit,
        measure_kind
    from measured
),

-- Every count and per-customer variant seen anywhere, for every period and slice customers
-- exist in, so a quiet period reads 0 rather than missing.
measured_keys as (
    select
        measured_variants.indicator_code,
        measured_variants.indicator_variant,
        measured_variants.unit,
        measured_variants.measure_kind,
        retention.period_grain,
        retention.period_start_on,
        retention.slice_type,
        retention.slice_value
    from measured_variants
    cross join retention
    union
    select
        indicator_code,
        indicator_variant,
        unit,
        measure_kind,
        period_grain,
        period_start_on,
        slice_type,
        slice_value
    from measured
),

measured_rows as (
    select
        measured_keys.indicator_code,
        measured_keys.indicator_variant,
        measured_keys.period_grain,
        measured_keys.period_start_on,
        measured_keys.slice_type,
        measured_keys.slice_value,
        coalesce(measured.numerator, 0) as numerator,
        case
            when measured_keys.measure_kind = 'count' then 1
            else coalesce(retention.customers_active_in_period, 0)
        end as denominator,
        measured_keys.unit,
        case
            when measured_keys.measure_kind = 'count' then coalesce(measured.n, 0)
            else coalesce(retention.customers_active_in_period, 0)
        end as n
    from measured_keys
    left join measured
        on
            measured_keys.indicator_code = measured.indicator_code
            and measured_keys.indicator_variant = measured.indicator_variant
            and measured_keys.period_grain = measured.period_grain
            and measured_keys.period_start_on = measured.period_start_on
            and measured_keys.slice_type = measured.slice_type
            and measured_keys.slice_value = measured.slice_value
    left join retention
        on
            measured_keys.period_grain = retention.period_grain
            and measured_keys.period_start_on = retention.period_start_on
            and measured_keys.slice_type = retention.slice_type
            and measured_keys.slice_value = retention.slice_value
),

final as (
    select * from duration_rows
    union all
    select * from ratio_rows
    union all
    select * from measured_rows
)

select
    final.*,
    {{ is_complete_period('final.period_grain', 'final.period_start_on') }} as is_complete_period
from final
