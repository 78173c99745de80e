-- Customer concentration (METRICS F11) per slice as of as_of, over trailing-12-month net
-- revenue (customer_value.revenue_12m_cny), from the ranks of int_customer_revenues_ranked.
-- Only the n customers with positive revenue hold a share (S = their revenue, x_r the r-th
-- smallest); the others are counted in customers_non_positive. With s_r = x_r / S:
--   top-N share = revenue of the N largest / S (N = var concentration_top_n, all when n < N);
--   top-decile share = 1 − the Lorenz curve at 90 % of the customers, the curve linear
--      between customers as in customer_concentration_lorenz: customer r holds the part
--      min(max(r − 0.9 n, 0), 1) of its revenue above that point;
--   Herfindahl index = Σ s_r², from 1 / n (all equal) to 1 (one customer); its inverse is the
--      number of equal customers with the same concentration;
--   Gini = 1 − twice the area under the Lorenz curve = 2 Σ r x_r / (n S) − (n + 1) / n, from
--      0 (all equal) to (n − 1) / n.
-- Every share is null in a slice without positive revenue.
with ranked as (
    select * from {{ ref('int_customer_revenues_ranked') }}
),

with_slice_size as (
    select
        *,
        sum(case when has_revenue then 1 else 0 end) over (
            partition by slice_type, slice_value
        ) as slice_customers_with_revenue
    from ranked
),

per_slice as (
    select
        slice_type,
        slice_value,
        count(*) as customers,
        max(slice_customers_with_revenue) as customers_with_revenue,
        sum(case when has_revenue then revenue_12m_cny else 0 end) as revenue_12m_cny,
        sum(
            case
                when
                    has_revenue
                    and revenue_rank > slice_customers_with_revenue
                    - {{ var('concentration_top_n') }}
                    then revenue_12m_cny
                else 0
            end
        ) as top_n_revenue_12m_cny,
        sum(
            case
                when has_revenue
                    then revenue_12m_cny * least(
                        greatest(
                            cast(
                                10 * revenue_rank - 9 * slice_customers_with_revenue
                                as {{ type_double() }}
                            )
                            / 10,
                            0
                        ),
                        1
                    )
                else 0
            end
        ) as top_decile_revenue_12m_cny,
        sum(
            case when has_revenue then revenue_12m_cny * revenue_12m_cny else 0 end
        ) as revenue_squared_sum,
        sum(
            case when has_revenue then revenue_rank * revenue_12m_cny else 0 end
        ) as rank_weighted_revenue_sum
    from with_slice_size
    group by
        slice_type,
        slice_value
),

final as (
    select
        slice_type,
        slice_value,
        {{ as_of_date() }} as as_of_on,
        cast(customers as {{ dbt.type_int() }}) as customers,
        cast(customers_with_revenue as {{ dbt.type_int() }}) as customers_with_revenue,
        cast(customers - customers_with_revenue as {{ dbt.type_int() }}) as customers_non_positive,
        cast(revenue_12m_cny as {{ type_double() }}) as revenue_12m_cny,
        cast({{ var('concentration_top_n') }} as {{ dbt.type_int() }}) as top_n,
        cast(top_n_revenue_12m_cny as {{ type_double() }}) as top_n_revenue_12m_cny,
        cast(top_n_revenue_12m_cny as {{ type_double() }})
        / nullif(revenue_12m_cny, 0) as top_n_share_rate,
        cast(top_decile_revenue_12m_cny as {{ type_double() }})
        / nullif(revenue_12m_cny, 0) as top_decile_share_rate,
        cast(revenue_squared_sum as {{ type_double() }})
        / nullif(revenue_12m_cny * revenue_12m_cny, 0) as herfindahl_index,
        cast(revenue_12m_cny * revenue_12m_cny as {{ type_double() }})
        / nullif(revenue_squared_sum, 0) as equivalent_customers,
        2 * cast(rank_weighted_revenue_sum as {{ type_double() }})
        / nullif(customers_with_revenue * revenue_12m_cny, 0)
        - cast(customers_with_revenue + 1 as {{ type_double() }})
        / nullif(customers_with_revenue, 0) as gini_coefficient
    from per_slice
)

select * from final
