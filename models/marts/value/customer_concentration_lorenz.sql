-- The Lorenz curve of trailing-12-month net revenue per slice as of as_of (METRICS F11): at
-- every step k = 0 … var lorenz_steps (default 100, so every 1 % of the customers), the share
-- of the slice's revenue held by the smallest k / steps of its customers with positive
-- revenue (ranks and rule of int_customer_revenues_ranked; totals of
-- customer_concentration_summary). The curve is linear between customers: at position
-- t = k n / steps, customer r = ceil(t) (at least 1) is crossed by t − (r − 1) of its
-- revenue, so the share is (revenue below r + (t − r + 1) x_r) / S. A slice without positive
-- revenue has its steps with a null share.
with summary as (
    select * from {{ ref('customer_concentration_summary') }}
),

ranked as (
    select * from {{ ref('int_customer_revenues_ranked') }}
    where has_revenue
),

digits as (
    {% for digit in range(10) -%}
        select {{ digit }} as digit
        {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

steps as (
    select hundreds.digit * 100 + tens.digit * 10 + ones.digit as point_number
    from digits as hundreds
    cross join digits as tens
    cross join digits as ones
    where hundreds.digit * 100 + tens.digit * 10 + ones.digit <= {{ var('lorenz_steps') }}
),

points as (
    select
        summary.slice_type,
        summary.slice_value,
        summary.revenue_12m_cny,
        steps.point_number,
        -- the product first: k / steps × n would round 0.07 × 100 to just above 7
        cast(steps.point_number * summary.customers_with_revenue as {{ type_double() }})
        / {{ var('lorenz_steps') }} as customer_position
    from summary
    cross join steps
),

located as (
    select
        *,
        case
            when customer_position > 1
                then cast(ceiling(customer_position) as {{ dbt.type_bigint() }})
            else 1
        end as crossed_rank
    from points
),

final as (
    select
        located.slice_type,
        located.slice_value,
        cast(located.point_number as {{ dbt.type_int() }}) as point_number,
        cast(located.point_number as {{ type_double() }})
        / {{ var('lorenz_steps') }} as customer_share_rate,
        (
            ranked.revenue_below_12m_cny
            + (located.customer_position - (located.crossed_rank - 1))
            * ranked.revenue_12m_cny
        )
        / nullif(located.revenue_12m_cny, 0) as cumulative_revenue_share_rate
    from located
    left join ranked
        on
            located.slice_type = ranked.slice_type
            and located.slice_value = ranked.slice_value
            and located.crossed_rank = ranked.revenue_rank
)

select * from final
