-- The tidy indicator mart: one row per indicator, variant, period and slice, with
-- numerator, denominator and value, by METRICS.md code. Names are not repeated on the rows:
-- they are in loyalty_indicator_catalogue, joined on indicator_code (a relationships test
-- holds every code of this mart to it).
-- Retention indicators come from loyalty_retention, cohort retention (B8 cohort:<label>:k=<k>:
-- the share of a cohort, customers acquired in the period_grain period <label>, active at the
-- end of the k-th period after it, dated by that observed period) from the curves of
-- int_cohort_retention_curves; every other group from an intermediate model in the same tidy
-- shape (indicator_code, indicator_variant, period_grain, period_start_on, slice_type,
-- slice_value, numerator, denominator, unit, n), listed here.
-- Tidy rule: a row says something. A 0/0 row (numerator 0 and denominator 0: nothing
-- happened to nobody, e.g. a per-customer rate in a slice with no customer active in the
-- period) is dropped; a zero over a non-zero denominator (no complaint among 40 active
-- customers) is information and kept, as is a row whose numerator or denominator is null.
--
-- Stored by period (macros/rewrite_window.sql): a daily run rewrites the periods from the
-- run's window on (the periods open at the last run, and those of the dates and customers
-- the loads since then touched) and keeps the others; on Spark, and with --full-refresh, it
-- is a table rebuilt in full. The rows of a closed period in its inputs (tables rebuilt in
-- full, or stored by period themselves) read data dated up to the period's end, except
-- these, rewritten in full each run (rows_rewritten_in_full, macros/rewrite_window.sql):
-- what a later fact or a move of as_of changes in a closed period (a renewal signed later,
-- a churn reason recorded after the churn month, a response, adoption or resolution stamped
-- later, a referred customer acquired later, an event's 90-day window, the load ledger).
-- A variant of a zero-filled family (service, complaint, engagement: indicator_fanout) that
-- a load brings for the first time, or removes, moves every period: then every period is
-- rewritten (indicator_variants_moved). A customer whose account manager moved rewrites the
-- rows of its managers' slices from its acquisition on (by_slice), not every slice.
{%- set full_rows = rows_rewritten_in_full('loyalty_indicators') %}
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
{{ stored_by_period(
    full_rows=full_rows,
    by_slice=true,
    variant_inputs=[
        'int_service_indicators', 'int_complaint_indicators', 'int_engagement_indicators'
    ],
    variant_codes=[
        'A4', 'A5', 'A6', 'A7', 'C1', 'C2', 'C3', 'C4', 'C5', 'C6', 'C7', 'C8',
        'D1', 'D2', 'D3', 'D4', 'D5',
    ],
) }}

with retention as (
    select * from {{ ref('loyalty_retention') }}
),

cohort_rows as (
    select
        'B8' as indicator_code,
        {{ dbt.concat([
            "'cohort:'",
            "cohort_label",
            "':k='",
            "cast(periods_since_acquisition as " ~ dbt.type_string() ~ ")",
        ]) }} as indicator_variant,
        cohort_grain as period_grain,
        observed_period_start_on as period_start_on,
        slice_type,
        slice_value,
        customers_active as numerator,
        cohort_size as denominator,
        'rate' as unit,
        cohort_size as n
    from (
        -- the rows of the periods this run rewrites, before their names are built
        {{ select_rewritten_rows(ref('int_cohort_retention_curves')) }}
    ) as curves
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
    {%- for model in ['cohort_rows'] + indicator_models %}
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
        from {{ model if loop.first else ref(model) }}
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
),

final as (
    -- strings as dbt.type_string(), the contract's text on PostgreSQL, where a literal's
    -- varchar would fail the incremental run's schema comparison (docs/engines.md)
    select
        cast(measured.indicator_code as {{ dbt.type_string() }}) as indicator_code,
        cast(measured.indicator_variant as {{ dbt.type_string() }}) as indicator_variant,
        cast(measured.period_grain as {{ dbt.type_string() }}) as period_grain,
        measured.period_start_on,
        cast(measured.slice_type as {{ dbt.type_string() }}) as slice_type,
        cast(measured.slice_value as {{ dbt.type_string() }}) as slice_value,
        {{ is_complete_period('measured.period_grain', 'measured.period_start_on') }}
            as is_complete_period,
        measured.numerator,
        measured.denominator,
        cast(measured.numerator / nullif(measured.denominator, 0) as {{ type_double() }}) as value,
        cast(measured.unit as {{ dbt.type_string() }}) as unit,
        cast(measured.n as {{ dbt.type_bigint() }}) as n
    from measured
    where
        measured.numerator != 0
        or measured.denominator != 0
        or measured.numerator is null
        or measured.denominator is null
),

rewritten as (
    {{ select_rewritten_rows('final', full_rows) }}
)

select * from rewritten
