-- Contracts signed by as_of, with their renewal chains, as they stood on as_of.
-- Point in time: only contracts starting on or before the as_of var (see macros/as_of.sql).
--   is_open  : as_of lies within the term (start_on <= as_of <= end_on), as int_customer_months
--              counts open contracts;
--   status   : recomputed for as_of: a contract whose term has not ended is 'active' (a
--              renewal or a termination recorded later is not yet known); a past term is
--              'renewed' when a renewal had started by as_of, else 'terminated' as the CRM
--              records it, else 'expired'; 'cancelled' stays cancelled;
--   chain    : a renewal chain starts at a contract that renews nothing known by as_of;
--              chain_contract_id is that first contract, chain_position 1 for it, 2 for its
--              renewal, and so on (a recursive walk along renewal_of).
with recursive source as (
    select * from {{ ref('stg_crm__contracts') }}
),

known as (
    select * from source
    where start_on <= {{ as_of_date() }}
),

renewals as (
    -- The earliest contract, known by as_of, that renews each contract.
    select
        renewal_of as contract_id,
        min(contract_id) as renewed_by_contract_id
    from known
    where renewal_of is not null
    group by renewal_of
),

chains as (
    select
        known.contract_id,
        known.contract_id as chain_contract_id,
        1 as chain_position
    from known
    left join known as renewed
        on known.renewal_of = renewed.contract_id
    where renewed.contract_id is null
    union all
    select
        known.contract_id,
        chains.chain_contract_id,
        chains.chain_position + 1 as chain_position
    from chains
    inner join known
        on chains.contract_id = known.renewal_of
    -- A guard against a renewal_of cycle in bad data (a cycle never reaches a chain start).
    where chains.chain_position < 1000
),

final as (
    select
        known.contract_id,
        known.customer_id,
        known.product_line,
        known.start_on,
        known.end_on,
        known.contract_value,
        known.currency,
        known.renewal_of,
        case
            when known.status = 'cancelled' then 'cancelled'
            when known.end_on >= {{ as_of_date() }} then 'active'
            when renewals.renewed_by_contract_id is not null then 'renewed'
            when known.status = 'terminated' then 'terminated'
            else 'expired'
        end as status,
        known.contract_value_cny,
        known.end_on >= {{ as_of_date() }} as is_open,
        chains.chain_contract_id,
        cast(chains.chain_position as {{ dbt.type_bigint() }}) as chain_position,
        case
            when chains.chain_position > 1 then known.renewal_of
        end as previous_contract_id,
        renewals.renewed_by_contract_id is not null as is_renewed,
        renewals.renewed_by_contract_id
    from known
    left join renewals
        on known.contract_id = renewals.contract_id
    left join chains
        on known.contract_id = chains.contract_id
)

select * from final
