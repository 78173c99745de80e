with source as (
    select * from {{ source('crm', 'contracts') }}
),

fx_rates as (
    select * from {{ ref('fx_rates') }}
),

renamed as (
    select
        cast(trim(contract_id) as {{ dbt.type_string() }}) as contract_id,
        cast(trim(customer_id) as {{ dbt.type_string() }}) as customer_id,
        cast(lower(trim(product_line)) as {{ dbt.type_string() }}) as product_line,
        cast(start_on as date) as start_on,
        cast(end_on as date) as end_on,
        cast(contract_value as {{ dbt.type_numeric() }}) as contract_value,
        cast(upper(trim(currency)) as {{ dbt.type_string() }}) as currency,
        cast(trim(renewal_of) as {{ dbt.type_string() }}) as renewal_of,
        cast(lower(trim(status)) as {{ dbt.type_string() }}) as status,
        _file as source_file
    from source
),

converted as (
    -- contract_value in its own currency, converted to the reporting currency at the seed's rate
    select
        renamed.contract_id,
        renamed.customer_id,
        renamed.product_line,
        renamed.start_on,
        renamed.end_on,
        renamed.contract_value,
        cast(
            renamed.contract_value * fx_rates.rate_to_cny as {{ dbt.type_numeric() }}
        ) as contract_value_cny,
        renamed.currency,
        renamed.renewal_of,
        renamed.status,
        renamed.source_file
    from renamed
    left join fx_rates
        on renamed.currency = fx_rates.currency
)

select * from converted
