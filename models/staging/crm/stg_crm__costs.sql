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
    select
        renamed.*,
        cast(
            renamed.amount * fx_rates.rate_to_cny as {{ dbt.type_numeric() }}
        ) as amount_cny
    from renamed
    left join fx_rates
        on renamed.currency = fx_rates.currency
)

select * from converted
