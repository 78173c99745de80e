-- The indicator catalogue for BI: one row per indicator code with its group, English and
-- Chinese names, unit, direction, grain, formula and the published tables that hold it, from
-- the seed indicator_catalogue. The indicator marts (loyalty_indicators, loyalty_benchmarks)
-- carry the code only; a reader joins this relation on indicator_code for the names, which
-- are so stored once rather than on each of the mart's rows. A view: about 60 rows read
-- through the seed, nothing written (the published copy holds it as a table).
{{ config(materialized='view') }}

with catalogue as (
    select * from {{ ref('indicator_catalogue') }}
),

final as (
    select
        cast(indicator_code as {{ dbt.type_string() }}) as indicator_code,
        cast(indicator_group as {{ dbt.type_string() }}) as indicator_group,
        cast(name_en as {{ dbt.type_string() }}) as indicator_name_en,
        cast(name_zh as {{ dbt.type_string() }}) as indicator_name_zh,
        cast(unit as {{ dbt.type_string() }}) as unit,
        cast(direction as {{ dbt.type_string() }}) as direction,
        cast(grain as {{ dbt.type_string() }}) as grain,
        cast(formula as {{ dbt.type_string() }}) as formula,
        cast(found_in as {{ dbt.type_string() }}) as found_in
    from catalogue
)

select * from final
