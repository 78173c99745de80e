"""Customer concentration (F11) against hand-computed values."""

import math

import pandas as pd
import pytest

from orchestration.concentration import concentration


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
