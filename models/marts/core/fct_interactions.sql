-- Customer interactions (consultations, visits, calls, e-mails, social) up to as_of.
-- Point in time: only rows dated on or before the as_of var (see macros/as_of.sql).
--
-- Incremental: a run rewrites the known interactions of the customers the ingestion's
-- change record names for the interactions loaded since the last run (a new drop, a
-- corrected drop and the rows it removed), and of those with an interaction dated between the
-- last run's as_of and this one's (macros/changes.sql); without a state table, every
-- customer. The post-hook deletes those customers' interactions no longer known (removed
-- from raw by a corrected drop, or dated after a new, earlier as_of:
-- unknown_fact_rows_delete). A change of this model's own logic
-- needs a run with --full-refresh, which the jobs start by themselves; a change of its
-- columns fails the run until then (on_schema_change).
{{
    config(
        materialized=incremental_materialization(),
        unique_key='interaction_id',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        post_hook=[
            incremental_hook(
                "{{ unknown_fact_rows_delete("
                ~ "'interaction_id', ref('stg_crm__interactions'), ['interactions'], "
                ~ "'cast(source.occurred_at as date)'"
                ~ ") }}"
            ),
        ] + write_incremental_state(),
    )
}}

with source as (
    select * from {{ ref('stg_crm__interactions') }}
),

known as (
    select
        interaction_id,
        customer_id,
        occurred_at,
        channel,
        kind,
        manager_id
    from source
    where cast(occurred_at as date) <= {{ as_of_date() }}
),

{% if is_incremental() %}
    {{ changed_customers_since_stored_state(
        ['interactions'], 'source', 'cast(source.occurred_at as date)'
    ) }}

    final as (
        select * from known
        where customer_id in (select changed_customers.customer_id from changed_customers)
    )
{% else %}
    final as (
        select * from known
    )
{% endif %}

select * from final
