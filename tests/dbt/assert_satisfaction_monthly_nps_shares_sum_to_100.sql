-- Guards the NPS columns of loyalty_satisfaction_monthly: promoters, passives and detractors
-- are shares of the same respondents, so they sum to 100, and the NPS is promoters minus
-- detractors. A respondent counted twice or lost between the shares would break either.
{{ config(meta={'dagster': {'ref': {'name': 'loyalty_satisfaction_monthly'}}}) }}

with wide as (
    select * from {{ ref('loyalty_satisfaction_monthly') }}
)

select
    month_start_on,
    slice_type,
    slice_value,
    promoter_pct,
    passive_pct,
    detractor_pct,
    net_promoter_score
from wide
where
    net_promoter_score is not null
    and (
        promoter_pct is null
        or passive_pct is null
        or detractor_pct is null
        or abs(promoter_pct + passive_pct + detractor_pct - 100) > 1e-9
        or abs(promoter_pct - detractor_pct - net_promoter_score) > 1e-9
    )
