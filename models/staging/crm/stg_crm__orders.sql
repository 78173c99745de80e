with source as (
    select * from {{ source('crm', 'orders') }}
),

fx_rates as (
    select * from {{ ref('fx_rates') }}
),

renamed as (
    select
        cast(trim(order_id) as {{ dbt.type_string() }}) as order_id,
        cast(trim(customer_id) as {{ dbt.type_string() }}) as customer_id,
        cast(ordered_on as date) as ordered_on,
        cast(amount as {{ dbt.type_numeric() }}) as amount,
        cast(upper(trim(currency)) as {{ dbt.type_string() }}) as currency,
        cast(lower(trim(product_line)) as {{ dbt.type_string() }}) as product_line,
        cast(is_credit_note as {{ dbt.type_boolean() }}) as is_credit_note,
        cast(trim(contract_id) as {{ dbt.type_string() }}) as contract_id,
        _file as source_file
    from source
),

converted as (
    -- amount in its own currency, converted to the reporting currency at the seed's rate
    select
        renamed.order_id,
        renamed.customer_id,
        renamed.ordered_on,
        renamed.amount,
        cast(
            renamed.amount * fx_rates.rate_to_cny as {{ dbt.type_numeric() }}
        ) as amount_cny,
        renamed.currency,
        renamed.product_line,
        renamed.is_credit_note,
        renamed.contract_id,
        renamed.source_file
    from renamed
    left join fx_rates
        on renamed.currency = fx_rates.currency
)

select * from converted
