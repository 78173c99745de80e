"""Pareto/NBD (Schmittlein, Morrison & Colombo 1987), as written in Fader & Hardie (2005),
"A note on deriving the Pareto/NBD model and related expressions".

While alive a customer buys at rate lambda ~ Gamma(r, rate alpha); her lifetime is
exponential with rate mu ~ Gamma(s, rate beta), so she can drop out at any time, also
before her first repeat purchase (unlike BG/NBD).

Log-likelihood (the note's eq. 19-22):
    L = G(r+x) alpha^r beta^s / G(r) * { (alpha+T)^-(r+x) (beta+T)^-s + s/(r+s+x) A0 }
    alpha >= beta:  A0 = F(r+s+x, s+1;   alpha-beta, alpha+t_x) - F(..., alpha+T)
    alpha <  beta:  A0 = F(r+s+x, r+x;   beta-alpha, beta+t_x)  - F(..., beta+T)
    with F(a', b'; d, y) = 2F1(a', b'; a'+1; d/y) / y^a'.
The case split keeps the argument of 2F1 in [0, 1). A0 is computed in logs; where 2F1 itself
overflows (very heavy buyers) Euler's transformation 2F1(a', b'; a'+1; z) =
(1-z)^(1-b') 2F1(1, a'+1-b'; a'+1; z) takes over, whose series is bounded by 1/(1-z).
"""

# T is the customer's age in the papers, in lifetimes and in the CDNOW file; keep the name.
# ruff: noqa: N803, N806

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy.special import digamma, expit, gammaln, hyp2f1

from ._common import (
    FitResult,
    check_purchase_data,
    check_rfm,
    compress,
    maximise,
    param_values,
    small_integer_codes,
    unique_inverse,
)

MODEL = "paretonbd"
PARAMS = ("r", "alpha", "s", "beta")

Params = Mapping[str, float] | FitResult


