-- The tidy indicator mart: one row per indicator, variant, period and slice, with
-- numerator, denominator and value, by METRICS.md code. Names are not repeated on the rows:
-- they are in loyalty_indicator_catalogue, joined on indicator_code (a relationships test
-- holds every code of this mart to it).
-- Retention indicators come from loyalty_retention; every other group from an intermediate
-- model in the same tidy shape (indicator_code, indicator_variant, period_grain,
-- period_start_on, slice_type, slice_value, numerator, denominator, unit, n), listed here.
-- Tidy rule: a row says something. A 0/0 row (numerator 0 and denominator 0: nothing
-- happened to nobody, e.g. a per-customer rate in a slice with no customer active in the
-- period) is dropped; a zero over a non-zero denominator (no complaint among 40 active
-- customers) is information and kept, as is a row whose numerator or denominator is null.
{%- set indicator_models = [
    'int_survey_indicators',
    'int_value_indicators',
    'int_renewal_churn_indicators',
    'int_advocacy_indicators',
    'int_data_quality_indicators',
    'int_distribution_indicators',
    'int_service_indicators',
    'int_engagement_indicators',
    'int_complaint_indicators',
] %}
with retention as (
    select * from {{ ref('loyalty_retention') }}
),

measured as (
    {%- set rows = [
        ('B1', 'standard', 'customers_retained', 'customers_at_start', 'rate'),
        ('B1', 'seed_002', 'customers_retained', 'customers_at_end', 'rate'),
        ('B2', 'standard', 'customers_lost', 'customers_at_start', 'rate'),
        ('B4', 'standard', 'customers_new', 'customers_active_in_period - customers_new', 'ratio'),
        ('B7', 'standard', 'customers_won_back', 'customers_lapsed_at_start', 'rate'),
    ] %}
    {%- for code, variant, numerator, denominator, unit in rows %}
        select
            '{{ code }}' as indicator_code,
            '{{ variant }}' as indicator_variant,
            period_grain,
            period_start_on,
            slice_type,
            slice_value,
            cast({{ numerator }} as {{ type_double() }}) as numerator,
            cast({{ denominator }} as {{ type_double() }}) as denominator,
            '{{ unit }}' as unit,
            customers_active_in_period as n
        from retention
        union all
    {%- endfor %}
    {%- for model in indicator_models %}
        select
            indicator_code,
            indicator_variant,
            period_grain,
            period_start_on,
            slice_type,
            slice_value,
            cast(numerator as {{ type_double() }}) as numerator,
            cast(denominator as {{ type_double() }}) as denominator,
            unit,
            n
        from {{ ref(model) }}
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
),

final as (
    select
        measured.indicator_code,
        measured.indicator_variant,
        measured.period_grain,
        measured.period_start_on,
        measured.slice_type,
        measured.slice_value,
        {{ is_complete_period('measured.period_grain', 'measured.period_start_on') }}
            as is_complete_period,
        measured.numerator,
        measured.denominator,
        cast(measured.numerator / nullif(measured.denominator, 0) as {{ type_double() }}) as value,
        measured.unit,
        cast(measured.n as {{ dbt.type_bigint() }}) as n
    from measured
    where
        measured.numerator != 0
        or measured.denominator != 0
        or measured.numerator is null
        or measured.denominator is null
)

select * from final
