-- Customer interactions (consultations, visits, calls, e-mails, social) up to as_of.
-- Point in time: only rows dated on or before the as_of var (see macros/as_of.sql).
--
-- Incremental: a run writes only the known interactions that are new or differ from the
-- table's row (a new drop, a corrected drop, a later as_of), found by comparing every column;
-- the post-hook deletes the interactions no longer known (removed from raw by a corrected
-- drop, or dated after a new, earlier as_of). A change of this model's own logic needs a run
-- with --full-refresh; a change of its columns fails the run until then (on_schema_change).
{{
    config(
        materialized=incremental_materialization(),
        unique_key='interaction_id',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        post_hook=incremental_hook("
            delete from {{ this }} as built
            where not exists (
                select 1
                from {{ ref('stg_crm__interactions') }} as interactions
                where
                    interactions.interaction_id = built.interaction_id
                    and cast(interactions.occurred_at as date) <= {{ as_of_date() }}
            )
        "),
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
    final as (
        -- known interactions that are new or differ from the table's row
        select * from known
        except
        select
            interaction_id,
            customer_id,
            occurred_at,
            channel,
            kind,
            manager_id
        from {{ this }}
    )
{% else %}
    final as (
        select * from known
    )
{% endif %}

select * from final
