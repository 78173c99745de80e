-- Every invoice and credit note the CRM export holds (after as_of too: the CLV holdout reads
-- past it), with the rule that says whether it bills a contract. Contract revenue is valued by
-- the contract model (sBG), purchase revenue by the purchase models; this is the one place
-- that splits them, for customer_clv_inputs and (through features_clv_orders) for the CLV
-- asset's trailing revenue and validation split.
-- An order bills a contract when its contract_id is given; when no order of the export
-- carries a contract_id at all, when the same customer holds a contract (fct_contracts: signed
-- by as_of) of the same product line whose term (start_on .. end_on) contains the order's date.
with orders as (
    select * from {{ ref('stg_crm__orders') }}
),

contracts as (
    select * from {{ ref('fct_contracts') }}
),

contract_id_usage as (
    select count(contract_id) as orders_with_contract_id
    from orders
),

matched_to_contract as (
    select distinct orders.order_id
    from orders
    inner join contracts
        on
            orders.customer_id = contracts.customer_id
            and orders.product_line = contracts.product_line
            and orders.ordered_on >= contracts.start_on
            and orders.ordered_on <= contracts.end_on
),

final as (
    select
        orders.order_id,
        orders.customer_id,
        orders.ordered_on,
        orders.product_line,
        orders.amount_cny,
        orders.is_credit_note,
        coalesce(
            orders.contract_id is not null
            or (
                contract_id_usage.orders_with_contract_id = 0
                and matched_to_contract.order_id is not null
            ),
            false
        ) as bills_contract
    from orders
    cross join contract_id_usage
    left join matched_to_contract
        on orders.order_id = matched_to_contract.order_id
)

select * from final
