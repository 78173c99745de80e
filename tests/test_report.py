"""The loyalty and due-diligence report, built from a small warehouse of hand-set mart rows.

Every figure the report prints must be the mart's value in the report's format, periods
after the as-of date must stay out, the file must load nothing from elsewhere, no personal
data may appear, and a warehouse without some marts must still give a report that says
what is missing.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import duckdb
import pytest

from orchestration.report import build_report, svg
from orchestration.report.__main__ import main
from orchestration.report.builder import _axis_formatter, period_cutoff
from orchestration.report.i18n import (
    STRINGS,
    cny_scale,
    fmt_change,
    fmt_cny,
    fmt_cny_scaled,
    fmt_count,
    fmt_nps,
    fmt_pct,
    fmt_rate,
    fmt_value,
    period_label,
)
from orchestration.report.svg import hbar_chart, nice_ticks

AS_OF = "2025-12-31"
SECRET_NAMES = ("保密精密制造有限公司", "Secret Holdings Ltd")

# (code, variant, grain, period_start_on, numerator, denominator, value, unit, n),
# company slice. Rows dated 2026 lie after AS_OF and must not be shown.
INDICATOR_ROWS = [
    ("B1", "standard", "quarter", "2025-07-01", 90, 100, 0.9, "rate", 120),
    ("B1", "standard", "quarter", "2025-10-01", 105, 110, 105 / 110, "rate", 125),
    ("B1", "standard", "quarter", "2026-01-01", 14, 114, 0.123, "rate", 130),
    ("B1", "seed_002", "quarter", "2025-07-01", 90, 110, 90 / 110, "rate", 120),
    ("B1", "seed_002", "quarter", "2025-10-01", 105, 115, 105 / 115, "rate", 125),
    ("B2", "standard", "quarter", "2025-07-01", 10, 100, 0.1, "rate", 120),
    ("B2", "standard", "quarter", "2025-10-01", 5, 110, 5 / 110, "rate", 125),
    ("B7", "standard", "quarter", "2025-07-01", 2, 10, 0.2, "rate", 120),
    ("B7", "standard", "quarter", "2025-10-01", 1, 4, 0.25, "rate", 125),
    ("B4", "standard", "quarter", "2025-07-01", 20, 100, 0.2, "ratio", 120),
    ("B4", "standard", "quarter", "2025-10-01", 10, 115, 10 / 115, "ratio", 125),
    ("A1", "service_quality", "quarter", "2025-04-01", 4000, 50, 80.0, "pct", 50),
    ("A1", "service_quality", "quarter", "2025-10-01", 4950, 60, 82.5, "pct", 60),
    ("A1", "price_reasonableness", "quarter", "2025-04-01", 3000, 50, 60.0, "pct", 50),
    ("A1", "price_reasonableness", "quarter", "2025-10-01", 3852, 60, 64.2, "pct", 60),
    ("A2", "standard", "quarter", "2025-04-01", 3500, 50, 70.0, "pct", 50),
    ("A2", "standard", "quarter", "2025-10-01", 4530, 60, 75.5, "pct", 60),
    ("A3", "response_based", "quarter", "2025-04-01", 30, 50, 0.6, "rate", 50),
    ("A3", "response_based", "quarter", "2025-10-01", 39, 60, 0.65, "rate", 60),
    ("A3", "response_rate", "quarter", "2025-10-01", 60, 600, 0.1, "rate", 60),
    ("A3", "seed_002", "quarter", "2025-10-01", 39, 600, 0.065, "rate", 60),
    ("E3", "standard", "quarter", "2024-10-01", 500, 50, 10.0, "nps", 50),
    ("E3", "standard", "quarter", "2025-10-01", 1404, 60, 23.4, "nps", 60),
    ("E2", "standard", "quarter", "2025-10-01", 4572, 60, 76.2, "pct", 60),
    ("D1", "standard", "quarter", "2025-07-01", 4, 100, 0.04, "per_customer", 120),
    ("D1", "standard", "quarter", "2025-10-01", 6, 120, 0.05, "per_customer", 125),
    ("D2", "standard", "quarter", "2025-07-01", 320, 4, 80.0, "pct", 4),
    ("D2", "standard", "quarter", "2025-10-01", 700, 8, 87.5, "pct", 8),
    ("D3", "median", "quarter", "2025-10-01", 30.0, 1, 30.0, "hours", 8),
    ("D3", "p90", "quarter", "2025-10-01", 120.5, 1, 120.5, "hours", 8),
    ("D5", "category:quality", "year", "2025-01-01", 12, 1, 12, "count", 12),
    ("D5", "category:billing", "year", "2025-01-01", 5, 1, 5, "count", 5),
    ("D1", "standard", "year", "2025-01-01", 20, 100, 0.2, "per_customer", 130),
    ("D2", "standard", "year", "2025-01-01", 17, 20, 85.0, "pct", 20),
    ("B1", "standard", "year", "2024-01-01", 80, 100, 0.8, "rate", 120),
    ("B1", "standard", "year", "2025-01-01", 88, 100, 0.88, "rate", 130),
    ("B2", "standard", "year", "2024-01-01", 20, 100, 0.2, "rate", 120),
    ("B2", "standard", "year", "2025-01-01", 12, 100, 0.12, "rate", 130),
    ("B5", "reason:price", "year", "2025-01-01", 6, 1, 6, "count", 6),
    ("B5", "reason:service", "year", "2025-01-01", 3, 1, 3, "count", 3),
    ("B5", "reason_share:price", "year", "2025-01-01", 6, 9, 6 / 9, "rate", 9),
    ("B5", "reason_share:service", "year", "2025-01-01", 3, 9, 3 / 9, "rate", 9),
    ("B5", "lost_revenue:price", "year", "2025-01-01", 1234567, 1, 1234567, "cny", 6),
    ("B5", "lost_revenue:service", "year", "2025-01-01", 45678, 1, 45678, "cny", 3),
    ("B6", "standard", "year", "2025-01-01", 1280245, 1, 1280245, "cny", 9),
    # engagement, referral and cost: the sections' tables show the 2025 Q4 rows
    ("C1", "standard", "quarter", "2025-07-01", 180, 120, 1.5, "per_customer", 120),
    ("C1", "standard", "quarter", "2025-10-01", 200, 125, 1.6, "per_customer", 125),
    ("C3", "standard", "quarter", "2025-07-01", 2160, 120, 18.0, "pct", 120),
    ("C3", "standard", "quarter", "2025-10-01", 2562.5, 125, 20.5, "pct", 125),
    ("E1", "standard", "quarter", "2025-10-01", 5, 125, 0.04, "rate", 125),
    ("F9", "cac", "quarter", "2025-07-01", 300000, 10, 30000, "cny", 10),
    ("F9", "cac", "quarter", "2025-10-01", 250000, 10, 25000, "cny", 10),
    ("F9", "retention_cost", "quarter", "2025-10-01", 50000, 100, 500, "cny", 100),
    ("F9", "cac_to_retention", "quarter", "2025-10-01", 25000, 500, 50, "ratio", 125),
]
NAMES = {
    "B1": ("Retention rate", "客户留存率"),
    "B2": ("Churn rate", "客户流失率"),
    "B4": ("New-to-existing customer ratio", "新老客户比例"),
    "B5": ("Churn reasons", "客户流失原因"),
    "B6": ("Churn cost", "客户流失成本"),
    "B7": ("Win-back", "客户挽回"),
    "A1": ("Satisfaction score by dimension", "各维度满意度得分"),
    "A2": ("Satisfaction score (%)", "满意度(%)"),
    "A3": ("Service satisfaction rate (CSAT top-2-box)", "服务满意率"),
    "E2": ("Recommendation index (%)", "推荐指数"),
    "E3": ("Net promoter score", "净推荐值(NPS)"),
    "D1": ("Complaint rate", "投诉率"),
    "D2": ("Complaint resolution rate", "投诉解决率"),
    "D3": ("Complaint handling speed", "投诉处理速度"),
    "D5": ("Complaint categories", "投诉类别"),
    "C1": ("Interaction frequency", "互动频率"),
    "C3": ("Engagement (%)", "客户参与度"),
    "E1": ("Referral rate", "推荐率"),
    "F9": ("Acquisition cost vs retention cost", "获客成本与保留成本"),
}
# 25 scored customers, risk 1.00, 0.96, …, 0.04; value 1,000 × rank. Risk ≥ 0.5: the first
# 13 (0.52 is the 13th), holding 1,000 × (1 + … + 13) = 91,000.
# Risk 1.00, 0.96, ... and value 1,000, 2,000, ...: the value at risk (risk x value) peaks
# at C013 (0.52 x 13,000 = 6,760). C001 and C025 are lost by the activity rule: listed
# apart, by value (C025 first). C013's second signal is the early-warning list's bilingual
# form, shown in the report's language only.
AT_RISK = [
    (
        f"C{i + 1:03d}",
        round(1 - 0.04 * i, 2),
        1000.0 * (i + 1),
        round(1 - 0.04 * i, 2) * 1000.0 * (i + 1),
        i in (0, 24),
        "complaints_rising",
        "few orders in the last 90 days / 近90天订单少" if i == 12 else "no_touch",
    )
    for i in range(25)
]
# value × loyalty segments: 3 + 2 + 4 + 1 placed, 1 unsegmented = 11 customers.
SEGMENTS = {
    "high_value_high_loyalty": (3, "Core customers", "核心客户(高价值高忠诚)", "Retain", "保持"),
    "high_value_low_loyalty": (2, "Valuable but wavering", "高价值低忠诚客户", "Win back", "挽回"),
    "low_value_high_loyalty": (4, "Loyal with room to grow", "低价值高忠诚客户", "Develop", "发展"),
    "low_value_low_loyalty": (
        1,
        "Low value and low loyalty",
        "低价值低忠诚客户",
        "Maintain",
        "维持",
    ),
}


def make_warehouse(path: Path, *, analytics: bool = True) -> Path:
    """A warehouse with every mart the report reads (the analytics schema optional)."""
    con = duckdb.connect(str(path))
    con.execute(
        """
        create table loyalty_indicators (
            indicator_code varchar, indicator_variant varchar, period_grain varchar,
            period_start_on date, slice_type varchar, slice_value varchar, numerator double,
            denominator double, value double, unit varchar, n bigint)
        """
    )
    for code, variant, grain, start, num, den, value, unit, n in INDICATOR_ROWS:
        con.execute(
            "insert into loyalty_indicators values (?, ?, ?, ?, 'company', 'all', ?, ?, ?, ?, ?)",
            [code, variant, grain, start, num, den, value, unit, n],
        )
    # manufacturing 40 respondents; retail 20, a small sample (fewer than 30)
    for industry, nps, n in (("manufacturing", 30.0, 40), ("retail", -5.0, 20)):
        con.execute(
            "insert into loyalty_indicators values ('E3', 'standard', 'year', '2025-01-01', "
            "'industry', ?, 0, 1, ?, 'nps', ?)",
            [industry, nps, n],
        )
    # the names, once per code (the mart carries the code only)
    con.execute(
        "create table loyalty_indicator_catalogue "
        "(indicator_code varchar, indicator_name_en varchar, indicator_name_zh varchar)"
    )
    con.executemany(
        "insert into loyalty_indicator_catalogue values (?, ?, ?)",
        [[code, en, zh] for code, (en, zh) in NAMES.items()],
    )
    con.execute(
        """
        create schema catalogue;
        create table catalogue.indicator_catalogue as select * from (values
            ('B1', 'higher_is_better'), ('B2', 'lower_is_better'), ('E3', 'higher_is_better')
        ) as t(indicator_code, direction)
        """
    )
    con.execute(
        """
        create table loyalty_retention as select * from (values
            ('quarter', date '2025-07-01', 'company', 'all', 100, 20, 10, 110, 2,
             0.9, 90 / 110, 0.1),
            ('quarter', date '2025-10-01', 'company', 'all', 110, 10, 5, 115, 1,
             105 / 110, 105 / 115, 5 / 110),
            ('quarter', date '2026-01-01', 'company', 'all', 115, 900, 1, 999, 0,
             0.123, 0.5, 0.01)
        ) as t(period_grain, period_start_on, slice_type, slice_value, customers_at_start,
               customers_new, customers_lost, customers_at_end, customers_won_back,
               retention_rate, retention_rate_seed_002, churn_rate)
        """
    )
    # quarterly cohorts; the 2024-Q4 cohort's fifth quarter is still running (partial); the
    # due-diligence line compares 2024-Q4 after 4 quarters with 2023-Q4, not the older 2023-Q1
    con.execute(
        """
        create table loyalty_cohort_retention as select * from (values
            ('2023-Q1', date '2023-01-01', 0, date '2023-01-01', false, 5, 5, 1.0),
            ('2023-Q1', date '2023-01-01', 4, date '2024-01-01', false, 5, 2, 0.4),
            ('2023-Q4', date '2023-10-01', 0, date '2023-10-01', false, 8, 8, 1.0),
            ('2023-Q4', date '2023-10-01', 4, date '2024-10-01', false, 8, 4, 0.5),
            ('2024-Q4', date '2024-10-01', 0, date '2024-10-01', false, 10, 10, 1.0),
            ('2024-Q4', date '2024-10-01', 1, date '2025-01-01', false, 10, 9, 0.9),
            ('2024-Q4', date '2024-10-01', 2, date '2025-04-01', false, 10, 8, 0.8),
            ('2024-Q4', date '2024-10-01', 3, date '2025-07-01', false, 10, 7, 0.7),
            ('2024-Q4', date '2024-10-01', 4, date '2025-10-01', false, 10, 6, 0.6),
            ('2024-Q4', date '2024-10-01', 5, date '2026-01-01', true, 10, 1, 0.111),
            ('2025-Q1', date '2025-01-01', 0, date '2025-01-01', false, 20, 20, 1.0),
            ('2025-Q1', date '2025-01-01', 1, date '2025-04-01', false, 20, 17, 0.85),
            ('2025-Q1', date '2025-01-01', 2, date '2025-07-01', false, 20, 15, 0.75),
            ('2025-Q1', date '2025-01-01', 3, date '2025-10-01', false, 20, 14, 0.7),
            ('2025-Q4', date '2025-10-01', 0, date '2025-10-01', false, 30, 30, 1.0)
        ) as t(cohort_label, cohort_start_on, periods_since_acquisition,
               observed_period_start_on, is_partial_period, cohort_size, customers_active,
               retention_rate)
        """
    )
    con.execute(
        "alter table loyalty_cohort_retention add column cohort_grain varchar default 'quarter'"
    )
    con.execute(
        "alter table loyalty_cohort_retention add column slice_type varchar default 'company'"
    )
    con.execute(
        """
        create table dim_customers as select * from (values
            ('C001', ?, 100.0), ('C002', ?, 200.0), ('C003', '某公司', 300.0),
            ('C004', '另一公司', 400.0), ('C005', '亏损公司', -50.0)
        ) as t(customer_id, customer_name, net_revenue_cny)
        """,
        list(SECRET_NAMES),
    )
    # active: C001 and the 11 value × loyalty customers S001..S010, S999; churned: S100 and
    # S101 (segmented high value high loyalty, which the matrix must not count)
    con.execute(
        """
        create table customer_facts as
        select customer_id, date '2025-12-31' as as_of_on, customer_id not in ('S100', 'S101')
            as is_active
        from (
            select 'C001' as customer_id
            union all select 'S' || lpad(cast(i as varchar), 3, '0') from range(1, 11) as r(i)
            union all select 'S999' union all select 'S100' union all select 'S101'
        )
        """
    )
    # the Lorenz curve of revenue 100, 200, 300, 400 at 12.5 % steps (linear between
    # customers: half of the smallest holds 5 %); a region without revenue
    con.execute(
        """
        create table customer_concentration_lorenz as select * from (values
            ('company', 'all', 0, 0.0, 0.0), ('company', 'all', 1, 0.125, 0.05),
            ('company', 'all', 2, 0.25, 0.1), ('company', 'all', 3, 0.375, 0.2),
            ('company', 'all', 4, 0.5, 0.3), ('company', 'all', 5, 0.625, 0.45),
            ('company', 'all', 6, 0.75, 0.6), ('company', 'all', 7, 0.875, 0.8),
            ('company', 'all', 8, 1.0, 1.0), ('region', 'north', 0, 0.0, null)
        ) as t(slice_type, slice_value, point_number, customer_share_rate,
               cumulative_revenue_share_rate)
        """
    )
    if analytics:
        con.execute("create schema analytics")
        # revenue 100, 200, 300, 400: top-2 share 0.7, HHI .01 + .04 + .09 + .16 = 0.3,
        # top decile 0.4 × 400 / 1000 = 0.16, Gini 2 × 3000 / 4000 − 5 / 4 = 0.25
        con.execute(
            """
            create table analytics.customer_concentration as select
                timestamp '2025-12-31 06:00:00' as computed_at, 5 as customers,
                4 as customers_with_revenue, 1 as customers_non_positive,
                1000.0 as revenue_cny, 2 as top_n, 700.0 as top_n_revenue_cny,
                0.7 as top_n_share_rate, 0.16 as top_decile_share_rate,
                0.3 as herfindahl_index, 1 / 0.3 as equivalent_customers,
                0.25 as gini_coefficient
            """
        )
        con.execute(
            """
            create table analytics.customer_clv as
            select 'C' || lpad(cast(i as varchar), 3, '0') as customer_id,
                   1000.0 * i as clv_cny, 900.0 * i as clv_lower_cny, 1100.0 * i as clv_upper_cny,
                   400.0 * i as clv_margin_cny
            from range(10) as r(i)
            """
        )
        con.execute(
            """
            create table analytics.customer_equity as select * from (values
                ('company', 'all', 10, 45000.0, 40000.0, 52000.0, 18000.0, 16000.0, 20800.0),
                ('industry', 'manufacturing', 6, 30000.0, 26000.0, 35000.0, 12000.0, 10400.0,
                 14000.0),
                ('industry', 'retail', 4, 15000.0, 12000.0, 18000.0, 6000.0, 4800.0, 7200.0)
            ) as t(slice_type, slice_value, customers, equity_cny, equity_lower_cny,
                   equity_upper_cny, equity_margin_cny, equity_margin_lower_cny,
                   equity_margin_upper_cny)
            """
        )
        con.execute(
            """
            create table analytics.customer_equity_bridge as
            select row_number() over () as line_order, *, 60 as horizon_months,
                   0.10 as annual_discount_rate
            from (values
                ('t12m_revenue_cny', 'total', null, 15000.0),
                ('t12m_revenue_cny', 'contract', null, 6000.0),
                ('t12m_revenue_cny', 'transactional', null, 9000.0),
                ('t12m_margin_cny', 'total', null, 6000.0),
                ('t12m_margin_cny', 'contract', null, 2500.0),
                ('t12m_margin_cny', 'transactional', null, 3500.0),
                ('customer_equity_margin_cny', 'total', null, 18000.0),
                ('customer_equity_margin_cny', 'contract', null, 7000.0),
                ('customer_equity_margin_cny', 'transactional', null, 11000.0),
                ('customer_equity_margin_lower_cny', 'total', null, 16000.0),
                ('customer_equity_margin_upper_cny', 'total', null, 20800.0),
                ('customer_equity_revenue_cny', 'total', null, 45000.0),
                ('equity_to_t12m_margin', 'total', null, 3.0),
                ('equity_to_t12m_revenue', 'total', null, 1.2),
                ('equity_to_t12m_margin', 'contract', null, 2.8),
                ('equity_to_t12m_margin', 'transactional', null, 11000.0 / 3500.0),
                ('model_retention_rate', 'contract', null, 0.9),
                ('model_retention_rate', 'transactional', null, 0.8),
                ('observed_revenue_retention_rate', 'total', null, 0.95),
                ('observed_customer_retention_rate', 'total', null, 0.85),
                ('customer_equity_margin_cny', 'segment', 'champions', 18000.0)
            ) as t(line, part, slice_value, value)
            """
        )
        con.execute(
            """
            create table analytics.clv_model_fits as select * from (values
                ('bgnbd', 'all', 'r', 0.243, 0.012, -9582.4, 2357, true),
                ('bgnbd', 'all', 'alpha', 4.414, 0.31, -9582.4, 2357, true),
                ('sbg', 'accounting', 'alpha', 23.45, 308.5, -229.9, 336, true),
                ('paretonbd', 'all', 'r', 0.553, 0.05, -9595.0, 2357, false)
            ) as t(model, cohort, parameter, estimate, std_error, log_likelihood, n, is_chosen)
            """
        )
        con.execute(
            """
            create table analytics.customer_segments (
                customer_id varchar, segment_scheme varchar, segment_code varchar,
                segment_en varchar, segment_zh varchar, action_en varchar, action_zh varchar)
            """
        )
        number = 0
        for code, (count, en, zh, action_en, action_zh) in SEGMENTS.items():
            for _ in range(count):
                number += 1
                con.execute(
                    "insert into analytics.customer_segments values "
                    "(?, 'value_loyalty', ?, ?, ?, ?, ?)",
                    [f"S{number:03d}", code, en, zh, action_en, action_zh],
                )
        con.execute(
            "insert into analytics.customer_segments values "
            "('S100', 'value_loyalty', 'high_value_high_loyalty', 'Core customers', "
            "'核心客户(高价值高忠诚)', 'Retain', '保持'), "
            "('S101', 'value_loyalty', 'high_value_high_loyalty', 'Core customers', "
            "'核心客户(高价值高忠诚)', 'Retain', '保持'), "
            "('S999', 'value_loyalty', null, null, null, null, null), "
            "('S001', 'rfm', 'important_value', 'Important value customers', '重要价值客户', "
            "'Retain', '保持')"
        )
        con.execute(
            """
            create table analytics.churn_early_warning (
                customer_id varchar, risk double, value double, value_at_risk double,
                is_lost_by_activity_rule boolean,
                reason_1 varchar, reason_2 varchar, reason_3 varchar)
            """
        )
        con.executemany(
            "insert into analytics.churn_early_warning values (?, ?, ?, ?, ?, ?, ?, null)",
            AT_RISK,
        )
        # the trailing year to as_of (and one a month earlier, which the report must not pick)
        con.execute(
            """
            create table loyalty_revenue_retention as
            select * from (values
                ('trailing_year', date '2025-01-01', date '2025-12-31', 'company', 'all',
                    100000.0, 20000.0, 15000.0, 5000.0, 10000.0, 0.0, 120000.0, 40, 6,
                    0.85, 1.0, true),
                ('trailing_year', date '2024-12-01', date '2025-11-30', 'company', 'all',
                    90000.0, 0.0, 0.0, 0.0, 0.0, 0.0, 90000.0, 30, 0, 0.5, 0.5, true)
            ) as t(period_grain, period_start_on, period_end_on, slice_type, slice_value,
                start_revenue_cny, new_revenue_cny, expansion_revenue_cny,
                contraction_revenue_cny, churned_revenue_cny, won_back_revenue_cny,
                end_revenue_cny, customers_at_start, customers_churned,
                gross_revenue_retention_rate, net_revenue_retention_rate, is_complete_period)
            """
        )
        make_management_tables(con)
    make_referral_tables(con)
    con.close()
    return path


def make_management_tables(con: duckdb.DuckDBPyConnection) -> None:
    """management_level, customer_indices, index_weights and loyalty_extra_revenue, by hand."""
    con.execute(
        """
        create table analytics.management_level as select * from (values
            ('company', 'all', 'current', 100, 80.0, 55.0, 0.2, 0.1, 60.0, 62.5, 'yellow', 57.5,
                5.0),
            ('company', 'all', 'previous', 90, 70.0, 50.0, 0.3, 0.2, 50.0, 57.5, 'yellow', null,
                null),
            ('team', 'East team', 'current', 60, 85.0, 60.0, 0.1, 0.05, 65.0, 71.25, 'green',
                61.25, 10.0),
            ('account_manager', 'M001', 'current', 40, 90.0, 65.0, 0.0, 0.0, 70.0, 80.0,
                'green', 77.5, 2.5),
            ('account_manager', 'M002', 'current', 20, 75.0, 50.0, 0.5, 0.25, 55.0, 45.5,
                'red', 50.0, -4.5),
            ('account_manager', 'M002', 'previous', 20, 74.0, 49.0, 0.4, 0.2, 54.0, 50.0,
                'yellow', null, null)
        ) as t(unit_type, unit_id, "window", customers, satisfaction_pct, loyalty_index_pct,
               complaints_per_customer, churn_rate, engagement_pct, management_level_pct,
               band, previous_pct, change_points)
        """
    )
    con.execute(
        """
        alter table analytics.management_level add column window_start_on date
            default date '2025-01-01';
        alter table analytics.management_level add column window_end_on date
            default date '2025-12-31';
        """
    )
    # loyalty 80, 60, 40 (mean 60.0); before 70 and 30 for two of them (mean 50.0, now 60.0)
    # value 50, 30, 10 (mean 30.0); before 40 for one (mean 40.0, now 50.0); one unscored
    con.execute(
        """
        create table analytics.customer_indices as select * from (values
            ('C001', date '2025-12-31', 80.0, 'green', 70.0, 'up', 50.0, 'yellow', 40.0, 'up'),
            ('C002', date '2025-12-31', 60.0, 'yellow', null, null, 30.0, 'red', null, null),
            ('C003', date '2025-12-31', 40.0, 'red', 30.0, 'up', 10.0, 'red', null, null),
            ('C004', date '2025-12-31', null, null, null, null, null, null, null, null)
        ) as t(customer_id, as_of, loyalty_index_pct, loyalty_band, loyalty_previous_pct,
               loyalty_trend, value_index_pct, value_band, value_previous_pct, value_trend);
        create table analytics.index_weights as select * from (values
            ('H1', 'Loyalty index (%)', '客户忠诚度指数', 'expert', 'B1', 'Retention rate',
                '客户留存率', 0.6, true),
            ('H1', 'Loyalty index (%)', '客户忠诚度指数', 'expert', 'A2',
                'Satisfaction score (%)', '满意度(%)', 0.4, true),
            ('H1', 'Loyalty index (%)', '客户忠诚度指数', 'entropy', 'B1', 'Retention rate',
                '客户留存率', 0.9, false)
        ) as t(index_code, index_name_en, index_name_zh, weighting_method, indicator_code,
               indicator_name_en, indicator_name_zh, weight, is_applied);
        create table analytics.loyalty_extra_revenue as select * from (values
            (date '2025-01-01', date '2025-12-31', 'green', 100, 10, 50000.0, 150000.0,
                100000.0, 1000000.0)
        ) as t(window_start_on, window_end_on, top_band, customers, top_customers,
               base_average_revenue_cny, top_average_revenue_cny, extra_per_customer_cny,
               extra_revenue_cny)
        """
    )


def make_referral_tables(con: duckdb.DuckDBPyConnection) -> None:
    """fct_referrals, fct_reviews and loyalty_benchmarks: 3 referrals in the year to AS_OF
    by 2 customers, 1 converted (the 2024 one is older); 2 reviews by 2 customers, 1
    positive (the 2026 one is later); B1 against one benchmark in 2025 (2026 is later)."""
    con.execute(
        """
        create table fct_referrals as select * from (values
            ('R1', 'C001', 'N1', date '2025-03-01', true),
            ('R2', 'C001', 'N2', date '2025-06-01', false),
            ('R3', 'C002', 'N3', date '2025-12-31', false),
            ('R4', 'C003', 'N4', date '2024-12-31', true)
        ) as t(referral_id, referrer_customer_id, referred_customer_id, referred_on,
               is_converted);
        create table fct_reviews as select * from (values
            ('V1', 'C001', date '2025-05-01', 'positive', 5),
            ('V2', 'C002', date '2025-07-01', 'negative', 2),
            ('V3', 'C003', date '2026-01-02', 'positive', 5)
        ) as t(review_id, customer_id, published_on, sentiment, rating);
        create table loyalty_benchmarks as select * from (values
            (date '2025-01-01', 'B1', 'standard', 'rate', 0.88, 130, 'manufacturing', 0.85,
                'better', true, true),
            (date '2026-01-01', 'B1', 'standard', 'rate', 0.5, 10, 'manufacturing', 0.85,
                'worse', true, true)
        ) as t(period_start_on, indicator_code, indicator_variant, unit, our_value, n,
               benchmark_industry, benchmark_value, comparison, is_example_benchmark,
               is_unit_consistent)
        """
    )


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    return make_warehouse(tmp_path_factory.mktemp("report") / "wh.duckdb")


@pytest.fixture(scope="module")
def reports(warehouse, tmp_path_factory) -> dict[str, str]:
    out = tmp_path_factory.mktemp("out")
    return {
        language: build_report(warehouse, out / f"{language}.html", language, AS_OF).read_text(
            encoding="utf-8"
        )
        for language in ("en", "zh")
    }


def visible_text(document: str) -> str:
    """The report's text outside charts, tags removed and entities decoded."""
    import html

    document = re.sub(r"<svg.*?</svg>", " ", document, flags=re.S)
    document = re.sub(r"<style>.*?</style>", " ", document, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", document))


def card(document: str, code: str) -> str:
    """The text of the KPI card whose label starts with `code`."""
    match = re.search(
        rf'<div class="label">{code} .*?</div>\s*<div class="value">(.*?)</div>', document, re.S
    )
    assert match, f"no KPI card for {code}"
    return match.group(1)


# ------------------------------------------------------------------ formats and helpers


def test_formats_follow_the_language():
    assert fmt_rate(105 / 110, "en") == "95.5%"
    assert fmt_pct(75.5, "zh") == "75.5%"
    assert fmt_nps(23.4, "en") == "+23.4" and fmt_nps(-5, "zh") == "-5.0"
    assert fmt_count(3701, "en") == "3,701"
    assert fmt_cny(1234567, "en") == "CNY 1.23 m"
    assert fmt_cny(1234567, "zh") == "123.46 万元"
    assert fmt_cny(918_400_500, "zh") == "9.18 亿元"
    assert fmt_cny(45000, "en") == "CNY 45,000"
    assert fmt_cny(999, "zh") == "999 元"
    assert fmt_value(30.0, "hours", "zh") == "30.0 小时"
    assert fmt_change(0.05, "rate", "en") == "+5.0 pp"
    assert fmt_change(-2.5, "pct", "zh") == "-2.5 个百分点"
    assert fmt_rate(float("nan"), "en") == "—"
    assert period_label(dt.date(2025, 10, 1), "quarter", "en") == "2025 Q4"
    assert period_label("2025-10-01", "quarter", "zh") == "2025年Q4"
    assert period_label(dt.date(2025, 1, 1), "year", "zh") == "2025年"


def test_period_cutoff_keeps_complete_periods_only():
    assert period_cutoff(dt.date(2025, 12, 31), "quarter") == dt.date(2026, 1, 1)
    assert period_cutoff(dt.date(2025, 12, 30), "quarter") == dt.date(2025, 10, 1)
    assert period_cutoff(dt.date(2025, 12, 30), "year") == dt.date(2025, 1, 1)
    assert period_cutoff(dt.date(2025, 6, 30), "year") == dt.date(2025, 1, 1)


def test_nice_ticks_cover_the_range():
    assert nice_ticks(0, 1) == [0, 0.25, 0.5, 0.75, 1.0]
    assert nice_ticks(14, 23.4) == [12.5, 15, 17.5, 20, 22.5, 25]
    assert nice_ticks(-5, 30) == [-10, 0, 10, 20, 30]


def test_chart_text_is_escaped():
    chart = hbar_chart(['<b>"x"&'], [1.0], title="<script>")
    assert "<script>" not in chart and "<b>" not in chart
    assert "&lt;script&gt;" in chart and "&lt;b&gt;&quot;x&quot;&amp;" in chart


# ------------------------------------------------------------------ the report


@pytest.mark.parametrize("language", ["en", "zh"])
def test_every_section_heading_in_the_language(reports, language):
    document = reports[language]
    for key in STRINGS:
        if key.startswith("sec_"):
            assert f"<h2>{STRINGS[key][language]}</h2>" in document, key
    other = "zh" if language == "en" else "en"
    assert STRINGS["sec_retention"][other] not in document
    assert f'<html lang="{"en" if language == "en" else "zh-CN"}">' in document


def test_headings_by_hand():
    """The two languages' headings, written out, so a broken STRINGS table cannot pass."""
    assert STRINGS["sec_retention"] == {"en": "Retention and churn", "zh": "客户留存与流失"}
    assert STRINGS["sec_due_diligence"] == {"en": "Due-diligence summary", "zh": "尽职调查摘要"}


def test_kpi_cards_show_the_latest_complete_quarter(reports):
    en, zh = reports["en"], reports["zh"]
    assert card(en, "B1") == "95.5%"  # 105 / 110, 2025 Q4; the 2026 Q1 row (12.3%) is later
    assert card(en, "B2") == "4.5%"
    assert card(en, "A2") == "75.5%"
    assert card(en, "E3") == "+23.4"
    assert card(en, "D2") == "87.5%"
    assert card(zh, "B1") == "95.5%"
    assert card(en, "F11") == "70.0%"
    assert card(en, "F8") == "CNY 18,000" and card(zh, "F8") == "1.80 万元"  # on margin
    assert "+5.0 pp vs 2025 Q3" in en  # B1: 95.45 % − 90 % = +5.45 pp, one decimal
    assert "较2025年Q3" in zh


def test_numbers_equal_the_mart_values(reports, warehouse):
    """The latest complete period of every company-level indicator series, read back from the
    mart and formatted the report's way, is in the report (in a card, a table or a chart's
    value labels); so are the retention counts and the equity figures."""
    en = reports["en"]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        latest = con.execute(
            """
            with shown as (
                select * from loyalty_indicators
                where slice_type = 'company' and period_start_on < date '2026-01-01'
            )
            select indicator_code, indicator_variant, value, unit from shown
            where period_start_on = (
                select max(other.period_start_on) from shown as other
                where other.indicator_code = shown.indicator_code
                  and other.indicator_variant = shown.indicator_variant
                  and other.period_grain = shown.period_grain
            )
            """
        ).fetchall()
        retention = con.execute(
            "select customers_at_end, retention_rate_seed_002 from loyalty_retention "
            "where period_start_on < date '2026-01-01'"
        ).fetchall()
        equity = con.execute(
            "select equity_margin_cny, equity_margin_lower_cny, equity_margin_upper_cny "
            "from analytics.customer_equity"
        ).fetchall()
    assert len(latest) == 36  # code × variant × grain series in INDICATOR_ROWS
    for code, variant, value, unit in latest:
        # amounts in tables are in one unit per table: F9's plain CNY, B5's lost revenue CNY m
        scale = {"F9": 1.0, "B5": 1e6}.get(code)
        shown = (
            fmt_cny_scaled(value, scale, "en")
            if scale and unit == "cny"
            else fmt_value(value, unit, "en")
        )
        assert shown in en, (code, variant, value, unit)
    for customers, seed_rate in retention:
        assert fmt_count(customers, "en") in en and fmt_rate(seed_rate, "en") in en
    for row in equity:  # the total in its card, the slices in a table in plain CNY
        for amount in row:
            assert fmt_cny(amount, "en") in en or fmt_cny_scaled(amount, 1.0, "en") in en
    # some of the same figures written out by hand
    text = visible_text(en)
    for expected in ("82.5%", "64.2%", "+5.0 pp", "91.3%", "30.0 h", "120.5 h", "+10.0"):
        assert expected in text, expected


def test_periods_after_as_of_are_left_out(reports):
    en = visible_text(reports["en"])
    assert "12.3%" not in en  # B1 and loyalty_retention in 2026 Q1
    assert "999" not in en  # customers at end of 2026 Q1
    assert "11.1%" not in en  # the partial fifth quarter of cohort 2024-Q4
    assert "2026" not in reports["en"]  # no 2026 period anywhere, charts included


def test_churn_reasons_cohorts_complaints_and_concentration(reports):
    en, zh = visible_text(reports["en"]), visible_text(reports["zh"])
    # B5 2025: price 6 (66.7 %, CNY 1.23 m), service 3 (33.3 %, CNY 0.046 m: one unit for
    # the table, from its largest amount); B6 CNY 1.28 m
    assert re.search(r"Price\s+6\s+66\.7%\s+1\.23\s", en)
    assert re.search(r"Service\s+3\s+33\.3%\s+0\.046\s", en)
    assert "(CNY m)" in en
    assert "Churn cost (B6), 2025: CNY 1.28 m" in en
    assert re.search(r"价格\s+6\s+66\.7%\s+123\.46\s", zh)
    assert re.search(r"服务\s+3\s+33\.3%\s+4\.57\s", zh) and "(万元)" in zh
    # cohorts: size, then after 1, 2, 4, 8 quarters
    assert re.search(r"2024-Q4\s+10\s+90\.0%\s+80\.0%\s+60\.0%\s+—", en)
    assert re.search(r"2025-Q1\s+20\s+85\.0%\s+75\.0%\s+—\s+—", en)
    # complaints table, 2025 Q4: D1 0.05, D2 87.5 %, D3 30.0 h and 120.5 h
    assert re.search(r"2025 Q4\s+0\.05\s+87\.5%\s+30\.0 h\s+120\.5 h", en)
    # concentration from the analytics table
    assert re.search(r"Top-2 share of revenue\s+70\.0%", en)
    assert re.search(r"Herfindahl index\s+0\.3000", en)
    assert re.search(r"Equivalent number of equal customers\s+3\b", en)
    assert re.search(r"Top-10 % customers' share of revenue\s+16\.0%", en)
    assert re.search(r"Gini coefficient\s+0\.2500", en)
    # the Lorenz curve is drawn from the company's points of customer_concentration_lorenz
    expected = svg.lorenz_curve(
        [0.0, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875, 1.0],
        [0.0, 0.05, 0.1, 0.2, 0.3, 0.45, 0.6, 0.8, 1.0],
        title="Lorenz curve of net revenue, last 12 months",
        x_title="Share of customers (smallest first)",
        y_title="Share of revenue",
        equality_label="Equal shares",
    )
    assert expected in reports["en"]


def test_clv_models_show_the_chosen_fits(reports):
    en = visible_text(reports["en"])
    assert re.search(r"bgnbd\s+All customers\s+alpha\s+4\.414\s+0\.31\s+-9,582\s+2,357", en)
    # the sBG fit of the accounting product line: 23.45 ± 308.5, named as poorly identified
    assert re.search(r"sbg\s+accounting\s+alpha\s+23\.45\s+308\.5", en)
    assert "Poorly identified (standard error larger than the estimate): sbg · accounting." in en
    zh = visible_text(reports["zh"])
    assert re.search(r"sbg\s+会计\s+alpha", zh) and "全部客户" in zh
    assert "paretonbd" not in en


def test_the_equity_headline_is_on_margin_and_ties_out(reports):
    """Issue 16: the valuation headline is margin-based, shows the trailing-12-month tie-out
    from analytics.customer_equity_bridge and says what its interval covers."""
    en = visible_text(reports["en"])
    assert "Customer equity on gross margin CNY 18,000 (interval CNY 16,000 – CNY 20,800)" in en
    assert "over the next 60 months, discounted at 10.0% a year" in en
    assert "(the 365 days to the report date: margin CNY 6,000 on revenue CNY 15,000)" in en
    assert "it is 3.00× margin and 1.20× revenue" in en
    assert "would be worth CNY 45,000: not a value" in en
    assert "covers the uncertainty of the estimated model parameters only" in en
    assert re.search(r"Contracts \(sBG\)\s+6,000\s+2,500\s+7,000\s+2\.80\s+90\.0%", en)


def test_due_diligence_summary_quotes_the_marts(reports):
    en = visible_text(reports["en"])
    # trailing year: GRR (100,000 − 5,000 − 10,000) / 100,000, NRR + 15,000 → 100 %
    assert (
        "In the 12 months to 2025-12-31: gross revenue retention 85.0%, net revenue retention "
        "100.0% (revenue of the customers of the year before: CNY 100,000; of all customers "
        "now: CNY 120,000); 34 of the 40 customers who bought in the year before bought again "
        "(85.0%). Customer retention 88.0% and churn 12.0% in 2025, the last complete "
        "year (the year before: 80.0%)." in en
    )
    assert "4 quarters after acquisition: 60.0% for cohort 2024-Q4, 50.0% for cohort 2023-Q4" in en
    assert "Most frequent reason in 2025: Price (66.7% of customers lost)." in en
    assert (
        "Top 2 customers: 70.0% of the last 12 months' net revenue; Herfindahl index 0.3000" in en
    )
    assert (
        "Customer equity on gross margin CNY 18,000 (interval CNY 16,000 – CNY 20,800, "
        "parameter uncertainty only). 3.00× trailing-12-month margin, 1.20× trailing-12-month "
        "revenue." in en
    )
    assert "Satisfaction 75.5% (2025 Q4); NPS +23.4 (2025 Q4)." in en
    assert "85.0% of complaints resolved in 2025; 0.20 complaints per customer." in en
    # expected loss: risk × value of the 23 customers not lapsing, sum (1 − 0.04 i)·1,000 (i + 1)
    # over i = 1..23; the two lapsing ones (i = 0, 24) hold 1,000 + 25,000
    assert (
        "13 customers with a risk of 50.0% or more, holding CNY 91,000 of value; expected loss "
        "(risk × value) CNY 115,000; 2 customers already lapsing by the activity rule "
        "(CNY 26,000) are listed apart." in en
    )
    # 3 core and 2 wavering of 11 customers (the rfm row is another scheme)
    assert "Core customers: 27.3% of customers; Valuable but wavering: 18.2%." in en
    zh = visible_text(reports["zh"])
    assert (
        "风险不低于50.0%的客户13位,涉及价值9.10 万元;预期损失(风险×价值)11.50 万元;"
        "按活跃规则已在流失的客户2位(2.60 万元)另行列出。" in zh
    )


def test_indicator_names_are_joined_from_the_catalogue(tmp_path):
    """loyalty_indicators and loyalty_benchmarks carry codes only: the names are
    loyalty_indicator_catalogue's. Renamed there, B2's card and B1's card and benchmark row
    show the new names; D1, taken out of the catalogue, is shown by its code, not as
    "None"."""
    database = make_warehouse(tmp_path / "wh.duckdb")
    with duckdb.connect(str(database)) as con:
        con.execute(
            "update loyalty_indicator_catalogue set indicator_name_en = 'Lapse share' "
            "where indicator_code = 'B2'"
        )
        con.execute(
            "update loyalty_indicator_catalogue set indicator_name_en = 'Kept customers' "
            "where indicator_code = 'B1'"
        )
        con.execute("delete from loyalty_indicator_catalogue where indicator_code = 'D1'")
    en = visible_text(build_report(database, tmp_path / "r.html", "en", AS_OF).read_text("utf-8"))
    assert "B2 Lapse share 4.5% 2025 Q4" in " ".join(en.split())
    assert "B1 Kept customers 95.5% 2025 Q4" in " ".join(en.split())
    assert "B1 Kept customers Manufacturing 88.0% 85.0% better 130" in " ".join(en.split())
    assert "D1 D1 0.05 2025 Q4" in " ".join(en.split())
    assert "None" not in en


def test_due_diligence_names_the_top_recorded_churn_reason(tmp_path):
    """When most losses have no recorded reason, the line names the top recorded reason and
    the unrecorded share (10 of 19 lost: 52.6 %)."""
    database = make_warehouse(tmp_path / "wh.duckdb")
    with duckdb.connect(str(database)) as con:
        con.execute(
            "update loyalty_indicators set denominator = 19, value = numerator / 19 "
            "where indicator_variant like 'reason_share:%'"
        )
        con.execute(
            "insert into loyalty_indicators values "
            "('B5', 'reason:unrecorded', 'year', '2025-01-01', "
            "'company', 'all', 10, 1, 10, 'count', 10), "
            "('B5', 'reason_share:unrecorded', 'year', "
            "'2025-01-01', 'company', 'all', 10, 19, 10 / 19, 'rate', 19)"
        )
    en = visible_text(build_report(database, tmp_path / "r.html", "en", AS_OF).read_text("utf-8"))
    assert (
        "Most frequent reason in 2025: Price (31.6% of customers lost). "
        "No reason is recorded for 52.6% of them."
    ) in en
    assert re.search(r"Not recorded\s+10\s+52\.6%", en)


def test_at_risk_table_ranks_by_value_at_risk_with_the_lost_apart(reports):
    en = visible_text(reports["en"])
    zh = visible_text(reports["zh"])
    assert re.search(
        r"\b1\s+C013\s+52\.0%\s+13,000\s+6,760\s+"
        r"More complaints; few orders in the last 90 days",
        en,
    )
    # the three smallest values at risk of the 23 still active stay out: C002 (1,920) is one
    assert not re.search(r"\bC002\b", en)
    assert "Reported apart: 2 customers, holding CNY 26,000 of value" in en
    assert re.search(r"\b1\s+C025\s+4\.0%\s+25,000\s+More complaints", en)
    assert re.search(r"\b2\s+C001\s+100\.0%\s+1,000\s+More complaints", en)
    assert "Value at stake (CNY)" in en and "预期损失 (万元)" in zh  # largest 13,000 元
    assert "近90天订单少" in zh and "few orders" not in zh
    assert "近90天订单少" not in en
    assert "长期未联系" in zh


def test_segments_matrix(reports):
    en = visible_text(reports["en"])
    assert re.search(r"Loyal with room to grow\s+Develop\s+4\s+36\.4%", en)
    # 11 active customers; the churned S100 and S101 (core customers) are not counted
    assert "Customer base: the 11 customers active at 2025-12-31" in en
    assert re.search(r"Core customers\s+Retain\s+3\s+27\.3%", en)
    assert "1 customers could not be placed" in en
    assert "Important value customers" not in en  # rfm scheme rows stay out
    assert 'aria-label="Value × loyalty matrix"' in reports["en"]


def test_svg_count(reports):
    """10 KPI sparklines (active customers, B1, B2, B7, B4, A2, A3, E3, D1, D2; E2 has one
    period, B3 and F3 are absent) and 13 charts: satisfaction, retention, churn reasons,
    cohorts, NPS, NPS by industry, complaint resolution, complaint categories, equity by
    industry, CLV histogram, Lorenz curve, value × loyalty grid, engagement (C3; E1 has one
    quarter, so no trend line)."""
    for document in reports.values():
        assert document.count('<svg class="sparkline"') == 10
        assert document.count('<svg class="chart"') == 13
        assert document.count("<svg") == 23
        assert document.count("</svg>") == 23


def test_self_contained_and_offline(reports):
    for document in reports.values():
        assert "http://" not in document and "https://" not in document
        assert not re.search(r"\bsrc\s*=", document)
        assert "<script" not in document and "<link" not in document
        assert "@import" not in document and "url(" not in document
        hrefs = re.findall(r'href="([^"]*)"', document)
        assert hrefs and all(href.startswith("#") for href in hrefs)
        assert "default-src 'none'" in document
        assert 'font-family="Noto Sans CJK SC' in document or "Noto Sans CJK SC" in document


def test_no_personal_data(reports):
    for document in reports.values():
        for name in (*SECRET_NAMES, "某公司", "另一公司"):
            assert name not in document
        assert "customer_name" not in document


def test_default_as_of_is_the_warehouse_date(warehouse, tmp_path):
    document = build_report(warehouse, tmp_path / "r.html", "en").read_text(encoding="utf-8")
    assert "As of 2025-12-31" in document
    assert card(document, "B1") == "95.5%"


def test_an_earlier_as_of_moves_the_periods(warehouse, tmp_path):
    document = build_report(warehouse, tmp_path / "r.html", "en", dt.date(2025, 9, 30))
    assert card(document.read_text(encoding="utf-8"), "B1") == "90.0%"


def test_cli_writes_the_report(warehouse, tmp_path, capsys):
    out = tmp_path / "cli" / "report.html"
    main(["--database", str(warehouse), "--out", str(out), "--language", "en", "--as-of", AS_OF])
    assert capsys.readouterr().out.strip() == str(out)
    assert "<h2>Retention and churn</h2>" in out.read_text(encoding="utf-8")


def test_unknown_language_is_refused(warehouse, tmp_path):
    with pytest.raises(ValueError, match="language"):
        build_report(warehouse, tmp_path / "r.html", "fr")


# ------------------------------------------------------------------ missing marts


MISSING_ANALYTICS = (
    "analytics.customer_concentration",
    "analytics.customer_clv",
    "analytics.customer_equity",
    "analytics.clv_model_fits",
    "analytics.customer_segments",
    "analytics.churn_early_warning",
    "analytics.management_level",
    "analytics.customer_indices",
    "analytics.loyalty_extra_revenue",
)


def test_missing_tables_give_notes_not_errors(tmp_path):
    database = make_warehouse(tmp_path / "wh.duckdb", analytics=False)
    with duckdb.connect(str(database)) as con:
        con.execute("drop table loyalty_cohort_retention")
    en = build_report(database, tmp_path / "en.html", "en", AS_OF).read_text(encoding="utf-8")
    zh = build_report(database, tmp_path / "zh.html", "zh", AS_OF).read_text(encoding="utf-8")
    for table in (*MISSING_ANALYTICS, "loyalty_cohort_retention"):
        assert f"not available in this warehouse: {table}" in en, table
        assert f"本数据仓库中无此数据: {table}" in zh, table
    # what is there is still reported
    assert card(en, "B1") == "95.5%"
    assert "<h2>Customers at risk</h2>" in en


def test_an_empty_warehouse_still_gives_a_report(tmp_path):
    database = tmp_path / "empty.duckdb"
    duckdb.connect(str(database)).close()
    en = build_report(database, tmp_path / "en.html", "en", AS_OF).read_text(encoding="utf-8")
    assert "not available in this warehouse: loyalty_indicators" in en
    assert "not available in this warehouse: loyalty_retention" in en
    assert "not available in this warehouse: customer_concentration_lorenz" in en
    assert en.count("<svg") == 0


def test_an_indicator_the_mart_lacks_is_named(tmp_path):
    database = make_warehouse(tmp_path / "wh.duckdb")
    with duckdb.connect(str(database)) as con:
        con.execute("delete from loyalty_indicators where indicator_code in ('B5', 'D1', 'D2')")
    en = visible_text(build_report(database, tmp_path / "r.html", "en", AS_OF).read_text("utf-8"))
    assert "not available in this warehouse: loyalty_indicators (B5)" in en
    assert "Indicators not in this warehouse: B3, D1, D2, F3" in en


def test_a_missing_column_gives_a_note(tmp_path):
    database = make_warehouse(tmp_path / "wh.duckdb")
    with duckdb.connect(str(database)) as con:
        con.execute("alter table analytics.churn_early_warning drop column reason_3")
        con.execute(
            "alter table analytics.customer_equity rename column equity_margin_cny to equity"
        )
    en = build_report(database, tmp_path / "r.html", "en", AS_OF).read_text(encoding="utf-8")
    assert re.search(
        r"not available in this warehouse: analytics\.churn_early_warning \(.*reason_3", en
    )
    assert re.search(r"not available in this warehouse: analytics\.customer_equity \(.*equity", en)
    assert "C001" not in en  # the at-risk table is not drawn from half a table


# ------------------------------------------------------------------ the sections added


def section_text(document: str, section_id: str) -> str:
    match = re.search(rf'<section[^>]*id="{section_id}".*?</section>', document, re.S)
    assert match, f"no section {section_id}"
    return re.sub(r"\s+", " ", visible_text(match.group(0)))


def test_management_level_and_scorecards(reports):
    en = section_text(reports["en"], "management")
    assert "Customer base: 100 customers of the company in the current window" in en
    assert "62.5%" in en and "+5.0 pp" in en
    # current rows only, by management level: M001 (80.0%) before M002 (45.5%)
    assert re.search(r"M001 40 90\.0% 65\.0% 0\.00 0\.0% 70\.0% 80\.0% green \+2\.5 pp", en)
    assert re.search(r"M002 20 75\.0% 50\.0% 0\.50 25\.0% 55\.0% 45\.5% red -4\.5 pp", en)
    assert en.index("M001") < en.index("M002") and en.count("M002") == 1
    assert "East team 60" in en
    zh = section_text(reports["zh"], "management")
    assert "当前窗口(2025-01-01 至 2025-12-31)内公司的 100 位客户" in zh and "红" in zh


def test_indices_with_trend_and_drivers(reports):
    en = section_text(reports["en"], "indices")
    assert "Customer base: 3 customers scored at 2025-12-31." in en
    assert "H1 Loyalty index 3 60.0% 50.0% 60.0% 2 / 0 / 0 1 / 1 / 1" in en
    assert "H2 Customer value index 3 30.0% 40.0% 50.0% 1 / 0 / 0 0 / 1 / 2" in en
    assert "B1 Retention rate 60.0% expert weights" in en
    assert "A2 Satisfaction score (%) 40.0% expert weights" in en
    assert "entropy" not in en  # learnt but not applied


def test_engagement_referral_and_costs(reports):
    en = section_text(reports["en"], "engagement")
    assert "Customer base: 125 customers (C1's n) in 2025 Q4" in en
    assert "C1 Interaction frequency 2025 Q4 1.60 +0.10 125" in en
    assert "C3 Engagement (%) 2025 Q4 20.5% +2.5 pp 125" in en
    ref = section_text(reports["en"], "referral")
    assert "E1 Referral rate 2025 Q4 4.0%" in ref
    assert (
        "3 referrals by 2 customers, 1 converted; 2 reviews by 2 customers, 50.0% positive" in ref
    )
    costs = section_text(reports["en"], "costs")
    assert "10 customers acquired and 100 customers retained in 2025 Q4" in costs
    # one unit for the table, from its largest amount (30,000 < 1 m): plain CNY
    assert "(CNY)" in costs and "2025 Q3 30,000 — — 10" in costs
    assert "2025 Q4 25,000 500 50.00 10" in costs
    zh = section_text(reports["zh"], "costs")
    assert "(万元)" in zh and "2025年Q4 2.50 0.050 50.00 10" in zh


def test_benchmarks_and_extra_revenue(reports):
    en = section_text(reports["en"], "benchmarks")
    assert "B1 Retention rate Manufacturing 88.0% 85.0% better 130" in en.replace(
        "manufacturing", "Manufacturing"
    )
    assert "50.0%" not in en  # the 2026 row is after as_of
    assert "examples shipped with the project" in en
    xr = section_text(reports["en"], "extra_revenue")
    assert "100 customers with revenue from 2025-01-01 to 2025-12-31, 10 of them" in xr
    assert "Amount (CNY m)" in xr and "Extra revenue from the top loyalty band 1.00" in xr
    assert "Average revenue per customer, all customers 0.050" in xr
    zh = section_text(reports["zh"], "extra_revenue")
    assert "金额 (万元)" in zh and "100.00" in zh and "5.00" in zh


def test_model_parameters_are_in_the_appendix_at_the_end(reports):
    for document in reports.values():
        ids = re.findall(r'<section[^>]*id="([a-z_]+)"', document)
        assert ids[-1] == "appendix"
        assert "alpha" in section_text(document, "appendix")
        assert "alpha" not in section_text(document, "clv")


def test_cny_units_are_one_per_table():
    assert cny_scale([2.5e8, 3e4], "zh") == 1e8 and cny_scale([9999.0], "zh") == 1.0
    assert cny_scale([2e6, 10.0], "en") == 1e6 and cny_scale([None, 9e8], "en") == 1e6
    assert [fmt_cny_scaled(v, 1e8, "zh") for v in (2.5e8, 3e4)] == ["2.50", "0.000"]
    assert fmt_cny_scaled(468.4, 1e4, "zh") == "0.047"


# ------------------------------------------------------------------ readability


def test_tick_labels_name_the_tick_values():
    """Ticks step by 2.5: 52.5 must read 52.5, not 52 (nor 57.5 as 58)."""
    assert [_axis_formatter("rate")(v) for v in (0.5, 0.525, 0.55, 0.575)] == [
        "50%",
        "52.5%",
        "55%",
        "57.5%",
    ]
    assert _axis_formatter("pct")(62.5) == "62.5%" and _axis_formatter("nps")(-2.5) == "-2.5"
    assert _axis_formatter("count")(12500.0) == "12,500" and _axis_formatter("nps")(0.0) == "0"
    assert svg._percent(0.125) == "12.5%" and svg._plain(0.25) == "0.25"
    ticks = nice_ticks(50, 62)
    labels = [_axis_formatter("pct")(t) for t in ticks]
    assert [float(label.rstrip("%")) for label in labels] == ticks


def test_trend_axes_of_rates_and_nps_start_at_zero(reports):
    """NPS 10.0 and 23.4 in two quarters: the axis runs from 0 (ticks 0, 10, 20, 30), not
    zoomed on 10 to 25."""
    nps = re.search(r'<section[^>]*id="nps".*?</section>', reports["en"], re.S).group(0)
    first_chart = re.search(r'<svg class="chart".*?</svg>', nps, re.S).group(0)
    ticks = re.findall(r'text-anchor="end"[^>]*>([^<]+)</text>', first_chart)
    assert ticks == ["0", "10", "20", "30"], ticks


def test_palette_has_no_low_contrast_colour():
    """Every chart colour has a contrast of at least 3:1 on white (WCAG, graphics)."""

    def luminance(colour: str) -> float:
        channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    for colour in svg.PALETTE:
        assert 1.05 / (luminance(colour) + 0.05) >= 3.0, colour
    assert "#F0E442" not in svg.PALETTE


def test_cohort_chart_and_table_show_the_same_cohorts(reports):
    """2025-Q4 has one quarter only: neither drawn nor tabled."""
    section = re.search(r'<section[^>]*id="cohorts".*?</section>', reports["en"], re.S).group(0)
    chart = re.search(r'<svg class="chart".*?</svg>', section, re.S).group(0)
    legend = re.findall(r'font-size="11"[^>]*>(20\d\d-Q\d)</text>', chart)
    table = re.findall(r"<td>(20\d\d-Q\d)</td>", section)
    assert legend == table == ["2023-Q1", "2023-Q4", "2024-Q4", "2025-Q1"]


def test_nps_by_industry_shows_sample_sizes(reports):
    en, zh = reports["en"], reports["zh"]
    assert "Service quality (n = 60)<" in en  # the satisfaction dimensions' respondents
    assert "Manufacturing (n = 40)<" in en and "Retail (n = 20) *<" in en
    assert "Fewer than 30 respondents: a small sample" in visible_text(en)
    assert "(n = 20) *" in zh and "受访人数少于 30" in visible_text(zh)


def test_the_chinese_report_is_in_chinese_only(reports):
    """No "English / 中文" pairs, and no English section words, in the zh report."""
    zh = visible_text(reports["zh"])
    assert not re.search(r"[A-Za-z]{2,}[A-Za-z ]* / [\u4e00-\u9fff]", zh)
    for key in ("sec_retention", "customers", "period", "sec_management", "base_indices"):
        assert STRINGS[key]["en"].split("{")[0] not in zh, key


def test_empty_tables_of_the_added_sections_give_notes(tmp_path):
    database = make_warehouse(tmp_path / "wh.duckdb")
    tables = (
        "analytics.management_level",
        "analytics.customer_indices",
        "analytics.loyalty_extra_revenue",
        "loyalty_benchmarks",
    )
    with duckdb.connect(str(database)) as con:
        for table in tables:
            con.execute(f"delete from {table}")
        con.execute("delete from loyalty_indicators where indicator_code in ('C1', 'C3', 'F9')")
    en = build_report(database, tmp_path / "r.html", "en", AS_OF).read_text(encoding="utf-8")
    for table in tables:
        assert f"not available in this warehouse: {table}" in en, table
    assert "not available in this warehouse: loyalty_indicators (C1, C2, C3, C4, C5" in en
    assert "not available in this warehouse: loyalty_indicators (F9)" in en


def test_each_section_states_its_customer_base(reports):
    """One sentence each, with the hand-set counts: 115 active at the end of 2025 Q4
    (loyalty_retention), 10 valued (customer_equity), 4 of 5 with revenue (concentration),
    11 active in the matrix, 100 in the management window, 3 scored, 125 (C1's n)."""
    en = re.sub(r"\s+", " ", visible_text(reports["en"]))
    for sentence in (
        "Customer base: 115 customers active at the end of 2025 Q4, the latest complete quarter.",
        "Customer base: the 10 customers valued at 2025-12-31",
        "Customer base: the 4 customers with revenue in the 12 months to the as-of date, of 5",
        "Customer base: the 11 customers active at 2025-12-31",
        "Customer base: 100 customers of the company",
        "Customer base: 3 customers scored at 2025-12-31.",
        "Customer base: 125 customers (C1's n) in 2025 Q4",
    ):
        assert sentence in en, sentence
    assert visible_text(reports["zh"]).count("客户基数:") == en.count("Customer base:") == 11


def test_due_diligence_quotes_the_trailing_year(tmp_path):
    """Complaints and churn reasons of the 365 days to as_of (2025-01-01 .. 2025-12-31), not a
    calendar year. Complaints: K1–K4 opened in the window (K0 on 2024-12-31 is not), K1–K3
    closed as resolved by as_of, K4 only after it: 3 / 4 = 75.0 %; 4 per 12 customers active
    at as_of = 0.33. Lost in the window: S100 and S101 for price, L1 for service, L2 with no
    reason (L3, lost in December 2024, is not): price 2 / 4 = 50.0 %, unrecorded 25.0 %."""
    database = make_warehouse(tmp_path / "wh.duckdb")
    with duckdb.connect(str(database)) as con:
        con.execute(
            """
            create table fct_complaints as select * from (values
                ('K0', 'C001', timestamp '2024-12-31 09:00', timestamp '2025-01-02 09:00',
                    'resolved'),
                ('K1', 'C001', timestamp '2025-01-01 09:00', timestamp '2025-01-05 09:00',
                    'resolved'),
                ('K2', 'S001', timestamp '2025-06-01 09:00', timestamp '2025-06-03 09:00',
                    'resolved'),
                ('K3', 'S002', timestamp '2025-12-30 09:00', timestamp '2025-12-31 18:00',
                    'resolved'),
                ('K4', 'S003', timestamp '2025-12-31 09:00', timestamp '2026-01-02 09:00',
                    'resolved')
            ) as t(complaint_id, customer_id, opened_at, resolved_at, outcome)
            """
        )
        con.execute("alter table customer_facts add column last_churn_month_on date")
        con.execute("alter table customer_facts add column churn_reason_code varchar")
        con.execute(
            "update customer_facts set last_churn_month_on = date '2025-03-01', "
            "churn_reason_code = 'price' where customer_id = 'S100'"
        )
        con.execute(
            "update customer_facts set last_churn_month_on = date '2025-11-01', "
            "churn_reason_code = 'price' where customer_id = 'S101'"
        )
        con.execute(
            "insert into customer_facts values "
            "('L1', date '2025-12-31', false, date '2025-06-01', 'service'), "
            "('L2', date '2025-12-31', false, date '2025-12-01', null), "
            "('L3', date '2025-12-31', false, date '2024-12-01', 'price')"
        )
    en = visible_text(build_report(database, tmp_path / "r.html", "en", AS_OF).read_text("utf-8"))
    assert (
        "4 complaints opened in the 12 months to 2025-12-31, 75.0% of them resolved by then; "
        "0.33 per customer active now." in en
    )
    assert (
        "Most frequent reason in the 12 months to 2025-12-31: Price (50.0% of customers lost). "
        "No reason is recorded for 25.0% of them." in en
    )
    zh = visible_text(build_report(database, tmp_path / "r.html", "zh", AS_OF).read_text("utf-8"))
    assert (
        "截至2025-12-31的近12个月新增投诉4起,其中75.0%已解决;按当前活跃客户计每客户0.33起。" in zh
    )
