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
from scipy.special import expit, gammaln, hyp2f1

from ._common import (
    FitResult,
    check_purchase_data,
    check_rfm,
    compress,
    maximise,
    param_values,
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
        big, second = alpha, np.full_like(x, s + 1)
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


def fit(
    x: object,
    t_x: object,
    T: object,
    weights: object = None,
    time_unit: str | None = "weeks",
) -> FitResult:
    """Maximum-likelihood Pareto/NBD on (x, t_x, T), optionally with counts per row.

    The gradient is numerical (central differences), so 2F1 is evaluated only once per
    distinct (x, t_x) and per distinct (x, T), not per row: with dates in days that is far
    fewer than the customers. Start: r = s = 1, alpha = total T / total x, beta = mean T.
    """
    x, t_x, T, w = check_rfm(x, t_x, T, weights)
    check_purchase_data(x, T, w, "Pareto/NBD")
    (x, t_x, T), w = compress(x, t_x, T, weights=w)
    (x_u, tx_u), tx_index = unique_inverse(x, t_x)
    (x_v, T_v), T_index = unique_inverse(x, T)

    def ll(u: np.ndarray, gradient: bool = False) -> tuple[float, None]:
        r, alpha, s, beta = np.exp(u)
        if alpha >= beta:
            big = alpha
            second_u, second_v = np.full_like(x_u, s + 1), np.full_like(x_v, s + 1)
        else:
            big, second_u, second_v = beta, r + x_u, r + x_v
        diff = abs(alpha - beta)
        upper = _log_hyp2f1_c_plus_one(r + s + x_u, second_u, diff / (big + tx_u)) - (
            r + s + x_u
        ) * np.log(big + tx_u)
        lower = _log_hyp2f1_c_plus_one(r + s + x_v, second_v, diff / (big + T_v)) - (
            r + s + x_v
        ) * np.log(big + T_v)
        up, lo = upper[tx_index], lower[T_index]
        with np.errstate(divide="ignore"):
            log_a0 = up + np.log1p(-np.exp(np.minimum(lo - up, 0.0)))
        return float(w @ log_likelihood_terms(r, alpha, s, beta, x, t_x, T, log_a0)), None

    n = w.sum()
    start = np.log([1.0, (w @ T) / (w @ x), 1.0, (w @ T) / n])
    return maximise(MODEL, PARAMS, ll, False, start, n, x.size, time_unit)


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


def _expected(values: list[float], t, x, t_x, T) -> np.ndarray:
    """E[Y(t) | x, t_x, T] without input checks; the arguments broadcast against each other."""
    r, alpha, s, beta = values
    growth = _growth(s, t / (beta + T))
    return (r + x) * (beta + T) / (alpha + T) * growth * _alive(values, x, t_x, T)


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
