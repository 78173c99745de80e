-- Invoice-level orders and credit notes known by as_of, in the reporting currency beside the
-- original.
-- Point in time: only rows dated on or before the as_of var (see macros/as_of.sql).
-- order_sequence numbers each customer's invoices (credit notes excluded) by date; is_repeat
-- marks an invoice dated after the customer's first invoice day (several invoices on the first
-- day are all first purchases). Both are null for a credit note.
--
-- Incremental: a run rebuilds only the customers the ingestion's change record names for
-- the orders loaded since the last run (new drops; a corrected drop, whose removed rows'
-- customers are recorded too), and those with an order dated between the last run's as_of
-- and this one's (macros/changes.sql); without a state table, every customer. All of such
-- a customer's orders are rebuilt, since a new or removed invoice renumbers the others; the
-- post-hook deletes those customers' orders no longer known (removed from raw by a
-- corrected drop, or dated after a new, earlier as_of: unknown_fact_rows_delete). A change
-- of this model's SQL, of the fx_rates seed or of a var needs a run with --full-refresh,
-- which the jobs start by themselves (orchestration/assets/dbt.py); a change of its columns
-- fails the run until then (on_schema_change).
{{
    config(
        materialized=incremental_materialization(),
        unique_key='order_id',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        post_hook=[
            incremental_hook(
                "{{ unknown_fact_rows_delete("
                ~ "'order_id', ref('stg_crm__orders'), ['orders'], 'source.ordered_on'"
                ~ ") }}"
            ),
        ] + write_incremental_state(),
    )
}}

with source as (
    select * from {{ ref('stg_crm__orders') }}
),

known as (
    select * from source
    where ordered_on <= {{ as_of_date() }}
),

{% if is_incremental() %}
    {{ changed_customers_since_stored_state(['orders'], 'source', 'source.ordered_on') }}

    in_scope as (
        select * from known
        where customer_id in (select changed_customers.customer_id from changed_customers)
    ),
{% else %}
    in_scope as (
        select * from known
    ),
{% endif %}

invoices as (
    select
        order_id,
        row_number() over (
            partition by customer_id
            order by ordered_on, order_id
        ) as order_sequence,
        min(ordered_on) over (partition by customer_id) as first_ordered_on
    from in_scope
    where not is_credit_note
),

final as (
    select
        in_scope.order_id,
        in_scope.customer_id,
        in_scope.ordered_on,
        in_scope.amount,
        in_scope.currency,
        in_scope.product_line,
        in_scope.is_credit_note,
        in_scope.contract_id,
        in_scope.amount_cny,
        cast(invoices.order_sequence as {{ dbt.type_bigint() }}) as order_sequence,
        in_scope.ordered_on > invoices.first_ordered_on as is_repeat
    from in_scope
    left join invoices
        on in_scope.order_id = invoices.order_id
)

select * from final
