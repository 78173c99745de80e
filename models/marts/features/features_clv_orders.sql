-- What the CLV asset reads of int_orders_matched_to_contracts (docs/layers.md): a contracted
-- copy, so that the asset never reads an intermediate relation. A view: the rows are already a
-- table one layer down, and the asset reads them with a filter, twice.
{{ config(materialized='view') }}

with orders as (
    select * from {{ ref('int_orders_matched_to_contracts') }}
),

final as (
    select
        order_id,
        customer_id,
        ordered_on,
        product_line,
        amount_cny,
        is_credit_note,
        bills_contract
    from orders
)

select * from final
