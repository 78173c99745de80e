"""Customer concentration (F11): the pandas function against hand-computed values, and the
SQL marts and the analytics asset against it on the end-to-end build."""

import math

import duckdb
import numpy as np
import pandas as pd
import pytest

from orchestration.concentration import concentration
from tests.conftest import CUSTOMERS


def test_two_customers_by_hand():
    # shares 0.75 and 0.25: HHI = 0.5625 + 0.0625 = 0.625; top-1 share 0.75
    result = concentration(pd.Series([300.0, 100.0]), top_n=1)
    assert result["top_n_share_rate"] == pytest.approx(0.75)
    assert result["herfindahl_index"] == pytest.approx(0.625)
    assert result["equivalent_customers"] == pytest.approx(1.6)
    assert result["revenue_cny"] == pytest.approx(400.0)


def test_equal_customers_give_one_over_n():
    result = concentration(pd.Series([10.0] * 20), top_n=10)
    assert result["herfindahl_index"] == pytest.approx(1 / 20)
    assert result["top_n_share_rate"] == pytest.approx(0.5)


def test_non_positive_customers_hold_no_share_but_are_counted():
    # Credit notes larger than invoices leave -50; a customer without orders has 0.
    result = concentration(pd.Series([100.0, 100.0, -50.0, 0.0]), top_n=10)
    assert result["customers"] == 4
    assert result["customers_with_revenue"] == 2
    assert result["customers_non_positive"] == 2
    assert result["herfindahl_index"] == pytest.approx(0.5)
    assert result["top_n_share_rate"] == pytest.approx(1.0)


def test_no_revenue_is_nan_not_zero():
    result = concentration(pd.Series([0.0, 0.0]))
    assert math.isnan(result["herfindahl_index"])
    assert math.isnan(result["top_n_share_rate"])


# ------------------------------------------------ the SQL marts against the pandas twin


def lorenz_reference(revenue: pd.Series, steps: int = 100) -> tuple[np.ndarray, float, float]:
    """Cumulative revenue shares at k / steps of the customers with positive revenue (linear
    between customers), the top-decile share and the Gini coefficient, by numpy."""
    positive = np.sort(revenue[revenue > 0].to_numpy(dtype=float))
    n = positive.size
    curve = np.concatenate([[0.0], np.cumsum(positive)]) / positive.sum()
    points = np.interp(np.arange(steps + 1) * n / steps, np.arange(n + 1), curve)
    top_decile = 1 - float(np.interp(0.9 * n, np.arange(n + 1), curve))
    gini = 1 - float(np.sum(curve[1:] + curve[:-1])) / n  # 1 − 2 × trapezoid area
    return points, top_decile, gini


@pytest.mark.slow
def test_sql_marts_and_asset_equal_pandas_on_the_built_firm(built):
    """The dbt marts (company, industry, region) and analytics.customer_concentration, on
    the end-to-end build, against `concentration()` and numpy over customer_value's
    trailing-12-month revenue."""
    with duckdb.connect(built["database"], read_only=True) as con:
        revenue = con.execute(
            """
            select c.customer_id, c.industry, c.region, v.revenue_12m_cny
            from dim_customers as c
            inner join customer_value as v on c.customer_id = v.customer_id
            """
        ).df()
        summary = con.execute("select * from customer_concentration_summary").df()
        lorenz = con.execute(
            "select * from customer_concentration_lorenz order by point_number"
        ).df()
        asset = con.execute("select * from analytics.customer_concentration").df()
    revenue["all"] = "all"
    slices = {"company": "all", "industry": "industry", "region": "region"}
    checked = 0
    for slice_type, column in slices.items():
        for slice_value, group in revenue.groupby(column):
            expected = concentration(group["revenue_12m_cny"], top_n=10)
            got = summary[
                (summary.slice_type == slice_type) & (summary.slice_value == slice_value)
            ].iloc[0]
            where = f"{slice_type}={slice_value}"
            assert got["customers"] == expected["customers"], where
            assert got["customers_with_revenue"] == expected["customers_with_revenue"], where
            assert got["revenue_12m_cny"] == pytest.approx(expected["revenue_cny"], rel=1e-9)
            assert got["top_n_share_rate"] == pytest.approx(
                expected["top_n_share_rate"], rel=1e-9
            ), where
            assert got["herfindahl_index"] == pytest.approx(
                expected["herfindahl_index"], rel=1e-9
            ), where
            points, top_decile, gini = lorenz_reference(group["revenue_12m_cny"])
            assert got["top_decile_share_rate"] == pytest.approx(top_decile, rel=1e-9), where
            assert got["gini_coefficient"] == pytest.approx(gini, rel=1e-9), where
            curve = lorenz[(lorenz.slice_type == slice_type) & (lorenz.slice_value == slice_value)]
            assert list(curve["point_number"]) == list(range(101)), where
            assert np.allclose(curve["cumulative_revenue_share_rate"], points, atol=1e-12), where
            checked += 1
    assert checked == 1 + revenue["industry"].nunique() + revenue["region"].nunique()
    # the Python asset is the company row, under its historical column names
    company = concentration(revenue["revenue_12m_cny"], top_n=10)
    row = asset.iloc[0]
    assert len(asset) == 1
    assert row["customers"] == company["customers"] == CUSTOMERS
    assert row["top_n"] == 10
    assert row["revenue_cny"] == pytest.approx(company["revenue_cny"], rel=1e-9)
    assert row["top_n_revenue_cny"] == pytest.approx(company["top_n_revenue_cny"], rel=1e-9)
    assert row["top_n_share_rate"] == pytest.approx(company["top_n_share_rate"], rel=1e-9)
    assert row["herfindahl_index"] == pytest.approx(company["herfindahl_index"], rel=1e-9)
    assert 0 < row["top_n_share_rate"] < 1
