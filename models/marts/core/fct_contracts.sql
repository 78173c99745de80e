-- Contracts signed by as_of.
-- Point in time: only rows dated on or before the as_of var (see macros/as_of.sql).
with source as (
    select * from {{ ref('stg_crm__contracts') }}
),

final as (
    select
        contract_id,
        customer_id,
        product_line,
        start_on,
        end_on,
        contract_value,
        currency,
        renewal_of,
        status,
        contract_value_cny
    from source
    where start_on <= {{ as_of_date() }}
)

select * from final
