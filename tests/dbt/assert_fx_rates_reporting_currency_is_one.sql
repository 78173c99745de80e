-- Guards the FX seed: every *_cny column is amount × rate_to_cny, so the reporting currency
-- (var reporting_currency) must be in the seed at exactly 1 and every rate must be positive.
-- An edited seed that breaks this would silently rescale all revenue.
with fx_rates as (
    select * from {{ ref('fx_rates') }}
),

reporting as (
    select count(*) as rows_at_rate_one
    from fx_rates
    where currency = '{{ var("reporting_currency") }}' and rate_to_cny = 1
)

select
    'reporting currency missing or not at rate 1' as problem,
    cast(null as {{ dbt.type_string() }}) as currency
from reporting
where rows_at_rate_one <> 1

union all

select
    'rate not positive' as problem,
    currency
from fx_rates
where rate_to_cny is null or rate_to_cny <= 0
