-- Referrals made by as_of, as they stood on as_of.
-- Point in time: only referrals dated on or before the as_of var (see macros/as_of.sql); a
-- referred company acquired after as_of was still a prospect on as_of, so it shows as not
-- converted and without its customer id.
with source as (
    select * from {{ ref('stg_crm__referrals') }}
),

customers as (
    select * from {{ ref('stg_crm__customers') }}
),

known as (
    select
        source.*,
        coalesce(customers.acquired_on > {{ as_of_date() }}, false) as is_converted_later
    from source
    left join customers
        on source.referred_customer_id = customers.customer_id
    where source.referred_on <= {{ as_of_date() }}
),

final as (
    select
        referral_id,
        referrer_customer_id,
        case when not is_converted_later then referred_customer_id end as referred_customer_id,
        referred_on,
        is_converted and not is_converted_later as is_converted
    from known
)

select * from final
