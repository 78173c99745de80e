"""BG/NBD: "counting your customers the easy way" (Fader, Hardie & Lee 2005, Marketing Science).

While alive a customer buys at rate lambda ~ Gamma(r, rate alpha); after each repeat purchase
she drops out with probability p ~ Beta(a, b). Data per customer: x repeat purchases, t_x the
time of the last one, T the time since the first purchase (all in one time unit).

Log-likelihood (FHL 2005, eq. 6, in logs):
    ln L = ln G(r+x) - ln G(r) + r ln alpha + ln B(a, b+x) - ln B(a, b)
           + ln[ (alpha+T)^-(r+x) + [x>0] a/(b+x-1) (alpha+t_x)^-(r+x) ]
The last term is evaluated with logaddexp, so large x never overflows.
"""

# T is the customer's age in the papers, in lifetimes and in the CDNOW file; keep the name.
# ruff: noqa: N803, N806

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1

from ._common import (
    FitResult,
    check_purchase_data,
    check_rfm,
    compress,
    dot,
    maximise,
    param_values,
    unique_inverse,
)

MODEL = "bgnbd"
PARAMS = ("r", "alpha", "a", "b")

Params = Mapping[str, float] | FitResult


def log_likelihood_terms(
    r: float, alpha: float, a: float, b: float, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """Per-row log-likelihood ln L(r, alpha, a, b | x, t_x, T)."""
    return _terms(np.log([r, alpha, a, b]), x, t_x, T)


def _terms(u: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Per-row log-likelihood at log-parameters u (the formula in the module docstring)."""
    r, alpha, a, b = np.exp(u)
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = betaln(a, b + x) - betaln(a, b)
    a3 = -(r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        a4 = np.where(x > 0, np.log(a) - np.log(b + x - 1) - (r + x) * np.log(alpha + t_x), -np.inf)
    return a1 + a2 + np.logaddexp(a3, a4)


def log_likelihood(params: Params, x: object, t_x: object, T: object) -> float:
    """Total log-likelihood of a customer base (x, t_x, T) under BG/NBD."""
    x, t_x, T, w = check_rfm(x, t_x, T)
    r, alpha, a, b = param_values(params, PARAMS)
    return float(np.sum(w * log_likelihood_terms(r, alpha, a, b, x, t_x, T)))


class _Likelihood:
    """Log-likelihood and its gradient over compressed rows, for the optimiser.

    Every function of x alone (gamma and beta functions, digammas) is evaluated once per
    distinct x and summed with the customer counts. Customers without a repeat purchase
    contribute -r ln(alpha+T) only, so they are summed per distinct T. For repeat buyers
    ln(alpha+T) and ln(alpha+t_x) are evaluated per distinct value, and per row there are
    only a few multiplications and one exponential, which keeps a million-customer fit to
    seconds.
    """

    def __init__(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, w: np.ndarray):
        self.n = w.sum()
        (self.x_u,), x_i = unique_inverse(x)
        self.count_x = np.bincount(x_i, weights=w, minlength=self.x_u.size)
        self.repeat_u = self.x_u > 0
        zero = x == 0
        (self.t0_u,), t0_i = unique_inverse(T[zero])
        self.count_t0 = np.bincount(t0_i, weights=w[zero], minlength=self.t0_u.size)
        rep = ~zero
        self.x, self.w, self.x_i = x[rep], w[rep], x_i[rep]
        (self.t_u,), self.t_i = unique_inverse(T[rep])
        (self.tx_u,), self.tx_i = unique_inverse(t_x[rep])

    def __call__(self, u: np.ndarray, gradient: bool = True) -> tuple[float, np.ndarray | None]:
        r, alpha, a, b = np.exp(u)
        x_u, w = self.x_u, self.w
        # customers with x = 0
        log_alpha_t0 = np.log(alpha + self.t0_u)
        zero_sum = self.count_t0 @ log_alpha_t0
        # repeat buyers: ln L = ... + logaddexp(a3, a4)
        log_alpha_t = np.log(alpha + self.t_u)[self.t_i]
        log_alpha_tx = np.log(alpha + self.tx_u)[self.tx_i]
        with np.errstate(divide="ignore", invalid="ignore"):
            log_drop_u = np.where(self.repeat_u, np.log(a) - np.log(b + x_u - 1), 0.0)
        rx = r + self.x
        a3 = -rx * log_alpha_t
        a4 = log_drop_u[self.x_i] - rx * log_alpha_tx
        gap = a4 - a3
        e = np.exp(-np.abs(gap))
        log_sum = np.maximum(a3, a4) + np.log1p(e)
        base_u = gammaln(r + x_u) - gammaln(r) + r * np.log(alpha) + betaln(a, b + x_u)
        value = self.count_x @ base_u - self.n * betaln(a, b) - r * zero_sum + dot(w, log_sum)
        if not gradient:
            return float(value), None
        share = w * np.where(gap >= 0, 1.0, e) / (1 + e)  # weight of the "dropped" term
        rest = w - share
        inv_t = (1 / (alpha + self.t_u))[self.t_i]
        inv_tx = (1 / (alpha + self.tx_u))[self.tx_i]
        d_r = (
            self.count_x @ (digamma(r + x_u) - digamma(r) + np.log(alpha))
            - zero_sum
            - dot(rest, log_alpha_t)
            - dot(share, log_alpha_tx)
        )
        d_alpha = (
            self.n * r / alpha
            - r * (self.count_t0 @ (1 / (alpha + self.t0_u)))
            - dot(rest * rx, inv_t)
            - dot(share * rx, inv_tx)
        )
        d_ab = digamma(a + b) - digamma(a + b + x_u)
        d_a = self.count_x @ d_ab + share.sum() / a
        share_by_x = np.bincount(self.x_i, weights=share, minlength=x_u.size)
        with np.errstate(divide="ignore"):
            inv_b = np.where(self.repeat_u, 1 / (b + x_u - 1), 0.0)
        d_b = self.count_x @ (d_ab + digamma(b + x_u) - digamma(b)) - share_by_x @ inv_b
        return float(value), np.array([d_r * r, d_alpha * alpha, d_a * a, d_b * b])


def fit(
    x: object,
    t_x: object,
    T: object,
    weights: object = None,
    time_unit: str | None = "weeks",
) -> FitResult:
    """Maximum-likelihood BG/NBD on (x, t_x, T), optionally with counts per row.

    Identical rows are compressed to one with a weight first; the gradient is analytic.
    Start: r = 1, alpha = total T / total x (the mean purchase rate), a = 1, b = 3.
    `time_unit` is only recorded, for the CLV functions to convert horizons.
    """
    x, t_x, T, w = check_rfm(x, t_x, T, weights)
    check_purchase_data(x, T, w, "BG/NBD")
    (x, t_x, T), w = compress(x, t_x, T, weights=w)
    likelihood = _Likelihood(x, t_x, T, w)
    n = w.sum()
    start = np.log([1.0, (w @ T) / (w @ x), 1.0, 3.0])
    return maximise(MODEL, PARAMS, likelihood, True, start, n, x.size, time_unit)


def _hyp_tail(r: float, alpha: float, a: float, b: float, x, T, t) -> np.ndarray:
    """(a+b+x-1)/(a-1) [1 - ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; z)].

    With Euler's transformation 2F1(A, B; C; z) = (1-z)^(C-A-B) 2F1(C-A, C-B; C; z) the
    bracket becomes 1 - (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z), whose parameters do not
    grow with x, so heavy buyers and long horizons neither overflow nor lose precision.
    At a = 1 the expression is 0/0 with a smooth limit; it is evaluated on both sides.
    """
    if abs(a - 1) < 1e-6:
        return 0.5 * (
            _hyp_tail(r, alpha, 1 - 1e-5, b, x, T, t) + _hyp_tail(r, alpha, 1 + 1e-5, b, x, T, t)
        )
    z = t / (alpha + T + t)
    bracket = 1 - (1 - z) ** (a - 1) * hyp2f1(a + b - 1 - r, a - 1, a + b + x - 1, z)
    return (a + b + x - 1) / (a - 1) * bracket


def _alive(values: list[float], x, t_x, T) -> np.ndarray:
    r, alpha, a, b = values
    with np.errstate(divide="ignore", invalid="ignore"):
        log_odds = (
            np.log(a) - np.log(b + x - 1) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
        )
    return np.where(x > 0, expit(-log_odds), 1.0)


def _expected(values: list[float], t, x, t_x, T) -> np.ndarray:
    """E[Y(t) | x, t_x, T] without input checks; the arguments broadcast against each other."""
    return _hyp_tail(*values, x, T, t) * _alive(values, x, t_x, T)


def probability_alive(params: Params, x: object, t_x: object, T: object) -> np.ndarray:
    """P(alive | x, t_x, T) = 1 / (1 + [x>0] a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x)) (eq. 12).

    A customer without a repeat purchase is alive with probability 1: BG/NBD lets customers
    drop out only right after a purchase, which makes P(alive) a poor churn score for them.
    """
    x, t_x, T, _ = check_rfm(x, t_x, T)
    return _alive(param_values(params, PARAMS), x, t_x, T)


def conditional_expected_purchases(
    params: Params, t: float | np.ndarray, x: object, t_x: object, T: object
) -> np.ndarray:
    """E[Y(t) | x, t_x, T]: expected purchases in (T, T+t] for each customer (eq. 10).

    `t` is one horizon for everybody or one per customer.
    """
    x, t_x, T, _ = check_rfm(x, t_x, T)
    return _expected(param_values(params, PARAMS), np.asarray(t, dtype=float), x, t_x, T)


def expected_purchases_new(params: Params, t: float | np.ndarray) -> np.ndarray:
    """E[X(t)] for a new customer over (0, t] (eq. 9): the x = 0, T = 0 case of eq. 10."""
    r, alpha, a, b = param_values(params, PARAMS)
    t = np.asarray(t, dtype=float)
    return _hyp_tail(r, alpha, a, b, np.zeros_like(t), np.zeros_like(t), t)


def probability_of_purchases_new(params: Params, t: float, n: int | np.ndarray) -> np.ndarray:
    """P(X(t) = n) for a new customer (eq. 8)."""
    r, alpha, a, b = param_values(params, PARAMS)
    n = np.asarray(n, dtype=float)
    if np.any(n < 0) or np.any(n != np.round(n)):
        raise ValueError("n must be non-negative whole numbers")
    log_ratio = np.log(alpha / (alpha + t))
    log_z = np.log(t / (alpha + t)) if t > 0 else -np.inf
    first = np.exp(
        betaln(a, b + n)
        - betaln(a, b)
        + gammaln(r + n)
        - gammaln(r)
        - gammaln(n + 1)
        + r * log_ratio
        + np.where(n > 0, n * log_z, 0.0)
    )
    # 1 - (alpha/(alpha+t))^r sum_{j<n} G(r+j)/(G(r) j!) (t/(alpha+t))^j
    top = int(n.max()) if n.size else 0
    j = np.arange(top)
    terms = np.exp(gammaln(r + j) - gammaln(r) - gammaln(j + 1) + j * log_z + r * log_ratio)
    partial = np.concatenate([[0.0], np.cumsum(terms)])[n.astype(int)]
    with np.errstate(invalid="ignore"):
        second = np.exp(betaln(a + 1, b + n - 1) - betaln(a, b)) * (1 - partial)
    return first + np.where(n > 0, second, 0.0)
