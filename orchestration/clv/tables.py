"""The CLV assets' tables from the marts' rows (`compute_tables`: the fits, the per-customer
CLV, customer equity by slice, the holdout validation, the equity bridge and its sensitivity
grid) and the tests of their sanity (`clv_sanity`, `equity_multiple_reason`). Pure pandas,
no Dagster, no database: `orchestration.assets.clv` reads the inputs, calls these and
writes the tables."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from .valuation import equity_bridge, sensitivity_grid
from .warehouse import ClvFits, ClvResult, ClvSettings, compute, customer_equity


def compute_tables(
    summary: pd.DataFrame,
    transactions: pd.DataFrame,
    contracts: pd.DataFrame,
    customers: pd.DataFrame,
    slices: pd.DataFrame,
    as_of_date: str,
    churn_rate: float | None,
    settings: ClvSettings,
    margins: dict,
    trailing: dict,
    validation: pd.DataFrame | None = None,
    fitted: ClvFits | None = None,
) -> tuple[ClvResult, dict[str, pd.DataFrame]]:
    """`warehouse.compute`'s result and the six tables by name, as of `as_of_date`.

    summary: the rows of customer_clv_inputs; transactions: the invoices that bill no
    contract (customer_id, ordered_on, amount); contracts: fct_contracts; customers:
    customer_id, acquisition_cost_cny, revenue_12m_cny, rfm_segment, is_live; slices: the
    rows of features_customer_slices (the RFM segments are added as a slice); churn_rate: the
    observed annual churn rate; margins: product line -> gross margin rate; trailing: the
    trailing-12-month revenue and margin by part and the observed revenue retention;
    validation: the internal split's summary computed in the warehouse, in place of
    `transactions` (see `warehouse.choose_purchase_model`).
    fitted: the parameters of an earlier run (`ClvResult.model_fits`) to value with instead
    of fitting.
    """
    slices = slices.sort_values(
        ["slice_type", "slice_value", "customer_id"], kind="stable", ignore_index=True
    )
    result = compute(
        summary,
        transactions,
        contracts,
        customers,
        as_of_date,
        churn_rate,
        settings,
        margins,
        validation,
        fitted,
    )
    values = result.customers.assign(as_of=dt.date.fromisoformat(as_of_date))
    segments = customers[["customer_id", "rfm_segment"]].dropna()
    segments = segments.sort_values("customer_id", kind="stable", ignore_index=True)
    slices = pd.concat(
        [
            slices,
            segments.assign(slice_type="rfm_segment").rename(
                columns={"rfm_segment": "slice_value"}
            ),
        ]
    )
    equity = customer_equity(values, slices).assign(as_of=dt.date.fromisoformat(as_of_date))
    observed_retention = None if churn_rate is None else 1.0 - float(churn_rate)
    bridge = equity_bridge(
        values, segments, trailing, result.cash_flows, observed_retention, settings.interval_level
    )
    t12m_margin = float(
        bridge.loc[
            (bridge["line"] == "t12m_margin_cny") & (bridge["part"] == "total"), "value"
        ].iloc[0]
    )
    grid = sensitivity_grid(
        result.cash_flows, settings.horizon_months, settings.annual_discount_rate, t12m_margin
    )
    settings_used = {
        "horizon_months": settings.horizon_months,
        "annual_discount_rate": settings.annual_discount_rate,
    }
    frames = {
        "clv_model_fits": result.fits,
        "customer_clv": values,
        "customer_equity": equity,
        "clv_holdout_validation": result.validation,
        "customer_equity_bridge": bridge.assign(
            as_of=dt.date.fromisoformat(as_of_date), **settings_used
        ),
        "customer_equity_sensitivity": grid.assign(as_of=dt.date.fromisoformat(as_of_date)),
    }
    return result, frames


def clv_sanity(counts: dict[str, float], max_zero_clv_rate: float) -> list[str]:
    """The reasons a published CLV would not be a value (empty: it is one).

    counts: customers, live (active on as_of and with something a model values: purchases
    outside contracts or an open contract; a lapsed contract customer is worth 0), not_finite,
    p_alive_outside_0_1, negative_clv, clv_outside_its_interval, live_zero_clv (live
    customers whose margin CLV is 0 or not finite), p_alive_values (customers with a
    P(alive)), p_alive_spread (max - min).
    """
    reasons = []
    for key, what in (
        ("not_finite", "CLV values that are NaN or infinite"),
        ("p_alive_outside_0_1", "P(alive) outside [0, 1]"),
        ("negative_clv", "negative CLVs"),
        ("clv_outside_its_interval", "CLVs outside their own interval"),
    ):
        if counts[key]:
            reasons.append(f"{counts[key]:.0f} {what}")
    if counts["live"] and counts["live_zero_clv"] / counts["live"] > max_zero_clv_rate:
        reasons.append(
            f"{counts['live_zero_clv']:.0f} of {counts['live']:.0f} live customers have a CLV of "
            f"0 (more than {max_zero_clv_rate:.0%}, WH_CLV_MAX_ZERO_RATE): a model did not "
            "value them; see clv_model_fits.reason"
        )
    if counts["p_alive_values"] >= 10 and counts["p_alive_spread"] < 1e-9:
        reasons.append(
            f"P(alive) is the same for all {counts['p_alive_values']:.0f} customers: the purchase "
            "model does not separate them"
        )
    return reasons


def equity_multiple_reason(
    equity_margin_cny: float, t12m_revenue_cny: float, low: float, high: float
) -> str | None:
    """Why customer equity on margin against trailing-12-month revenue is not plausible
    (None: it is, or there is no trailing revenue to judge it by)."""
    if not np.isfinite(equity_margin_cny):
        return "customer equity is not finite"
    if t12m_revenue_cny <= 0:
        return None
    multiple = equity_margin_cny / t12m_revenue_cny
    if low <= multiple <= high:
        return None
    return (
        f"customer equity on margin is {multiple:.2f} x trailing-12-month revenue, outside "
        f"[{low:g}, {high:g}] (WH_CLV_EQUITY_MULTIPLE_MIN / _MAX): check the margins, the "
        "horizon and clv_model_fits.reason"
    )
