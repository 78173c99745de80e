with source as (
    select * from {{ source('crm', 'costs') }}
),

fx_rates as (
    select * from {{ ref('fx_rates') }}
),

renamed as (
    select
        cast(trim(cost_id) as {{ dbt.type_string() }}) as cost_id,
        cast(month_on as date) as month_on,
        cast(lower(trim(cost_type)) as {{ dbt.type_string() }}) as cost_type,
        cast(amount as {{ dbt.type_numeric() }}) as amount,
        cast(upper(trim(currency)) as {{ dbt.type_string() }}) as currency,
        _file as source_file
    from source
),

converted as (
    -- amount in its own currency, converted to the reporting currency at the seed's rate
    select
        renamed.cost_id,
        renamed.month_on,
        renamed.cost_type,
        renamed.amount,
        cast(
            renamed.amount * fx_rates.rate_to_cny as {{ dbt.type_numeric() }}
        ) as amount_cny,
        renamed.currency,
        renamed.source_file
    from renamed
    left join fx_rates
        on renamed.currency = fx_rates.currency
)

select * from converted
