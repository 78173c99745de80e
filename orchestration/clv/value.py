"""Customer lifetime value: the seed formula (METRICS F6) and the probabilistic one (F7).

Probabilistic CLV of customer i over a horizon of K periods of length tau (in the purchase
model's time unit), at annual discount rate d, margin m:

    CLV_i = m E[Z_i] sum_{k=1..K} (E[Y_i(k tau)] - E[Y_i((k-1) tau)]) / (1+d)^(k tau / year)

E[Y_i(t)] is the purchase model's (BG/NBD or Pareto/NBD) expected number of purchases in
(T_i, T_i + t] given the customer's history, E[Z_i] the Gamma-Gamma expected spend per
purchase given her history (the two are independent by assumption). Each period's
purchases are discounted at the end of the period, as in `lifetimes`. The result is in the
currency of the spend data, per customer, for the K periods after the calibration end.

Interval: a parametric bootstrap over the estimation uncertainty. Parameter vectors are drawn
from the normal approximation to the MLE on the log scale (mean: the log estimates,
covariance: the inverse Hessian of each fit; BG/NBD or Pareto/NBD and Gamma-Gamma drawn
independently), the CLV is recomputed for each draw, and the interval is the central
percentile range. It covers the uncertainty of the population parameters, not the
customer's own purchase randomness, which is far wider for any single customer. A draw far
out in the tails can leave the region where the model's special functions are finite (Pareto/NBD
with a large s and beta on customers observed for long, Gamma-Gamma with q <= 1 on few repeat
buyers): such draws are left out of that customer's percentiles; a customer with fewer than
MIN_FINITE_DRAWS_RATE of her draws finite gets no interval (lower = upper = the point estimate,
`has_interval` false).

`spend_frequency` (default: x) is the number of repeat purchases the spend model conditions
on: 0 for a customer whose mean repeat spend cannot enter the Gamma-Gamma model (zero or
negative), who then gets the model's population mean spend.
"""

# T is the customer's age in the papers, in lifetimes and in the CDNOW file; keep the name.
# ruff: noqa: N803, N806

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from . import bgnbd, gammagamma, paretonbd
from ._common import (
    DAYS_PER_YEAR,
    FitResult,
    as_float_array,
    check_rfm,
    param_values,
    time_unit_days,
)

PURCHASE_MODELS = {bgnbd.MODEL: bgnbd, paretonbd.MODEL: paretonbd}

DEFAULT_ANNUAL_DISCOUNT_RATE = 0.10
DEFAULT_HORIZON_PERIODS = 12
DEFAULT_PERIOD = "months"

# Customers per block in the bootstrap, so memory stays at draws x block floats.
BOOTSTRAP_BLOCK = 20_000

# A customer's interval needs at least this share of the bootstrap draws to be finite.
MIN_FINITE_DRAWS_RATE = 0.5

# Threads that evaluate the bootstrap's draws side by side: scipy's special functions release
# the GIL, and each draw is computed alone, so the numbers do not depend on the count.
BOOTSTRAP_THREADS = max(
    1,
    min(
        4,
        len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1,
    ),
)


def seed_clv(
    avg_spend_per_period: object, expected_lifetime_periods: object, acquisition_cost: object
) -> np.ndarray | float:
    """METRICS F6: average spend per period x expected lifetime in periods - acquisition cost.

    Element-wise with numpy broadcasting; a float for scalar input. Missing values are
    refused rather than passed on as NaN (fill a missing acquisition cost with 0 explicitly
    if that is what you mean).
    """
    spend = np.asarray(avg_spend_per_period, dtype=float)
    lifetime = np.asarray(expected_lifetime_periods, dtype=float)
    cost = np.asarray(acquisition_cost, dtype=float)
    for name, value in (
        ("avg_spend_per_period", spend),
        ("expected_lifetime_periods", lifetime),
        ("acquisition_cost", cost),
    ):
        bad = int(np.count_nonzero(~np.isfinite(value)))
        if bad:
            raise ValueError(f"{name} has {bad} missing or infinite values")
    if np.any(lifetime < 0):
        raise ValueError("expected_lifetime_periods must not be negative")
    value = spend * lifetime - cost
    return float(value) if value.ndim == 0 else value


