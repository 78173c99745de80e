"""Shifted-beta-geometric retention for contracts (Fader & Hardie 2007, "How to project
customer retention", J. Interactive Marketing 21(1); DEL and DERL from Fader & Hardie 2010,
"Customer-base valuation in a contractual setting", Marketing Science 29(1)).

Each customer renews at the end of every period with her own probability 1 - theta, where
theta ~ Beta(alpha, beta) across the cohort. Periods are counted from the start of the
contract: period 0 is the first (paid) period, S(0) = 1.

    P(T = t)  = B(alpha+1, beta+t-1) / B(alpha, beta)          churn at the t-th renewal, t >= 1
    S(t)      = B(alpha, beta+t) / B(alpha, beta)               still a customer after t renewals
    r_t       = S(t) / S(t-1) = (beta+t-1) / (alpha+beta+t-1)   retention rate, rising with t
    DEL(d)    = sum_{t>=0} S(t) / (1+d)^t = 2F1(1, beta; alpha+beta; 1/(1+d))
    DERL(d|n) = sum_{t>=n} S(t)/S(n-1) / (1+d)^(t-n)
              = (beta+n-1)/(alpha+beta+n-1) 2F1(1, beta+n; alpha+beta+n; 1/(1+d))
DEL counts the first period's payment undiscounted. DERL is for a customer who has made
n-1 renewals and is about to decide on the n-th: the next payment is undiscounted. Both
need d > 0, because with alpha <= 1 the undiscounted expected lifetime is infinite.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy.special import betaln, digamma, gammaln, hyp2f1

from ._common import FitResult, as_float_array, maximise, param_values, trigamma

MODEL = "sbg"
PARAMS = ("alpha", "beta")

Params = Mapping[str, float] | FitResult


def _check_survivors(survivors: object) -> np.ndarray:
    counts = as_float_array(survivors, "survivors")
    if counts.size < 2:
        raise ValueError("survivors needs the cohort size and at least one later count")
    if counts[0] <= 0:
        raise ValueError("the cohort size (survivors at period 0) must be positive")
    if np.any(np.diff(counts) > 0) or np.any(counts < 0):
        raise ValueError("survivor counts must be non-negative and never increase")
    if np.any(counts != np.round(counts)):
        raise ValueError("survivor counts must be whole numbers")
    if counts[-1] == counts[0]:
        raise ValueError("nobody churned: the sBG churn distribution cannot be estimated")
    return counts


def log_likelihood(params: Params, survivors: object) -> float:
    """ln L = sum_t lost_t ln P(T = t) + survivors_last ln S(last)."""
    counts = _check_survivors(survivors)
    alpha, beta = param_values(params, PARAMS)
    return _from_survivors(counts)(np.log([alpha, beta]), 0)[0]


class _Likelihood:
    """Log-likelihood, gradient and Hessian of contract histories, for Newton's method.

    A customer who made k renewals and then churned contributes ln P(T = k+1) =
    ln B(alpha+1, beta+k) - ln B(alpha, beta); one still under contract after k renewals
    ln S(k) = ln B(alpha, beta+k) - ln B(alpha, beta). With m = k + [churned] both are
        [churned] ln alpha + ln G(beta+k) - ln G(beta) - ln G(alpha+beta+m) + ln G(alpha+beta),
    whose derivatives are digammas and trigammas.
    """

    def __init__(self, renewals: np.ndarray, churned: np.ndarray, counts: np.ndarray):
        self.k, self.counts = renewals, counts
        self.m = renewals + churned
        self.n_churned = float(counts @ churned)
        self.n = counts.sum()

    def __call__(
        self, u: np.ndarray, order: int = 2
    ) -> tuple[float, np.ndarray | None, np.ndarray | None]:
        alpha, beta = theta = np.exp(u)
        k, m, counts, n = self.k, self.m, self.counts, self.n
        value = (
            self.n_churned * np.log(alpha)
            + counts @ (gammaln(beta + k) - gammaln(alpha + beta + m))
            + n * (gammaln(alpha + beta) - gammaln(beta))
        )
        if order == 0:
            return float(value), None, None
        total = counts @ digamma(alpha + beta + m) - n * digamma(alpha + beta)
        grad = np.array(
            [
                self.n_churned / alpha - total,
                counts @ digamma(beta + k) - n * digamma(beta) - total,
            ]
        )
        grad_u = grad * theta
        if order == 1:
            return float(value), grad_u, None
        total2 = counts @ trigamma(alpha + beta + m) - n * trigamma(alpha + beta)
        hess = np.array(
            [
                [-self.n_churned / alpha**2 - total2, -total2],
                [-total2, counts @ trigamma(beta + k) - n * trigamma(beta) - total2],
            ]
        )
        # chain rule to u = ln theta: H_u = diag(theta) H diag(theta) + diag(theta * grad)
        return float(value), grad_u, hess * np.outer(theta, theta) + np.diag(grad_u)


def _from_survivors(counts: np.ndarray) -> _Likelihood:
    """Lost at renewal t = 1..k (t-1 renewals made, churned) and the survivors of period k."""
    periods = counts.size - 1
    lost = counts[:-1] - counts[1:]
    renewals = np.append(np.arange(periods, dtype=float), periods)
    churned = np.append(np.ones(periods), 0.0)
    return _Likelihood(renewals, churned, np.append(lost, counts[-1]))


def fit(survivors: object) -> FitResult:
    """Maximum-likelihood sBG from the survivors at the start of periods 0, 1, ..., k.

    `survivors[0]` is the cohort size. Newton's method with the analytic gradient and
    Hessian. Start: alpha = beta = 1.
    """
    counts = _check_survivors(survivors)
    return maximise(
        MODEL,
        PARAMS,
        _from_survivors(counts),
        np.zeros(2),
        counts[0],
        counts.size - 1,
        time_unit=None,
        analytic_hessian=True,
    )


def fit_lifetimes(renewals: object, churned: object, weights: object = None) -> FitResult:
    """Maximum-likelihood sBG from individual contract histories with right censoring.

    For customers who started at different times (a warehouse, not a survey of one cohort):
    `renewals[i]` is the renewals customer i has made, `churned[i]` whether she then let the
    contract lapse (T = renewals + 1 observed) or is still under contract (censored: T >
    renewals). ln L = sum_churned ln P(T = n + 1) + sum_censored ln S(n). With every customer
    of a cohort observed for the same k periods it equals `fit(survivors)`.
    """
    n = as_float_array(renewals, "renewals")
    lost = np.asarray(churned, dtype=bool)
    w = np.ones_like(n) if weights is None else as_float_array(weights, "weights")
    if not (n.shape == lost.shape == w.shape) or n.size == 0:
        raise ValueError("renewals, churned and weights must be non-empty and of equal length")
    if np.any(n < 0) or np.any(n != np.round(n)):
        raise ValueError("renewals must be whole numbers >= 0")
    if not np.any(lost):
        raise ValueError("nobody churned: the sBG churn distribution cannot be estimated")
    if np.all(lost & (n == 0)):
        raise ValueError("nobody ever renewed: the sBG cannot separate alpha from beta")

    keys, inverse = np.unique(np.stack([n, lost.astype(float)]), axis=1, return_inverse=True)
    counts = np.bincount(inverse.ravel(), weights=w)
    likelihood = _Likelihood(keys[0], keys[1], counts)
    return maximise(
        MODEL,
        PARAMS,
        likelihood,
        np.zeros(2),
        counts.sum(),
        keys.shape[1],
        time_unit=None,
        analytic_hessian=True,
    )


def churn_probability(params: Params, t: object) -> np.ndarray:
    """P(T = t): the share of the cohort lost at renewal t (t = 1, 2, ...)."""
    alpha, beta = param_values(params, PARAMS)
    t = _periods(t, start=1)
    return np.exp(betaln(alpha + 1, beta + t - 1) - betaln(alpha, beta))


def survival(params: Params, t: object) -> np.ndarray:
    """S(t): the share of the cohort still a customer after t renewals (S(0) = 1)."""
    alpha, beta = param_values(params, PARAMS)
    t = _periods(t, start=0)
    return np.exp(betaln(alpha, beta + t) - betaln(alpha, beta))


def retention_rate(params: Params, t: object) -> np.ndarray:
    """r_t = (beta+t-1) / (alpha+beta+t-1): the renewal rate at renewal t among those left."""
    alpha, beta = param_values(params, PARAMS)
    t = _periods(t, start=1)
    return (beta + t - 1) / (alpha + beta + t - 1)


def discounted_expected_lifetime(params: Params, discount_rate: float) -> float:
    """DEL(d) in periods, the first period counted undiscounted: multiply by the per-period
    contract margin for the expected CLV of a new customer."""
    alpha, beta = param_values(params, PARAMS)
    return float(hyp2f1(1.0, beta, alpha + beta, _discount_factor(discount_rate)))


def discounted_expected_residual_lifetime(
    params: Params, discount_rate: float, renewals: object, horizon_periods: float | None = None
) -> np.ndarray:
    """DERL(d | n-1 = renewals made so far), in periods, the next period undiscounted.

    Without a horizon the closed form of Fader and Hardie (2010), summed to infinity. With
    `horizon_periods` = H the sum stops after H periods: sum over j = 0 .. ceil(H)-1 of
    S(n+j) / S(n-1) / (1+d)^j, the last term weighted by the fraction of its period inside H
    (S(t) / S(t-1) = (beta + t - 1) / (alpha + beta + t - 1)), so the contract part of a CLV
    can be valued over the same horizon as the purchase part.
    """
    alpha, beta = param_values(params, PARAMS)
    n = _periods(renewals, start=0) + 1
    factor = _discount_factor(discount_rate)
    if horizon_periods is None:
        return (
            (beta + n - 1)
            / (alpha + beta + n - 1)
            * hyp2f1(1.0, beta + n, alpha + beta + n, factor)
        )
    horizon = float(horizon_periods)
    if not (np.isfinite(horizon) and horizon >= 0):
        raise ValueError(f"horizon_periods must be finite and >= 0, got {horizon_periods!r}")
    total = np.zeros_like(n, dtype=float)
    survival = np.ones_like(n, dtype=float)
    for j in range(int(np.ceil(horizon))):
        t = n + j
        survival = survival * (beta + t - 1) / (alpha + beta + t - 1)
        total = total + min(1.0, horizon - j) * survival * factor**j
    return total


def _discount_factor(discount_rate: float) -> float:
    d = float(discount_rate)
    if not (np.isfinite(d) and d > 0):
        raise ValueError(
            f"discount rate must be positive, got {discount_rate!r}: with alpha <= 1 the "
            "undiscounted expected lifetime is infinite"
        )
    return 1.0 / (1.0 + d)


def _periods(t: object, start: int) -> np.ndarray:
    t = np.asarray(t, dtype=float)
    if np.any(t < start) or np.any(t != np.round(t)):
        raise ValueError(f"periods must be whole numbers >= {start}")
    return t
