-- Invoice-level orders and credit notes known by as_of, in the reporting currency beside the
-- original.
-- Point in time: only rows dated on or before the as_of var (see macros/as_of.sql).
-- order_sequence numbers each customer's invoices (credit notes excluded) by date; is_repeat
-- marks an invoice dated after the customer's first invoice day (several invoices on the first
-- day are all first purchases). Both are null for a credit note.
with source as (
    select * from {{ ref('stg_crm__orders') }}
),

known as (
    select * from source
    where ordered_on <= {{ as_of_date() }}
),

invoices as (
    select
        order_id,
        row_number() over (
            partition by customer_id
            order by ordered_on, order_id
        ) as order_sequence,
        min(ordered_on) over (partition by customer_id) as first_ordered_on
    from known
    where not is_credit_note
),

final as (
    select
        known.order_id,
        known.customer_id,
        known.ordered_on,
        known.amount,
        known.currency,
        known.product_line,
        known.is_credit_note,
        known.contract_id,
        known.amount_cny,
        cast(invoices.order_sequence as {{ dbt.type_bigint() }}) as order_sequence,
        known.ordered_on > invoices.first_ordered_on as is_repeat
    from known
    left join invoices
        on known.order_id = invoices.order_id
)

select * from final