def discount_factors(horizon_periods: int, period: str, annual_discount_rate: float) -> np.ndarray:
    """1 / (1+d)^(k * period / year) for k = 1..K: end-of-period discounting."""
    if int(horizon_periods) != horizon_periods or horizon_periods < 1:
        raise ValueError(f"horizon_periods must be a positive whole number, got {horizon_periods}")
    d = float(annual_discount_rate)
    if not (np.isfinite(d) and d > -1):
        raise ValueError(f"annual discount rate must be > -1, got {annual_discount_rate}")
    years = np.arange(1, int(horizon_periods) + 1) * time_unit_days(period) / DAYS_PER_YEAR
    return (1 + d) ** -years


def _purchase_module(purchases: FitResult):
    if not isinstance(purchases, FitResult) or purchases.model not in PURCHASE_MODELS:
        raise ValueError(
            f"purchases must be a FitResult of {sorted(PURCHASE_MODELS)}, got {purchases!r:.80}"
        )
    return PURCHASE_MODELS[purchases.model]


def _period_edges(
    purchases: FitResult, horizon_periods: int, period: str, time_unit: str | None
) -> np.ndarray:
    """The ends of the K periods in the purchase model's time unit (default: the fit's)."""
    unit = time_unit or purchases.time_unit
    if unit is None:
        raise ValueError("the purchase model's time unit is unknown: pass time_unit")
    step = time_unit_days(period) / time_unit_days(unit)
    return step * np.arange(1, int(horizon_periods) + 1)


