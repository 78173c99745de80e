"""Every query the report runs, in one place, by name.

The report reads the marts and never recomputes an indicator: each query selects the
published value (loyalty_indicators.value, the rates of loyalty_retention, the columns of the
analytics tables). Some marts are newer than others; when a query's table or one of its
columns is not in the warehouse, `run` returns `Unavailable` and the section that needed it
prints "not available in this warehouse: <table>" instead of failing.

Parameters are DuckDB named parameters (`$name`):
- `$quarter_cutoff`, `$year_cutoff`: the first day of the first period *not* complete at the
  report's as-of date (a period counts when it ended on or before as_of);
- `$as_of`: the report's as-of date;
- `$limit`, `$risk_threshold`: the at-risk table's length and the risk it counts as high.

The columns of `analytics.churn_early_warning` and `analytics.customer_segments` are the
report's expectation of tables still being built (those of the CLV tables follow
`orchestration/clv/warehouse.py`); adjust the SQL here, not in the builder, if they differ.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

from ..relations import table_exists


@dataclass(frozen=True)
class Query:
    """A named query: the relations it reads (checked before it runs) and its SQL."""

    tables: tuple[str, ...]
    sql: str


@dataclass(frozen=True)
class Unavailable:
    """What a section gets instead of rows when the warehouse lacks a table or a column."""

    tables: tuple[str, ...]
    detail: str = ""


QUERIES: dict[str, Query] = {
    # Company-level series of every indicator at quarter and year grain (B8's per-cohort
    # variants come from loyalty_cohort_retention instead), named from the catalogue.
    "indicators": Query(
        ("loyalty_indicators", "loyalty_indicator_catalogue"),
        """
        select
            i.indicator_code,
            i.indicator_variant,
            c.indicator_name_en,
            c.indicator_name_zh,
            i.period_grain,
            i.period_start_on,
            i.numerator,
            i.denominator,
            i.value,
            i.unit,
            i.n
        from loyalty_indicators as i
        left join loyalty_indicator_catalogue as c
            on i.indicator_code = c.indicator_code
        where
            i.slice_type = 'company'
            and i.indicator_code <> 'B8'
            and (
                (i.period_grain = 'quarter' and i.period_start_on < $quarter_cutoff)
                or (i.period_grain = 'year' and i.period_start_on < $year_cutoff)
            )
        order by i.indicator_code, i.indicator_variant, i.period_grain, i.period_start_on
        """,
    ),
    # Which indicators the mart has at all (to tell "not built" from "no period yet").
    "indicator_codes": Query(
        ("loyalty_indicators",),
        "select distinct indicator_code from loyalty_indicators",
    ),
    # NPS by industry, yearly.
    "nps_by_industry": Query(
        ("loyalty_indicators",),
        """
        select
            period_start_on,
            slice_value,
            value,
            unit,
            n
        from loyalty_indicators
        where
            indicator_code = 'E3'
            and indicator_variant = 'standard'
            and slice_type = 'industry'
            and period_grain = 'year'
            and period_start_on < $year_cutoff
        order by period_start_on, slice_value
        """,
    ),
    # The published copy keeps the catalogue in its own schema (docs/bi.md).
    "catalogue": Query(
        ("catalogue.indicator_catalogue",),
        "select indicator_code, direction from catalogue.indicator_catalogue",
    ),
    "retention": Query(
        ("loyalty_retention",),
        """
        select
            period_start_on,
            customers_at_start,
            customers_new,
            customers_lost,
            customers_at_end,
            customers_won_back,
            retention_rate,
            retention_rate_seed_002,
            churn_rate
        from loyalty_retention
        where
            slice_type = 'company'
            and period_grain = 'quarter'
            and period_start_on < $quarter_cutoff
        order by period_start_on
        """,
    ),
    "cohorts": Query(
        ("loyalty_cohort_retention",),
        """
        select
            cohort_label,
            cohort_start_on,
            periods_since_acquisition,
            cohort_size,
            customers_active,
            retention_rate
        from loyalty_cohort_retention
        where
            cohort_grain = 'quarter'
            and slice_type = 'company'
            and not is_partial_period
            and observed_period_start_on < $quarter_cutoff
        order by cohort_start_on, periods_since_acquisition
        """,
    ),
    "concentration": Query(
        ("analytics.customer_concentration",),
        """
        select
            customers,
            customers_with_revenue,
            revenue_cny,
            top_n,
            top_n_revenue_cny,
            top_n_share_rate,
            top_decile_share_rate,
            herfindahl_index,
            equivalent_customers,
            gini_coefficient
        from analytics.customer_concentration
        order by computed_at desc
        limit 1
        """,
    ),
    # The company's Lorenz curve (points of the mart; null shares when there is no revenue).
    "lorenz": Query(
        ("customer_concentration_lorenz",),
        """
        select
            customer_share_rate,
            cumulative_revenue_share_rate
        from customer_concentration_lorenz
        where slice_type = 'company' and cumulative_revenue_share_rate is not null
        order by point_number
        """,
    ),
    # CLV and equity on gross margin (the valuation); the revenue-based columns stay in the
    # tables for BI, and the equity bridge shows both.
    "clv": Query(
        ("analytics.customer_clv",),
        "select clv_margin_cny as clv_cny from analytics.customer_clv "
        "where clv_margin_cny is not null",
    ),
    "equity": Query(
        ("analytics.customer_equity",),
        """
        select
            slice_type,
            slice_value,
            customers,
            equity_margin_cny as equity_cny,
            equity_margin_lower_cny as equity_lower_cny,
            equity_margin_upper_cny as equity_upper_cny
        from analytics.customer_equity
        order by slice_type, equity_margin_cny desc
        """,
    ),
    "equity_bridge": Query(
        ("analytics.customer_equity_bridge",),
        """
        select
            line,
            part,
            slice_value,
            value,
            horizon_months,
            annual_discount_rate
        from analytics.customer_equity_bridge
        order by line_order
        """,
    ),
    # The models the CLV uses (is_chosen), one row per model, cohort and parameter.
    "clv_model_fits": Query(
        ("analytics.clv_model_fits",),
        """
        select
            model,
            cohort,
            parameter,
            estimate,
            std_error,
            log_likelihood,
            n
        from analytics.clv_model_fits
        where is_chosen
        order by model, cohort, parameter
        """,
    ),
    # Active customers only (customer_facts.is_active at the as-of date the marts were
    # built for): the segments table scores churned customers too.
    "segments": Query(
        ("analytics.customer_segments", "customer_facts"),
        """
        select
            s.segment_code,
            min(s.segment_en) as segment_en,
            min(s.segment_zh) as segment_zh,
            min(s.action_en) as action_en,
            min(s.action_zh) as action_zh,
            count(*) as customers
        from analytics.customer_segments as s
        inner join customer_facts as f on s.customer_id = f.customer_id
        where s.segment_scheme = 'value_loyalty' and f.is_active
        group by s.segment_code
        order by s.segment_code
        """,
    ),
    # Identifiers, scores and reason codes only: no names, phones or e-mails. Ranked by
    # value at risk (risk x value); customers the activity rule is about to call lost are
    # listed apart (at_risk_lost), by the value they hold.
    "at_risk": Query(
        ("analytics.churn_early_warning",),
        """
        select
            customer_id,
            risk,
            value,
            value_at_risk,
            reason_1,
            reason_2,
            reason_3
        from analytics.churn_early_warning
        where not is_lost_by_activity_rule
        order by value_at_risk desc nulls last, risk desc, customer_id
        limit $limit
        """,
    ),
    "at_risk_lost": Query(
        ("analytics.churn_early_warning",),
        """
        select
            customer_id,
            risk,
            value,
            reason_1,
            reason_2,
            reason_3
        from analytics.churn_early_warning
        where is_lost_by_activity_rule
        order by value desc nulls last, customer_id
        limit $limit
        """,
    ),
    "at_risk_summary": Query(
        ("analytics.churn_early_warning",),
        """
        select
            count(*) as customers,
            count(case when risk >= $risk_threshold then 1 end) as customers_high_risk,
            coalesce(sum(case when risk >= $risk_threshold then value end), 0)
                as value_high_risk,
            coalesce(sum(case when not is_lost_by_activity_rule then value_at_risk end), 0)
                as value_at_risk,
            count(case when is_lost_by_activity_rule then 1 end) as customers_lost,
            coalesce(sum(case when is_lost_by_activity_rule then value end), 0) as value_lost
        from analytics.churn_early_warning
        """,
    ),
    # Due diligence on the trailing year (the 365 days to as_of against the 365 before), not
    # the last calendar year: the company's revenue bridge, GRR and NRR, beside the complete
    # years for the trend (loyalty_revenue_retention).
    "revenue_retention": Query(
        ("loyalty_revenue_retention",),
        """
        select
            period_grain,
            period_start_on,
            period_end_on,
            start_revenue_cny,
            new_revenue_cny,
            expansion_revenue_cny,
            contraction_revenue_cny,
            churned_revenue_cny,
            won_back_revenue_cny,
            end_revenue_cny,
            customers_at_start,
            customers_churned,
            gross_revenue_retention_rate,
            net_revenue_retention_rate
        from loyalty_revenue_retention
        where
            slice_type = 'company'
            and (
                (
                    period_grain = 'trailing_year'
                    and period_end_on = (
                        select max(period_end_on)
                        from loyalty_revenue_retention
                        where period_grain = 'trailing_year'
                    )
                )
                or (period_grain = 'year' and is_complete_period)
            )
        order by period_grain desc, period_start_on
        """,
    ),
    # Management level of the company, its teams and account managers (current and
    # previous window); `select *` so a renamed window column still reads.
    "management": Query(
        ("analytics.management_level",),
        "select * from analytics.management_level order by unit_type, unit_id",
    ),
    # Per-customer loyalty (H1) and value (H2) indices with the year-before values.
    "customer_indices": Query(
        ("analytics.customer_indices",),
        """
        select
            as_of,
            loyalty_index_pct,
            loyalty_band,
            loyalty_previous_pct,
            loyalty_trend,
            value_index_pct,
            value_band,
            value_previous_pct,
            value_trend
        from analytics.customer_indices
        """,
    ),
    # The indicator weights of each index, learnt and applied.
    "index_weights": Query(
        ("analytics.index_weights",),
        """
        select
            index_code, index_name_en, index_name_zh, weighting_method, indicator_code,
            indicator_name_en, indicator_name_zh, weight, is_applied
        from analytics.index_weights
        """,
    ),
    # Company values against industry benchmarks, complete years only, named from the
    # catalogue.
    "benchmarks": Query(
        ("loyalty_benchmarks", "loyalty_indicator_catalogue"),
        """
        select
            b.period_start_on, b.indicator_code, b.indicator_variant, c.indicator_name_en,
            c.indicator_name_zh, b.unit, b.our_value, b.n, b.benchmark_industry,
            b.benchmark_value, b.comparison, b.is_example_benchmark, b.is_unit_consistent
        from loyalty_benchmarks as b
        left join loyalty_indicator_catalogue as c
            on b.indicator_code = c.indicator_code
        where b.period_start_on < $year_cutoff
        """,
    ),
    # The extra revenue of the top loyalty band.
    "extra_revenue": Query(
        ("analytics.loyalty_extra_revenue",),
        """
        select
            window_start_on, window_end_on, top_band, customers, top_customers,
            base_average_revenue_cny, top_average_revenue_cny, extra_per_customer_cny,
            extra_revenue_cny
        from analytics.loyalty_extra_revenue
        where window_end_on <= $as_of
        """,
    ),
    # Referrals made and reviews published in the 12 months to as_of.
    "referral_activity": Query(
        ("fct_referrals", "fct_reviews"),
        """
        with referrals as (
            select
                count(*) as referrals,
                count(distinct referrer_customer_id) as referrers,
                coalesce(sum(case when is_converted then 1 else 0 end), 0) as converted
            from fct_referrals
            where referred_on > $as_of - interval 1 year and referred_on <= $as_of
        ),
        reviews as (
            select
                count(*) as reviews,
                count(distinct customer_id) as reviewers,
                avg(case when sentiment = 'positive' then 1.0 else 0.0 end) as positive_share
            from fct_reviews
            where published_on > $as_of - interval 1 year and published_on <= $as_of
        )
        select * from referrals cross join reviews
        """,
    ),
    # Due diligence on the trailing year (the 365 days to as_of): complaints opened in it and
    # how many were closed as resolved by as_of (D2's rule), per customer active at as_of.
    "complaints_trailing": Query(
        ("fct_complaints", "customer_facts"),
        """
        select
            count(*) as complaints,
            count(
                case
                    when outcome = 'resolved' and cast(resolved_at as date) <= $as_of then 1
                end
            ) as complaints_resolved,
            (select count(*) from customer_facts where is_active) as customers_active
        from fct_complaints
        where
            cast(opened_at as date) > cast($as_of as date) - interval 365 day
            and cast(opened_at as date) <= $as_of
        """,
    ),
    # ... and the customers lost in it (their churn month's start inside the window), by the
    # reason on record (customer_facts.churn_reason_code, 'unrecorded' without one).
    "churn_reasons_trailing": Query(
        ("customer_facts",),
        """
        select
            coalesce(churn_reason_code, 'unrecorded') as reason,
            count(*) as customers,
            count(*) * 1.0 / sum(count(*)) over () as share
        from customer_facts
        where
            last_churn_month_on > cast($as_of as date) - interval 365 day
            and last_churn_month_on <= $as_of
        group by 1
        order by customers desc, reason
        """,
    ),
    # The as-of date the marts were built for, the report's default.
    "warehouse_as_of": Query(
        ("customer_facts",),
        "select max(as_of_on) as as_of_on from customer_facts",
    ),
}


def run(
    connection: duckdb.DuckDBPyConnection, name: str, **parameters: object
) -> pd.DataFrame | Unavailable:
    """The rows of query `name`, or `Unavailable` naming the missing table (or the missing
    column, from the database's message) when the warehouse does not have what it reads."""
    query = QUERIES[name]
    missing = tuple(table for table in query.tables if not table_exists(connection, table))
    if missing:
        return Unavailable(missing)
    used = {key: value for key, value in parameters.items() if f"${key}" in query.sql}
    try:
        return connection.execute(query.sql, used).df()
    except (duckdb.CatalogException, duckdb.BinderException) as error:
        detail = str(error).splitlines()[0] if str(error) else type(error).__name__
        return Unavailable(query.tables, detail)
