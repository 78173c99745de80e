-- Data quality of the loads (METRICS I2) in the tidy shape of loyalty_indicators, per period
-- in which the ingestion read the files (month, quarter, year of started_at) and per slice:
-- 'company' (all tables) and 'table' (the raw table). From raw_meta.load_ledger:
--   standard            rows accepted / rows in (numerator and denominator are the counts;
--                       a file's data rows in = accepted + quarantined: the blank rows an
--                       export carries, skipped and counted in the ledger's rows_blank, are
--                       left out so they do not dilute the rates);
--   quarantine_rate     rows quarantined / rows in;
--   file_rejection_rate files rejected whole / files received (loaded, replaced, rejected);
--   a period of rejected files only has 0 rows in, so its row rates are null in the mart.
-- and from raw_quarantine.* (through stg_meta__quarantined_rows):
--   rule:<rules>        quarantined rows by the rules they broke (count, denominator = 1).
-- n = files behind the figure (rows for rule:…).
-- Not point-in-time filtered: the ledger describes the warehouse's own loads, not the business
-- history that as_of cuts. A replaced drop keeps its earlier ledger line, so rows in count
-- every load of the period; raw_quarantine holds only the current rows of a replaced drop.
-- Not an items family (macros/indicators.sql): its slices are the raw tables, not customers.
with ledger as (
    select * from {{ ref('stg_meta__load_ledger') }}
    where load_status in ('loaded', 'replaced', 'rejected')
),

quarantined_rows as (
    select * from {{ ref('stg_meta__quarantined_rows') }}
),

grains as (
    {{ period_grains() }}
),

slice_types as (
    select 'company' as slice_type
    union all
    select 'table' as slice_type
),

ledger_periods as (
    select
        ledger.*,
        grains.period_grain,
        {{ period_start_by_grain('grains.period_grain', 'ledger.loaded_on') }} as period_start_on,
        slice_types.slice_type,
        case slice_types.slice_type
            when 'company' then 'all'
            else ledger.table_name
        end as slice_value
    from ledger
    cross join grains
    cross join slice_types
),

ledger_totals as (
    select
        period_grain,
        period_start_on,
        slice_type,
        slice_value,
        sum(rows_in - coalesce(rows_blank, 0)) as rows_in,
        sum(rows_accepted) as rows_accepted,
        sum(rows_quarantined) as rows_quarantined,
        sum(case when load_status = 'rejected' then 1 else 0 end) as files_rejected,
        count(*) as files_received
    from ledger_periods
    group by
        period_grain,
        period_start_on,
        slice_type,
        slice_value
),

ledger_rows as (
    {%- set rates = {'code': 'I2', 'unit': 'rate', 'n': 'files_received'} %}
    {{ indicator_rows([
        dict(rates, variant='standard', numerator='rows_accepted', denominator='rows_in'),
        dict(rates, variant='quarantine_rate', numerator='rows_quarantined',
             denominator='rows_in'),
        dict(rates, variant='file_rejection_rate', numerator='files_rejected',
             denominator='files_received'),
    ], defaults={'from': 'ledger_totals'}) }}
),

quarantine_periods as (
    select
        quarantined_rows.*,
        grains.period_grain,
        {{ period_start_by_grain('grains.period_grain', 'quarantined_rows.loaded_on') }}
            as period_start_on,
        slice_types.slice_type,
        case slice_types.slice_type
            when 'company' then 'all'
            else quarantined_rows.table_name
        end as slice_value
    from quarantined_rows
    cross join grains
    cross join slice_types
),

rule_rows as (
    select
        'I2' as indicator_code,
        {{ dbt.concat(["'rule:'", "broken_rules"]) }} as indicator_variant,
        period_grain,
        period_start_on,
        slice_type,
        slice_value,
        count(*) as numerator,
        1 as denominator,
        'count' as unit,
        count(*) as n
    from quarantine_periods
    group by
        broken_rules,
        period_grain,
        period_start_on,
        slice_type,
        slice_value
),

final as (
    select * from ledger_rows
    union all
    select * from rule_rows
)

select
    final.*,
    {{ is_complete_period('final.period_grain', 'final.period_start_on') }} as is_complete_period
from final