def pair_tails(
    module, values: list[float], edges: np.ndarray, x: np.ndarray, T: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The purchase model's tail E[Y(t) | x, t_x, T] / P(alive), a function of (x, T, t)
    alone, at each of `edges` for each distinct (x, T) pair: (pairs, K), and each customer's
    row in it. x is a count and T an age in whole days, so there are far fewer pairs than
    customers (100,000 customers of the demo firm make about 43,000), and the special
    functions (BG/NBD's 2F1) are evaluated once per pair instead of once per customer; a
    customer's row holds the same numbers her own evaluation gives."""
    pairs, pair_of = np.unique(np.column_stack([x, T]), axis=0, return_inverse=True)
    tails = module._tail(values, edges[None, :], pairs[:, :1], pairs[:, 1:])
    return tails, pair_of.reshape(-1)


def expected_purchases_in_blocks(
    purchases: FitResult,
    x: object,
    t_x: object,
    T: object,
    horizon_periods: int = DEFAULT_HORIZON_PERIODS,
    period: str = DEFAULT_PERIOD,
    time_unit: str | None = None,
    params: Mapping[str, float] | None = None,
    block: int | None = None,
) -> Iterator[tuple[slice, np.ndarray]]:
    """`expected_purchases_by_period` for customers `block` at a time (None: all at once),
    as (their slice, their (customers, K) matrix): the tails are computed once per (x, T)
    pair (`pair_tails`) for all blocks, so memory stays at block x K per customer."""
    module = _purchase_module(purchases)
    x, t_x, T, _ = check_rfm(x, t_x, T)
    edges = _period_edges(purchases, horizon_periods, period, time_unit)
    values = param_values(purchases.params if params is None else params, module.PARAMS)
    tails, pair_of = pair_tails(module, values, edges, x, T)
    step = max(1, x.size if block is None else block)
    for start in range(0, x.size, step):
        part = slice(start, start + step)
        alive = module._alive(values, x[part], t_x[part], T[part])
        # E[Y(t)] = tail x P(alive), in the order `_expected` multiplies them
        cumulative = tails[pair_of[part]] * alive[:, None]
        yield part, np.diff(cumulative, axis=1, prepend=0.0)


def expected_purchases_by_period(
    purchases: FitResult,
    x: object,
    t_x: object,
    T: object,
    horizon_periods: int = DEFAULT_HORIZON_PERIODS,
    period: str = DEFAULT_PERIOD,
    time_unit: str | None = None,
    params: Mapping[str, float] | None = None,
) -> np.ndarray:
    """Expected purchases of each customer in each of the next K periods: (customers, K).

    `time_unit` is the unit of (t_x, T) and of the fit (default: the fit's `time_unit`);
    `params` overrides the fitted parameters (used by the bootstrap).
    """
    ((_, matrix),) = expected_purchases_in_blocks(
        purchases, x, t_x, T, horizon_periods, period, time_unit, params
    )
    return matrix


def customer_lifetime_value(
    purchases: FitResult,
    spend: FitResult | Mapping[str, float],
    x: object,
    t_x: object,
    T: object,
    mean_spend: object,
    *,
    horizon_periods: int = DEFAULT_HORIZON_PERIODS,
    period: str = DEFAULT_PERIOD,
    annual_discount_rate: float = DEFAULT_ANNUAL_DISCOUNT_RATE,
    margin_rate: object = 1.0,
    time_unit: str | None = None,
    spend_frequency: object = None,
) -> np.ndarray:
    """Discounted CLV per customer over `horizon_periods` periods (see the module docstring).
    `margin_rate` is one rate or one per customer."""
    return _clv(
        purchases,
        purchases.params,
        spend,
        x,
        t_x,
        T,
        mean_spend,
        horizon_periods,
        period,
        annual_discount_rate,
        margin_rate,
        time_unit,
        spend_frequency,
    )


def _clv(
    purchases: FitResult,
    purchase_params: Mapping[str, float],
    spend: FitResult | Mapping[str, float],
    x: object,
    t_x: object,
    T: object,
    mean_spend: object,
    horizon_periods: int,
    period: str,
    annual_discount_rate: float,
    margin_rate: object,
    time_unit: str | None,
    spend_frequency: object = None,
) -> np.ndarray:
    discount = discount_factors(horizon_periods, period, annual_discount_rate)
    per_period = expected_purchases_by_period(
        purchases, x, t_x, T, horizon_periods, period, time_unit, purchase_params
    )
    value = gammagamma.conditional_expected_spend(
        spend, x if spend_frequency is None else spend_frequency, mean_spend
    )
    clv = np.asarray(margin_rate, dtype=float) * value * (per_period @ discount)
    if not np.all(np.isfinite(clv)):
        raise ValueError(
            f"CLV is not finite for {int(np.count_nonzero(~np.isfinite(clv)))} customers; "
            "check the fitted parameters"
        )
    return clv


def _spend_or_nan(params: Mapping[str, float], x: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Gamma-Gamma expected spend at a bootstrap draw; NaN (a draw left out) where the draw
    has q <= 1, whose population mean spend is infinite."""
    try:
        return gammagamma.conditional_expected_spend(params, x, z)
    except ValueError:
        return np.full(x.shape, np.nan)


def nan_percentiles(values: np.ndarray, q: Sequence[float]) -> np.ndarray:
    """`np.nanpercentile(values, q, axis=0)`, the same numbers, at numpy's vectorised speed:
    along an axis nanpercentile calls itself once per column (a minute for 100,000
    customers), so the columns without NaN go to `np.percentile` together, which sorts the
    same values and interpolates them by the same rule, and only the others to
    nanpercentile."""
    values = np.asarray(values, dtype=float)
    result = np.empty((len(q), values.shape[1]))
    complete = ~np.isnan(values).any(axis=0)
    if complete.any():
        result[:, complete] = np.percentile(values[:, complete], q, axis=0)
    if not complete.all():
        result[:, ~complete] = np.nanpercentile(values[:, ~complete], q, axis=0)
    return result


@dataclass(frozen=True)
class ClvInterval:
    """Point CLV and a central interval per customer from the parametric bootstrap."""

    clv: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    level: float
    draws: int
    has_interval: np.ndarray | None = None


def clv_interval(
    purchases: FitResult,
    spend: FitResult,
    x: object,
    t_x: object,
    T: object,
    mean_spend: object,
    *,
    level: float = 0.90,
    draws: int = 200,
    seed: int = 0,
    horizon_periods: int = DEFAULT_HORIZON_PERIODS,
    period: str = DEFAULT_PERIOD,
    annual_discount_rate: float = DEFAULT_ANNUAL_DISCOUNT_RATE,
    margin_rate: object = 1.0,
    time_unit: str | None = None,
    spend_frequency: object = None,
) -> ClvInterval:
    """CLV with a `level` interval from `draws` parameter draws (see the module docstring).

    Cost: draws x horizon x distinct (x, T) pairs evaluations of the purchase model's
    expected purchases of a live customer, and draws x customers of P(alive); customers are
    processed in blocks so memory stays bounded.
    """
    if not 0 < level < 1:
        raise ValueError(f"level must lie strictly between 0 and 1, got {level}")
    for fit in (purchases, spend):
        if not isinstance(fit, FitResult):
            raise ValueError("clv_interval needs fitted models (FitResult) for the covariance")
        if fit.log_covariance is None or not np.all(np.isfinite(fit.log_covariance)):
            raise ValueError(f"{fit.model}: no finite parameter covariance; refit or check data")
    x, t_x, T, _ = check_rfm(x, t_x, T)
    z = as_float_array(mean_spend, "mean_spend")
    x_spend = x if spend_frequency is None else as_float_array(spend_frequency, "spend_frequency")
    margin = np.broadcast_to(np.asarray(margin_rate, dtype=float), x.shape)
    rng = np.random.default_rng(seed)

    def sample(fit: FitResult) -> list[dict[str, float]]:
        u = rng.multivariate_normal(np.log(fit.param_array), fit.log_covariance, size=draws)
        return [dict(zip(fit.param_names, np.exp(row), strict=True)) for row in u]

    purchase_draws, spend_draws = sample(purchases), sample(spend)
    args = (horizon_periods, period, annual_discount_rate, margin_rate, time_unit)
    point = _clv(purchases, purchases.params, spend, x, t_x, T, z, *args, x_spend)
    # E[Y_i(t)] = tail(x_i, T_i, t) x P_i(alive): the tail's discounted sum over the periods
    # is computed once per draw and distinct (x, T) pair (x is a count and T an age, so there
    # are far fewer pairs than customers), P(alive) once per draw and customer.
    module = _purchase_module(purchases)
    edges = _period_edges(purchases, horizon_periods, period, time_unit)
    discount = discount_factors(horizon_periods, period, annual_discount_rate)
    pairs, pair_of = np.unique(np.column_stack([x, T]), axis=0, return_inverse=True)
    pair_of = pair_of.reshape(-1)

    def discounted_tail(pp: dict[str, float]) -> np.ndarray:
        values = param_values(pp, module.PARAMS)
        tails = module._tail(values, edges[None, :], pairs[:, :1], pairs[:, 1:])
        return np.diff(tails, axis=1, prepend=0.0) @ discount

    with ThreadPoolExecutor(min(BOOTSTRAP_THREADS, len(purchase_draws))) as threads:
        per_pair = np.stack(list(threads.map(discounted_tail, purchase_draws)))
    tail = (1 - level) / 2 * 100
    lower, upper = np.empty_like(point), np.empty_like(point)
    has_interval = np.ones(point.shape, dtype=bool)
    for start in range(0, x.size, BOOTSTRAP_BLOCK):
        block = slice(start, start + BOOTSTRAP_BLOCK)
        values = np.stack(
            [
                margin[block]
                * _spend_or_nan(sp, x_spend[block], z[block])
                * per_pair[draw, pair_of[block]]
                * module._alive(param_values(pp, module.PARAMS), x[block], t_x[block], T[block])
                for draw, (pp, sp) in enumerate(zip(purchase_draws, spend_draws, strict=True))
            ]
        )
        finite = np.isfinite(values)
        enough = finite.mean(axis=0) >= MIN_FINITE_DRAWS_RATE
        values = np.where(finite, values, np.nan)
        bounds = np.full((2, values.shape[1]), np.nan)
        if enough.any():
            bounds[:, enough] = nan_percentiles(values[:, enough], [tail, 100 - tail])
        lower[block] = np.where(enough, bounds[0], point[block])
        upper[block] = np.where(enough, bounds[1], point[block])
        has_interval[block] = enough
    return ClvInterval(
        clv=point, lower=lower, upper=upper, level=level, draws=draws, has_interval=has_interval
    )
