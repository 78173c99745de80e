-- Industry benchmarks (METRICS G6): each year's company-level indicator from loyalty_indicators
-- beside the industry averages the user keeps in the seed industry_benchmarks (annual figures
-- on the scale of loyalty_indicators.value: rate 0–1, pct 0–100, NPS −100…100).
-- One row per benchmark row and year; our value is null where the warehouse has no such
-- indicator for the year. comparison reads the catalogue's direction: 'better' when our value
-- is above a higher_is_better benchmark or below a lower_is_better one, 'on_par' when equal,
-- null for neutral indicators and missing values. Names: loyalty_indicator_catalogue, joined
-- on indicator_code.
with indicators as (
    select * from {{ ref('loyalty_indicators') }}
    where period_grain = 'year' and slice_type = 'company'
),

benchmarks as (
    select * from {{ ref('industry_benchmarks') }}
),

catalogue as (
    select * from {{ ref('indicator_catalogue') }}
),

years as (
    select distinct period_start_on from indicators
),

benchmark_years as (
    select
        years.period_start_on,
        benchmarks.industry,
        benchmarks.indicator_code,
        benchmarks.indicator_variant,
        benchmarks.benchmark_value,
        benchmarks.unit as benchmark_unit,
        benchmarks.source,
        benchmarks.is_example
    from benchmarks
    cross join years
),

compared as (
    select
        benchmark_years.period_start_on,
        benchmark_years.indicator_code,
        benchmark_years.indicator_variant,
        catalogue.direction,
        indicators.unit,
        indicators.numerator,
        indicators.denominator,
        indicators.value,
        indicators.n,
        benchmark_years.industry,
        benchmark_years.benchmark_value,
        benchmark_years.benchmark_unit,
        benchmark_years.source,
        benchmark_years.is_example
    from benchmark_years
    inner join catalogue
        on benchmark_years.indicator_code = catalogue.indicator_code
    left join indicators
        on
            benchmark_years.indicator_code = indicators.indicator_code
            and benchmark_years.indicator_variant = indicators.indicator_variant
            and benchmark_years.period_start_on = indicators.period_start_on
),

final as (
    select
        period_start_on,
        cast(indicator_code as {{ dbt.type_string() }}) as indicator_code,
        cast(indicator_variant as {{ dbt.type_string() }}) as indicator_variant,
        cast(direction as {{ dbt.type_string() }}) as direction,
        cast(unit as {{ dbt.type_string() }}) as unit,
        cast(numerator as {{ type_double() }}) as our_numerator,
        cast(denominator as {{ type_double() }}) as our_denominator,
        cast(value as {{ type_double() }}) as our_value,
        cast(n as {{ dbt.type_bigint() }}) as n,
        cast(industry as {{ dbt.type_string() }}) as benchmark_industry,
        cast(benchmark_value as {{ type_double() }}) as benchmark_value,
        cast(benchmark_unit as {{ dbt.type_string() }}) as benchmark_unit,
        cast(source as {{ dbt.type_string() }}) as benchmark_source,
        is_example as is_example_benchmark,
        cast(value - benchmark_value as {{ type_double() }}) as gap_to_benchmark,
        cast(value / nullif(benchmark_value, 0) as {{ type_double() }}) as value_to_benchmark_ratio,
        cast(
            case
                when value is null or benchmark_value is null then null
                when direction = 'neutral' then null
                when value = benchmark_value then 'on_par'
                when direction = 'higher_is_better' and value > benchmark_value then 'better'
                when direction = 'lower_is_better' and value < benchmark_value then 'better'
                else 'worse'
            end as {{ dbt.type_string() }}
        ) as comparison,
        unit is null or unit = benchmark_unit as is_unit_consistent
    from compared
)

select * from final
