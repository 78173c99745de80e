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
    pilot_start,
    small_integer_codes,
    trigamma,
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
    """Log-likelihood, gradient and Hessian over compressed rows, for Newton's method.

    Every function of x alone (gamma and beta functions and their derivatives) is evaluated
    once per distinct x and summed with the customer counts. Customers without a repeat
    purchase contribute r ln alpha - r ln(alpha+T) only. For a repeat buyer, with
    q = r+x, c = b+x-1, d = ln(alpha+t_x) - ln(alpha+T) and the log-odds of having dropped
    out gap = ln a - ln c - q d, the row's log-likelihood is
        r ln alpha - q ln(alpha+T) + softplus(gap) + (functions of x),
    so its derivatives are those of the first terms plus pi * d gap and, for the Hessian,
    pi (1 - pi) (d gap)(d gap)' + pi d^2 gap, where pi = sigmoid(gap) is the probability
    of having dropped out. Per row and evaluation: two logarithms, two reciprocals, one
    exponential and a handful of products.
    """

    def __init__(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, w: np.ndarray):
        self.n = w.sum()
        self.x_u, x_i = small_integer_codes(x)
        self.count_x = np.bincount(x_i, weights=w, minlength=self.x_u.size)
        zero = x == 0
        self.T0, self.w0 = T[zero], w[zero]
        rep = ~zero
        self.x, self.t_x, self.T, self.w = x[rep], t_x[rep], T[rep], w[rep]
        self.wx = self.w * self.x

    def __call__(
        self, u: np.ndarray, order: int = 2
    ) -> tuple[float, np.ndarray | None, np.ndarray | None]:
        r, alpha, a, b = theta = np.exp(u)
        x_u, count, n, w = self.x_u, self.count_x, self.n, self.w
        log_alpha = np.log(alpha)
        log_t0 = np.log(alpha + self.T0)
        log_t = np.log(alpha + self.T)
        d = np.log(alpha + self.t_x) - log_t
        q = r + self.x
        c = b + self.x - 1
        gap = np.log(a / c) - q * d
        e = np.exp(-np.abs(gap))
        softplus = np.maximum(gap, 0) + np.log1p(e)
        sum_log_t = dot(w, log_t)
        value = (
            count @ (gammaln(r + x_u) - gammaln(r) + betaln(a, b + x_u))
            - n * betaln(a, b)
            + n * r * log_alpha
            - r * dot(self.w0, log_t0)
            - r * sum_log_t
            - dot(self.wx, log_t)
            + dot(w, softplus)
        )
        if order == 0:
            return float(value), None, None
        pi = np.where(gap >= 0, 1.0, e) / (1 + e)  # P(dropped out | x, t_x, T)
        w_pi = w * pi
        inv_t0 = 1 / (alpha + self.T0)
        inv_t = 1 / (alpha + self.T)
        inv_tx = 1 / (alpha + self.t_x)
        eps = inv_tx - inv_t
        q_eps = q * eps
        inv_c = 1 / c
        psi_ab = digamma(a + b)
        psi_abx = digamma(a + b + x_u)
        grad = np.array(
            [
                count @ (digamma(r + x_u) - digamma(r))
                + n * log_alpha
                - dot(self.w0, log_t0)
                - sum_log_t
                - dot(w_pi, d),
                n * r / alpha - r * dot(self.w0, inv_t0) - dot(w * q, inv_t) - dot(w_pi, q_eps),
                count @ (psi_ab - psi_abx) + w_pi.sum() / a,
                count @ (digamma(b + x_u) - psi_abx - digamma(b) + psi_ab) - dot(w_pi, inv_c),
            ]
        )
        grad_u = grad * theta
        if order == 1:
            return float(value), grad_u, None
        # pi (1 - pi) (d gap)(d gap)', with d gap = (-d, -q eps, 1/a, -1/c)
        kappa = w_pi * (1 - pi)
        rows = np.stack([d, q_eps, np.ones_like(d), inv_c])
        outer = np.einsum("in,jn->ij", rows * kappa, rows)
        signs = np.array([-1.0, -1.0, 1 / a, -1.0])
        hess = outer * np.outer(signs, signs)
        tri_ab, tri_abx = trigamma(a + b), trigamma(a + b + x_u)
        hess[0, 0] += count @ (trigamma(r + x_u) - trigamma(r))
        cross = n / alpha - dot(self.w0, inv_t0) - dot(w, inv_t) - dot(w_pi, eps)
        hess[0, 1] += cross
        hess[1, 0] += cross
        hess[1, 1] += (
            -n * r / alpha**2
            + r * dot(self.w0, inv_t0 * inv_t0)
            + dot(w * q, inv_t * inv_t)
            + dot(w_pi * q, inv_tx * inv_tx - inv_t * inv_t)
        )
        beta_ab = count @ (tri_ab - tri_abx)
        hess[2, 2] += beta_ab - w_pi.sum() / a**2
        hess[2, 3] += beta_ab
        hess[3, 2] += beta_ab
        hess[3, 3] += count @ (trigamma(b + x_u) - tri_abx - trigamma(b) + tri_ab) + dot(
            w_pi, inv_c * inv_c
        )
        # chain rule to u = ln theta: H_u = diag(theta) H diag(theta) + diag(theta * grad)
        return float(value), grad_u, hess * np.outer(theta, theta) + np.diag(grad_u)


def fit(
    x: object,
    t_x: object,
    T: object,
    weights: object = None,
    time_unit: str | None = "weeks",
) -> FitResult:
    """Maximum-likelihood BG/NBD on (x, t_x, T), optionally with counts per row.

    Identical rows are compressed to one with a weight first; gradient and Hessian are
    analytic, and Newton's method finds the optimum. Start: on many rows the estimate on a
    systematic sample of them (`pilot_start`), else r = 1, alpha = total T / total x (the
    mean purchase rate), a = 1, b = 3.
    `time_unit` is only recorded, for the CLV functions to convert horizons.
    """
    x, t_x, T, w = check_rfm(x, t_x, T, weights)
    check_purchase_data(x, T, w, "BG/NBD")
    (x, t_x, T), w = compress(x, t_x, T, weights=w)
    likelihood = _Likelihood(x, t_x, T, w)
    n = w.sum()
    start = pilot_start(
        lambda rows: _Likelihood(x[rows], t_x[rows], T[rows], w[rows]),
        w,
        np.log([1.0, (w @ T) / (w @ x), 1.0, 3.0]),
    )
    return maximise(MODEL, PARAMS, likelihood, start, n, x.size, time_unit, analytic_hessian=True)


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


def _tail(values: list[float], t, x, T) -> np.ndarray:
    """E[Y(t) | x, t_x, T] / P(alive): a function of (x, T, t) alone."""
    return _hyp_tail(*values, x, T, t)


def _expected(values: list[float], t, x, t_x, T) -> np.ndarray:
    """E[Y(t) | x, t_x, T] without input checks; the arguments broadcast against each other."""
    return _tail(values, t, x, T) * _alive(values, x, t_x, T)


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
