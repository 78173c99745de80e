"""Issue 16, deliverables 2-4 by hand: margin, one horizon for both parts, contract billing,
the equity bridge and the sensitivity grid, on numbers small enough to check on paper."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from orchestration.clv import sbg
from orchestration.clv import valuation as val
from orchestration.clv import warehouse as wh

SBG_ONE_ONE = wh.FitResult("sbg", {"alpha": 1.0, "beta": 1.0}, {}, 0.0, 10, True, 2, 0, "")


def test_truncated_derl_by_hand():
    """alpha = beta = 1, no renewal yet (n = 1): S(t)/S(t-1) = t / (t + 1), so the survival
    to the next three renewals is 1/2, 1/3, 1/4. Over 2.5 periods at 10 %:
    1/2 + (1/3)/1.1 + 0.5 x (1/4)/1.21 = 0.906336."""
    got = sbg.discounted_expected_residual_lifetime(SBG_ONE_ONE, 0.10, [0], 2.5)
    assert got[0] == pytest.approx(0.5 + (1 / 3) / 1.1 + 0.5 * 0.25 / 1.21, abs=1e-12)
    # a very long horizon gives the closed form of Fader and Hardie
    params = {"alpha": 0.7, "beta": 1.2}
    assert sbg.discounted_expected_residual_lifetime(params, 0.1, [0, 3], 3000) == pytest.approx(
        sbg.discounted_expected_residual_lifetime(params, 0.1, [0, 3]), rel=1e-9
    )


def test_contract_clv_over_the_horizon_on_margin():
    """One open chain without renewal (the DERL convention counts from the next renewal,
    n = 2: survival 2/3, then 1/2), 1,000 a year, software at 70 % margin, 24 months at 10 %:
    revenue 1,000 x (2/3 + (1/2)/1.1) = 1,121.21, margin 784.85; without a horizon the
    closed form is larger."""
    histories = pd.DataFrame(
        {
            "chain_id": ["K1"],
            "customer_id": ["A"],
            "product_line": ["software"],
            "renewals": [0],
            "churned": [False],
            "is_open": [True],
            "annual_value_cny": [1000.0],
        }
    )
    fits = {"all": SBG_ONE_ONE}
    got = wh.contract_clv(histories, fits, 0.10, 24, {"software": 0.7}).iloc[0]
    revenue = 1000 * (2 / 3 + 0.5 / 1.1)
    assert got["contract_clv_cny"] == pytest.approx(revenue)
    assert got["contract_clv_margin_cny"] == pytest.approx(0.7 * revenue)
    unbounded = wh.contract_clv(histories, fits, 0.10, None).iloc[0]["contract_clv_cny"]
    assert unbounded > revenue
    # the cash flows behind the grid give the same figure
    flows = wh.contract_cash_flows(histories, fits, 10, {"software": 0.7}, 1.0)
    assert flows["revenue_cny"].iloc[:2].tolist() == pytest.approx([2000 / 3, 500])
    parts = val.equity_by_part(flows, 24, 0.10)
    assert parts["contract"] == pytest.approx(0.7 * revenue)
    # a line the seed does not list is valued at the default margin
    assert wh.contract_clv(histories, fits, 0.10, 24, {}, 0.4).iloc[0][
        "contract_clv_margin_cny"
    ] == pytest.approx(0.4 * revenue)


def hand_flows() -> pd.DataFrame:
    """24 months of transactional revenue 100 (margin 40); contract years 0 and 1 worth 1,000
    and 800 (margin 500 and 400)."""
    k = np.arange(1, 25)
    transactional = pd.DataFrame(
        {
            "part": "transactional",
            "period_index": k,
            "year_index": (k - 1) // 12,
            "period_from_years": (k - 1) / 12,
            "period_to_years": k / 12,
            "discounted_at_years": k / 12,
            "revenue_cny": 100.0,
            "margin_cny": 40.0,
        }
    )
    contract = pd.DataFrame(
        {
            "part": "contract",
            "period_index": [0, 1],
            "year_index": [0, 1],
            "period_from_years": [0.0, 1.0],
            "period_to_years": [1.0, 2.0],
            "discounted_at_years": [0.0, 1.0],
            "revenue_cny": [1000.0, 800.0],
            "margin_cny": [500.0, 400.0],
        }
    )
    return pd.concat([transactional, contract], ignore_index=True)


def test_equity_horizon_margin_and_retention_by_hand():
    flows = hand_flows()
    months = np.arange(1, 13)
    year_one = float(np.sum(1.1 ** (-months / 12)))
    year_two = float(np.sum(1.1 ** (-(months + 12) / 12)))
    # 12 months: twelve months of margin 40; contract year 0 only
    parts = val.equity_by_part(flows, 12, 0.10)
    assert parts["transactional"] == pytest.approx(40 * year_one)
    assert parts["contract"] == pytest.approx(500)
    # 18 months: half of contract year 1
    assert val.equity_by_part(flows, 18, 0.10)["contract"] == pytest.approx(500 + 0.5 * 400 / 1.1)
    # on revenue
    assert val.equity_by_part(flows, 12, 0.10, basis="revenue")["transactional"] == pytest.approx(
        100 * year_one
    )
    # margin + 5 points: 45 a month, 550 and 440 a year
    shifted = val.equity_by_part(flows, 24, 0.10, margin_shift=0.05)
    assert shifted["transactional"] == pytest.approx(45 * (year_one + year_two))
    assert shifted["contract"] == pytest.approx(550 + 440 / 1.1)
    # model-implied retention: 1,200 / 1,200 and 800 / 1,000
    assert val.implied_retention(flows) == pytest.approx({"transactional": 1.0, "contract": 0.8})
    # retention - 5 points: year 1 scaled by 0.95 / 1 and 0.75 / 0.8
    lower = val.equity_by_part(flows, 24, 0.10, retention_shift=-0.05)
    assert lower["transactional"] == pytest.approx(40 * (year_one + 0.95 * year_two))
    assert lower["contract"] == pytest.approx(500 + 400 * (0.75 / 0.8) / 1.1)
    # retention + 5 points caps the transactional part's 1.0 at 1
    assert val.equity_by_part(flows, 24, 0.10, retention_shift=0.05)[
        "transactional"
    ] == pytest.approx(40 * (year_one + year_two))


def test_sensitivity_grid_moves_one_assumption_at_a_time_from_the_base():
    flows = hand_flows()
    grid = val.sensitivity_grid(flows, 24, 0.10, t12m_margin_cny=1000.0)
    assert len(grid) == 3 * 3 * 3 * 3  # rates, horizons 24 / 36 / 120, margins, retentions
    base = grid[grid["is_base"]]
    assert len(base) == 1
    expected = sum(val.equity_by_part(flows, 24, 0.10).values())
    assert base["equity_margin_cny"].iloc[0] == pytest.approx(expected)
    assert base["equity_to_t12m_margin"].iloc[0] == pytest.approx(expected / 1000)
    higher_rate = grid[
        (grid["annual_discount_rate"] == 0.12)
        & (grid["horizon_months"] == 24)
        & (grid["margin_shift_rate"] == 0)
        & (grid["retention_shift_rate"] == 0)
    ]
    assert higher_rate["equity_margin_cny"].iloc[0] == pytest.approx(
        sum(val.equity_by_part(flows, 24, 0.12).values())
    )
    assert higher_rate["equity_margin_cny"].iloc[0] < expected


def test_bridge_ties_out_by_part_and_segment():
    values = pd.DataFrame(
        {
            "customer_id": ["A", "B", "C"],
            "clv_cny": [1000.0, 500.0, 0.0],
            "contract_clv_cny": [600.0, 0.0, 0.0],
            "transactional_clv_cny": [400.0, 500.0, 0.0],
            "clv_margin_cny": [400.0, 200.0, 0.0],
            "contract_clv_margin_cny": [240.0, 0.0, 0.0],
            "transactional_clv_margin_cny": [160.0, 200.0, 0.0],
            "clv_margin_lower_cny": [390.0, 180.0, 0.0],
            "clv_margin_upper_cny": [410.0, 220.0, 0.0],
        }
    )
    segments = pd.DataFrame({"customer_id": ["A", "B"], "rfm_segment": ["champions", "lost"]})
    trailing = {
        "t12m_contract_revenue_cny": 300.0,
        "t12m_contract_margin_cny": 120.0,
        "t12m_transactional_revenue_cny": 200.0,
        "t12m_transactional_margin_cny": 80.0,
        "t12m_invoiced_revenue_cny": 450.0,
        "observed_revenue_retention_rate": 0.9,
    }
    bridge = val.equity_bridge(values, segments, trailing, hand_flows(), 0.85, 0.9)
    line = bridge.set_index(["line", "part", "slice_value"])["value"]

    def get(name: str, part: str = "total", slice_value=None) -> float:
        return float(line.loc[(name, part, slice_value)])

    assert get("t12m_revenue_cny") == 500 and get("t12m_margin_cny") == 200
    assert get("customer_equity_margin_cny") == 600
    assert get("customer_equity_margin_cny", "contract") == 240
    assert get("customer_equity_margin_cny", "transactional") == 360
    assert get("customer_equity_revenue_cny") == 1500
    assert get("equity_to_t12m_margin") == pytest.approx(3.0)
    assert get("equity_to_t12m_revenue") == pytest.approx(1.2)
    assert get("equity_to_t12m_margin", "contract") == pytest.approx(2.0)
    assert get("customer_equity_margin_lower_cny") == 570
    assert get("model_retention_rate", "contract") == pytest.approx(0.8)
    assert get("observed_customer_retention_rate") == pytest.approx(0.85)
    assert get("customer_equity_margin_cny", "segment", "champions") == 400
    assert get("customer_equity_margin_cny", "segment", "lost") == 200
    assert get("customer_equity_margin_cny", "segment", "no_segment") == 0
    assert (
        "parameter uncertainty"
        in bridge.loc[bridge["line"] == "customer_equity_margin_lower_cny", "description"].iloc[0]
    )