def _log_hyp2f1_c_plus_one(a: np.ndarray, b: np.ndarray, z: np.ndarray) -> np.ndarray:
    """ln 2F1(a, b; a+1; z) for 0 <= z < 1, a > 0, b > 0, safe against overflow."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        value = np.log(hyp2f1(a, b, a + 1, z))
        bad = ~np.isfinite(value)
        if np.any(bad):
            ab, bb, zb = a[bad], b[bad], z[bad]
            value[bad] = (1 - bb) * np.log1p(-zb) + np.log(hyp2f1(1.0, ab + 1 - bb, ab + 1, zb))
    return value


def _log_a0(
    r: float,
    alpha: float,
    s: float,
    beta: float,
    x: np.ndarray,
    t_x: np.ndarray,
    T: np.ndarray,
) -> np.ndarray:
    """ln A0 (see module docstring); -inf where t_x = T, since then A0 = 0."""
    if alpha >= beta:
        big, second = alpha, np.full(np.shape(x), s + 1.0)
    else:
        big, second = beta, r + x
    diff = abs(alpha - beta)
    rsx = r + s + x
    upper = _log_hyp2f1_c_plus_one(rsx, second, diff / (big + t_x)) - rsx * np.log(big + t_x)
    lower = _log_hyp2f1_c_plus_one(rsx, second, diff / (big + T)) - rsx * np.log(big + T)
    with np.errstate(divide="ignore"):
        return upper + np.log1p(-np.exp(np.minimum(lower - upper, 0.0)))


def log_likelihood_terms(
    r: float,
    alpha: float,
    s: float,
    beta: float,
    x: np.ndarray,
    t_x: np.ndarray,
    T: np.ndarray,
    log_a0: np.ndarray | None = None,
) -> np.ndarray:
    """Per-row log-likelihood ln L(r, alpha, s, beta | x, t_x, T)."""
    if log_a0 is None:
        log_a0 = _log_a0(r, alpha, s, beta, x, t_x, T)
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    alive_to_t = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    died_before_t = np.log(s) - np.log(r + s + x) + log_a0
    return a1 + np.logaddexp(alive_to_t, died_before_t)


def log_likelihood(params: Params, x: object, t_x: object, T: object) -> float:
    """Total log-likelihood of a customer base (x, t_x, T) under Pareto/NBD."""
    x, t_x, T, w = check_rfm(x, t_x, T)
    return float(np.sum(w * log_likelihood_terms(*param_values(params, PARAMS), x, t_x, T)))


# The series of 2F1(1, m; c; z) stops where a term, with the largest multiplier its
# derivatives give it, falls below SERIES_TOLERANCE of the sum. Rows whose series has not
# converged after SERIES_MAX_TERMS terms (z near 1, which an optimiser's trial point far from
# the optimum can reach) go to scipy's hyp2f1, which transforms z, with parameter
# derivatives by central differences of step PARAMETER_STEP (relative); 256 terms cost about
# as much as those five hyp2f1 calls.
SERIES_TOLERANCE = 1e-15
SERIES_MAX_TERMS = 256
PARAMETER_STEP = 1e-5


def _log_h_and_gradient(
    m: np.ndarray, c: np.ndarray, z: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """ln H and d ln H / d(m, c, z) for H = 2F1(1, m; c; z) = sum_k (m)_k / (c)_k z^k.

    Here 0 <= z < 1 and 0 < m < c, so every term is positive and each is less than z times
    the one before: the sum has no cancellation and converges geometrically. The parameter
    derivatives of the terms, (m)_k / (c)_k z^k [sum_{j<k} 1/(m+j) - sum_{j<k} 1/(c+j)],
    are summed in the same loop; scipy has no parameter derivatives of 2F1. Rows are
    dropped from the loop as they converge.
    """
    m, c, z = (np.array(v, dtype=float) for v in np.broadcast_arrays(m, c, z))
    out = np.empty((4, z.size))  # H, dH/dm, dH/dc, dH/dz
    h, h_m, h_c, h_z = np.ones(z.size), np.zeros(z.size), np.zeros(z.size), np.zeros(z.size)
    term, sum_m, sum_c = np.ones(z.size), np.zeros(z.size), np.zeros(z.size)
    active = np.arange(z.size)
    mk, ck, za = m.copy(), c.copy(), z.copy()
    for k in range(SERIES_MAX_TERMS):
        ratio = mk / ck
        h_z += (k + 1) * term * ratio  # d/dz of the z^(k+1) term, without dividing by z
        sum_m += 1 / mk
        sum_c += 1 / ck
        term *= ratio * za
        h += term
        h_m += term * sum_m
        h_c -= term * sum_c
        mk += 1
        ck += 1
        if k % 4 == 3:
            done = term * (1 + sum_m + sum_c + k) <= SERIES_TOLERANCE * (1 - za) * h
            if done.any():
                out[:, active[done]] = h[done], h_m[done], h_c[done], h_z[done]
                keep = ~done
                active, h, h_m, h_c, h_z = active[keep], h[keep], h_m[keep], h_c[keep], h_z[keep]
                term, sum_m, sum_c = term[keep], sum_m[keep], sum_c[keep]
                mk, ck, za = mk[keep], ck[keep], za[keep]
                if active.size == 0:
                    break
    out[:, active] = h, h_m, h_c, h_z
    h, h_m, h_c, h_z = out
    log_h, d_m, d_c, d_z = np.log(h), h_m / h, h_c / h, h_z / h
    if active.size:
        ma, ca, za = m[active], c[active], z[active]
        log_h[active] = np.log(hyp2f1(1.0, ma, ca, za))
        step_m, step_c = PARAMETER_STEP * ma, PARAMETER_STEP * ca
        d_m[active] = (
            np.log(hyp2f1(1.0, ma + step_m, ca, za)) - np.log(hyp2f1(1.0, ma - step_m, ca, za))
        ) / (2 * step_m)
        d_c[active] = (
            np.log(hyp2f1(1.0, ma, ca + step_c, za)) - np.log(hyp2f1(1.0, ma, ca - step_c, za))
        ) / (2 * step_c)
        # d/dz 2F1(1, m; c; z) = m/c 2F1(2, m+1; c+1; z)
        d_z[active] = ma / ca * np.exp(np.log(hyp2f1(2.0, ma + 1, ca + 1, za)) - log_h[active])
    return log_h, d_m, d_c, d_z


class _Likelihood:
    """Log-likelihood and its analytic gradient over compressed rows, for L-BFGS-B.

    With Euler's transformation A0 is a difference of F(t) at t = t_x and t = T, where
        alpha >= beta: ln F(t) = -s ln(beta+t) - (r+x) ln(alpha+t) + ln H(r+x, r+s+x+1; z_t),
                       z_t = (alpha-beta)/(alpha+t)
        alpha <  beta: ln F(t) = (1-r-x) ln(alpha+t) - (s+1) ln(beta+t)
                                 + ln H(s+1, r+s+x+1; z_t), z_t = (beta-alpha)/(beta+t)
    and H(m, c; z) = 2F1(1, m; c; z) is summed with its derivatives (`_log_h_and_gradient`).
    F depends on (x, t) only, so it is evaluated per distinct (x, t_x) and per distinct
    (x, T) pair, not per customer.
    """

    def __init__(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, w: np.ndarray):
        self.x, self.t_x, self.T, self.w = x, t_x, T, w
        self.n = w.sum()
        self.x_u, x_i = small_integer_codes(x)
        self.count_x = np.bincount(x_i, weights=w, minlength=self.x_u.size)
        (self.pair_x, self.pair_t), pair = unique_inverse(
            np.concatenate([x, x]), np.concatenate([t_x, T])
        )
        self.tx_i, self.T_i = pair[: x.size], pair[x.size :]
        self.died = t_x < T  # A0 = 0 where t_x = T: no time to die unobserved

    def _log_f(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """ln F and d ln F / d(r, alpha, s, beta) per distinct (x, t) pair."""
        r, alpha, s, beta = theta
        x, t = self.pair_x, self.pair_t
        log_alpha_t, log_beta_t = np.log(alpha + t), np.log(beta + t)
        inv_alpha_t, inv_beta_t = 1 / (alpha + t), 1 / (beta + t)
        c = r + s + x + 1
        grad = np.empty((4, t.size))
        if alpha >= beta:
            z = (alpha - beta) * inv_alpha_t
            log_h, h_m, h_c, h_z = _log_h_and_gradient(r + x, c, z)
            log_f = -s * log_beta_t - (r + x) * log_alpha_t + log_h
            grad[0] = -log_alpha_t + h_m + h_c
            grad[1] = -(r + x) * inv_alpha_t + h_z * (beta + t) * inv_alpha_t**2
            grad[2] = -log_beta_t + h_c
            grad[3] = -s * inv_beta_t - h_z * inv_alpha_t
        else:
            z = (beta - alpha) * inv_beta_t
            log_h, h_m, h_c, h_z = _log_h_and_gradient(s + 1, c, z)
            log_f = (1 - r - x) * log_alpha_t - (s + 1) * log_beta_t + log_h
            grad[0] = -log_alpha_t + h_c
            grad[1] = (1 - r - x) * inv_alpha_t - h_z * inv_beta_t
            grad[2] = -log_beta_t + h_m + h_c
            grad[3] = -(s + 1) * inv_beta_t + h_z * (alpha + t) * inv_beta_t**2
        return log_f, grad

    def __call__(
        self, u: np.ndarray, order: int = 1
    ) -> tuple[float, np.ndarray | None, np.ndarray | None]:
        theta = np.exp(u)
        r, alpha, s, beta = theta
        x, T, w = self.x, self.T, self.w
        log_f, grad_f = self._log_f(theta)
        upper, lower = log_f[self.tx_i], log_f[self.T_i]
        ratio = np.exp(np.minimum(lower - upper, 0.0))  # F(T) / F(t_x) <= 1
        with np.errstate(divide="ignore"):
            log_a0 = np.where(
                self.died, upper + np.log1p(-np.where(self.died, ratio, 0.0)), -np.inf
            )
        log_alpha_t, log_beta_t = np.log(alpha + T), np.log(beta + T)
        rsx = r + s + x
        alive = -(r + x) * log_alpha_t - s * log_beta_t
        died = np.log(s) - np.log(rsx) + log_a0
        gap = died - alive
        e = np.exp(-np.abs(gap))
        value = (
            self.count_x @ (gammaln(r + self.x_u) - gammaln(r))
            + self.n * (r * np.log(alpha) + s * np.log(beta))
            + w @ (np.maximum(alive, died) + np.log1p(e))
        )
        if order == 0:
            return float(value), None, None
        pi = np.where(gap >= 0, 1.0, e) / (1 + e)  # P(died before T | x, t_x, T)
        w_pi = w * pi
        w_alive = w - w_pi
        # d ln A0 = (d ln F(t_x) - ratio d ln F(T)) / (1 - ratio), weighted by pi
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(self.died, w_pi / (1 - ratio), 0.0)
        g_a0 = grad_f[:, self.tx_i] @ share - grad_f[:, self.T_i] @ (share * ratio)
        inv_rsx = w_pi @ (1 / rsx)
        grad = np.array(
            [
                self.count_x @ (digamma(r + self.x_u) - digamma(r))
                + self.n * np.log(alpha)
                - w_alive @ log_alpha_t
                - inv_rsx
                + g_a0[0],
                self.n * r / alpha - w_alive @ ((r + x) / (alpha + T)) + g_a0[1],
                self.n * np.log(beta) - w_alive @ log_beta_t + w_pi.sum() / s - inv_rsx + g_a0[2],
                self.n * s / beta - w_alive @ (s / (beta + T)) + g_a0[3],
            ]
        )
        return float(value), grad * theta, None


def fit(
    x: object,
    t_x: object,
    T: object,
    weights: object = None,
    time_unit: str | None = "weeks",
) -> FitResult:
    """Maximum-likelihood Pareto/NBD on (x, t_x, T), optionally with counts per row.

    L-BFGS-B with the analytic gradient of `_Likelihood`; 2F1 is evaluated once per
    distinct (x, t_x) and (x, T) pair. Start: r = s = 1, alpha = total T / total x,
    beta = mean T.
    """
    x, t_x, T, w = check_rfm(x, t_x, T, weights)
    check_purchase_data(x, T, w, "Pareto/NBD")
    (x, t_x, T), w = compress(x, t_x, T, weights=w)
    n = w.sum()
    start = np.log([1.0, (w @ T) / (w @ x), 1.0, (w @ T) / n])
    return maximise(
        MODEL,
        PARAMS,
        _Likelihood(x, t_x, T, w),
        start,
        n,
        x.size,
        time_unit,
        analytic_hessian=False,
    )


def _alive(values: list[float], x, t_x, T) -> np.ndarray:
    """P(alive at T) = 1 / (1 + exp(log-odds of having died by T)), where the odds are
    s/(r+s+x) (alpha+T)^(r+x) (beta+T)^s A0."""
    r, alpha, s, beta = values
    log_odds_dead = (
        np.log(s)
        - np.log(r + s + x)
        + (r + x) * np.log(alpha + T)
        + s * np.log(beta + T)
        + _log_a0(r, alpha, s, beta, x, t_x, T)
    )
    return expit(-log_odds_dead)


def probability_alive(params: Params, x: object, t_x: object, T: object) -> np.ndarray:
    """P(alive at T | x, t_x, T) = 1 / (1 + s/(r+s+x) (alpha+T)^(r+x) (beta+T)^s A0)."""
    x, t_x, T, _ = check_rfm(x, t_x, T)
    return _alive(param_values(params, PARAMS), x, t_x, T)


def _growth(s: float, u: np.ndarray) -> np.ndarray:
    """[1 - (1+u)^-(s-1)] / (s-1), with its limit ln(1+u) at s = 1."""
    k = s - 1
    if abs(k) < 1e-10:
        return np.log1p(u)
    return -np.expm1(-k * np.log1p(u)) / k


def _tail(values: list[float], t, x, T) -> np.ndarray:
    """E[Y(t) | x, t_x, T] / P(alive): a function of (x, T, t) alone."""
    r, alpha, s, beta = values
    return (r + x) * (beta + T) / (alpha + T) * _growth(s, t / (beta + T))


def _expected(values: list[float], t, x, t_x, T) -> np.ndarray:
    """E[Y(t) | x, t_x, T] without input checks; the arguments broadcast against each other."""
    return _tail(values, t, x, T) * _alive(values, x, t_x, T)


def conditional_expected_purchases(
    params: Params, t: float | np.ndarray, x: object, t_x: object, T: object
) -> np.ndarray:
    """E[Y(t) | x, t_x, T] = (r+x)(beta+T)/((alpha+T)(s-1)) [1 - ((beta+T)/(beta+T+t))^(s-1)]
    x P(alive): expected purchases in (T, T+t]; `t` is one horizon or one per customer."""
    x, t_x, T, _ = check_rfm(x, t_x, T)
    return _expected(param_values(params, PARAMS), np.asarray(t, dtype=float), x, t_x, T)


def expected_purchases_new(params: Params, t: float | np.ndarray) -> np.ndarray:
    """E[X(t)] for a new customer: r beta / (alpha (s-1)) [1 - (beta/(beta+t))^(s-1)]."""
    r, alpha, s, beta = param_values(params, PARAMS)
    t = np.asarray(t, dtype=float)
    return r * beta / alpha * _growth(s, t / beta)
