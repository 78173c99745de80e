-- Referrals made by as_of.
-- Point in time: only rows dated on or before the as_of var (see macros/as_of.sql).
with source as (
    select * from {{ ref('stg_crm__referrals') }}
),

final as (
    select
        referral_id,
        referrer_customer_id,
        referred_customer_id,
        referred_on,
        is_converted
    from source
    where referred_on <= {{ as_of_date() }}
)

select * from final
