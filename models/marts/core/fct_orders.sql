-- Invoice-level orders and credit notes known by as_of, in the reporting currency beside
-- the original.
-- Point in time: only rows dated on or before the as_of var (see macros/as_of.sql).
with source as (
    select * from {{ ref('stg_crm__orders') }}
),

final as (
    select
        order_id,
        customer_id,
        ordered_on,
        amount,
        currency,
        product_line,
        is_credit_note,
        contract_id,
        amount_cny
    from source
    where ordered_on <= {{ as_of_date() }}
)

select * from final
