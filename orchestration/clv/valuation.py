"""The valuation reconciled: customer equity from expected cash flows, its tie-out to trailing
revenue and margin, and its sensitivity to the valuation's assumptions.

`warehouse.compute` returns the expected revenue and gross margin of today's customers in each
future period, summed over customers, for both parts (`cash_flows`, columns in
`warehouse.CASH_FLOW_COLUMNS`):
- transactional: month k = 1, 2, ... (the purchase model x the spend model), discounted at the
  month's end, (1 + d)^(-k/12), as in the per-customer CLV;
- contract: contract year j = 0, 1, ... (the open contracts' annual value x the sBG
  probability of still paying), paid at the year's start, (1 + d)^(-j), as in DERL.

Customer equity over a horizon of H months at rate d is the sum of the cash flows whose period
lies inside H (a period cut by H counts in proportion: the sBG convention), discounted. At the
settings the CLV assets use it equals the sum of the customers' CLVs (tested), so the grid
below moves the published figure and nothing else.

Sensitivity (`sensitivity_grid`), around the settings:
- discount rate: +/- 2 points; horizon: 36, the setting, 120 months;
- margin +/- 5 points: every period's margin + 0.05 x its revenue;
- retention +/- 5 points: each part's model-implied annual retention rho (below) read as
  rho +/- 0.05: the cash flow of horizon year y (0 for the first 12 months) is multiplied by
  ((rho + delta) / rho)^y, rho + delta kept within [0, 1].

Model-implied retention of a part: expected revenue of today's customers in horizon year 2
over year 1 (the share of a year's revenue the models expect again the next year; for
contracts the value-weighted renewal probability). The interval of the equity covers the
uncertainty of the estimated parameters only (the parametric bootstrap), not the randomness
of the customers' own behaviour nor the choice of model, margin, rate or horizon, which the
grid shows instead.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

PARTS = ("contract", "transactional")
DISCOUNT_STEPS = (-0.02, 0.0, 0.02)
MARGIN_SHIFTS = (-0.05, 0.0, 0.05)
RETENTION_SHIFTS = (-0.05, 0.0, 0.05)
HORIZONS_MONTHS = (36, 120)  # with the setting's own horizon

GRID_COLUMNS = [
    "annual_discount_rate",
    "horizon_months",
    "margin_shift_rate",
    "retention_shift_rate",
    "is_base",
    "equity_margin_cny",
    "contract_margin_cny",
    "transactional_margin_cny",
    "equity_to_t12m_margin",
]


def implied_retention(cash_flows: pd.DataFrame) -> dict[str, float]:
    """Per part: expected revenue in horizon year 2 / year 1 (NaN without year-1 revenue)."""
    rates = {}
    for part in PARTS:
        flows = cash_flows[cash_flows["part"] == part]
        first = flows.loc[flows["year_index"] == 0, "revenue_cny"].sum()
        second = flows.loc[flows["year_index"] == 1, "revenue_cny"].sum()
        rates[part] = float(second / first) if first > 0 else float("nan")
    return rates


def equity_by_part(
    cash_flows: pd.DataFrame,
    horizon_months: float,
    annual_discount_rate: float,
    *,
    basis: str = "margin",
    margin_shift: float = 0.0,
    retention_shift: float = 0.0,
    retention: dict[str, float] | None = None,
) -> dict[str, float]:
    """Discounted equity of each part over `horizon_months` (see the module docstring);
    basis 'margin' (plus `margin_shift` x revenue) or 'revenue'."""
    if basis not in ("margin", "revenue"):
        raise ValueError(f"basis must be 'margin' or 'revenue', got {basis!r}")
    retention = implied_retention(cash_flows) if retention is None else retention
    years = float(horizon_months) / 12
    result = {}
    for part in PARTS:
        flows = cash_flows[cash_flows["part"] == part]
        if flows.empty:
            result[part] = 0.0
            continue
        start = flows["period_from_years"].to_numpy(float)
        length = flows["period_to_years"].to_numpy(float) - start
        inside = np.clip((years - start) / length, 0.0, 1.0)
        discount = (1 + annual_discount_rate) ** -flows["discounted_at_years"].to_numpy(float)
        revenue = flows["revenue_cny"].to_numpy(float)
        amount = revenue if basis == "revenue" else flows["margin_cny"].to_numpy(float)
        amount = amount + (margin_shift * revenue if basis == "margin" else 0.0)
        rho = retention.get(part, float("nan"))
        growth = 1.0
        if retention_shift and np.isfinite(rho) and rho > 0:
            growth = float(np.clip(rho + retention_shift, 0.0, 1.0)) / rho
        scale = growth ** flows["year_index"].to_numpy(float)
        result[part] = float(np.sum(amount * inside * discount * scale))
    return result


def sensitivity_grid(
    cash_flows: pd.DataFrame,
    horizon_months: int,
    annual_discount_rate: float,
    t12m_margin_cny: float,
) -> pd.DataFrame:
    """Customer equity on margin for every combination of discount rate, horizon, margin and
    retention shifts around the settings (`is_base` marks the settings themselves)."""
    retention = implied_retention(cash_flows)
    horizons = sorted({*HORIZONS_MONTHS, int(horizon_months)})
    rows = []
    for step, horizon, margin_shift, retention_shift in itertools.product(
        DISCOUNT_STEPS, horizons, MARGIN_SHIFTS, RETENTION_SHIFTS
    ):
        rate = annual_discount_rate + step
        parts = equity_by_part(
            cash_flows,
            horizon,
            rate,
            margin_shift=margin_shift,
            retention_shift=retention_shift,
            retention=retention,
        )
        equity = sum(parts.values())
        rows.append(
            {
                "annual_discount_rate": round(rate, 6),
                "horizon_months": horizon,
                "margin_shift_rate": margin_shift,
                "retention_shift_rate": retention_shift,
                "is_base": step == 0
                and horizon == horizon_months
                and margin_shift == 0
                and retention_shift == 0,
                "equity_margin_cny": equity,
                "contract_margin_cny": parts["contract"],
                "transactional_margin_cny": parts["transactional"],
                "equity_to_t12m_margin": equity / t12m_margin_cny
                if t12m_margin_cny > 0
                else np.nan,
            }
        )
    return pd.DataFrame(rows, columns=GRID_COLUMNS)


BRIDGE_COLUMNS = ["line_order", "line", "part", "slice_value", "value", "unit", "description"]


def equity_bridge(
    values: pd.DataFrame,
    segments: pd.DataFrame,
    trailing: dict[str, float],
    cash_flows: pd.DataFrame,
    observed_customer_retention_rate: float | None,
    interval_level: float,
) -> pd.DataFrame:
    """The valuation's tie-out, one line a row (see the module docstring and the README).

    values: customer_clv (clv_margin_cny and its parts, bounds, clv_cny and its parts);
    segments: customer_id, rfm_segment; trailing: t12m revenue and margin per part
    (`t12m_<part>_revenue_cny`, `t12m_<part>_margin_cny`) and `t12m_invoiced_revenue_cny`.
    """
    rows: list[tuple[str, str, str | None, float, str, str]] = []

    def add(line: str, part: str, value: float, unit: str, description: str, slice_value=None):
        rows.append((line, part, slice_value, float(value), unit, description))

    parts = {"contract": "contract", "transactional": "transactional"}
    revenue = {p: trailing.get(f"t12m_{p}_revenue_cny", 0.0) for p in parts}
    margin = {p: trailing.get(f"t12m_{p}_margin_cny", 0.0) for p in parts}
    revenue["total"], margin["total"] = sum(revenue.values()), sum(margin.values())
    equity = {p: values[f"{p}_clv_margin_cny"].sum() for p in parts}
    equity["total"] = values["clv_margin_cny"].sum()
    equity_revenue = {p: values[f"{p}_clv_cny"].sum() for p in parts}
    equity_revenue["total"] = values["clv_cny"].sum()
    for part in ("total", *parts):
        add(
            "t12m_revenue_cny",
            part,
            revenue[part],
            "CNY",
            "Revenue of the 365 days ending at as_of: contract values earned in the window "
            "(pro rata of their terms) and the orders that bill no contract, credit notes "
            "netted.",
        )
    add(
        "t12m_invoiced_revenue_cny",
        "total",
        trailing.get("t12m_invoiced_revenue_cny", 0.0),
        "CNY",
        "Every invoice of the 365 days ending at as_of, credit notes netted (the revenue "
        "customer_facts and concentration use); differs from t12m_revenue_cny by contract "
        "values not invoiced as orders and contract invoices not yet earned.",
    )
    for part in ("total", *parts):
        add(
            "t12m_margin_cny",
            part,
            margin[part],
            "CNY",
            "Gross margin of t12m_revenue_cny (seed product_line_margins).",
        )
    for part in ("total", *parts):
        add(
            "customer_equity_margin_cny",
            part,
            equity[part],
            "CNY",
            "Customer equity on gross margin: the discounted expected margin of today's "
            "customers over the CLV horizon (no new customers). The headline valuation.",
        )
    add(
        "customer_equity_margin_lower_cny",
        "total",
        values["clv_margin_lower_cny"].sum(),
        "CNY",
        f"Lower end of the {interval_level:.0%} interval: parameter uncertainty of the purchase "
        "and spend models only (bootstrap); the contract part is a point estimate.",
    )
    add(
        "customer_equity_margin_upper_cny",
        "total",
        values["clv_margin_upper_cny"].sum(),
        "CNY",
        f"Upper end of the {interval_level:.0%} interval: parameter uncertainty only.",
    )
    for part in ("total", *parts):
        add(
            "customer_equity_revenue_cny",
            part,
            equity_revenue[part],
            "CNY",
            "The same on revenue, before the cost of delivering it (not a value).",
        )
    for part in ("total", *parts):
        add(
            "equity_to_t12m_margin",
            part,
            equity[part] / margin[part] if margin[part] > 0 else np.nan,
            "x",
            "Implied multiple: customer equity on margin / trailing-12-month margin.",
        )
        add(
            "equity_to_t12m_revenue",
            part,
            equity[part] / revenue[part] if revenue[part] > 0 else np.nan,
            "x",
            "Implied multiple: customer equity on margin / trailing-12-month revenue.",
        )
    for part, rate in implied_retention(cash_flows).items():
        add(
            "model_retention_rate",
            part,
            rate,
            "rate",
            "Retention implied by the models: expected revenue of today's customers in the "
            "second year / the first.",
        )
    add(
        "observed_revenue_retention_rate",
        "total",
        trailing.get("observed_revenue_retention_rate", np.nan),
        "rate",
        "Observed: invoiced revenue of the last 365 days from customers who bought in the 365 "
        "days before / their revenue then.",
    )
    add(
        "observed_customer_retention_rate",
        "total",
        np.nan if observed_customer_retention_rate is None else observed_customer_retention_rate,
        "rate",
        "Observed: 1 - the trailing annual churn rate (int_customer_months activity rule).",
    )
    by_segment = (
        segments[["customer_id", "rfm_segment"]]
        .merge(values[["customer_id", "clv_margin_cny"]], on="customer_id", how="right")
        .fillna({"rfm_segment": "no_segment"})
        .groupby("rfm_segment")["clv_margin_cny"]
        .sum()
        .sort_values(ascending=False)
    )
    for segment, amount in by_segment.items():
        add(
            "customer_equity_margin_cny",
            "segment",
            amount,
            "CNY",
            "Customer equity on margin of the RFM segment; the segments add up to the total.",
            slice_value=str(segment),
        )
    frame = pd.DataFrame(
        rows, columns=["line", "part", "slice_value", "value", "unit", "description"]
    )
    frame.insert(0, "line_order", np.arange(1, len(frame) + 1))
    return frame[BRIDGE_COLUMNS]
