-- The day spine MetricFlow aggregates metrics over (one row per calendar day).
with days as (
    select * from {{ ref('dim_dates') }}
),

final as (
    select date_day
    from days
)

select * from final
