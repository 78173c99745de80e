"""Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV: using iso-value curves
for customer base analysis", J. Marketing Research; Fader & Hardie note 025).

Each transaction's value is Gamma(p, rate nu); across customers nu ~ Gamma(q, rate gamma).
The model is fitted on customers with at least one repeat purchase, from x (the number of
repeat transactions) and zbar (their mean value); spend is assumed independent of the
purchase process, so it is fitted separately from BG/NBD or Pareto/NBD.

Density of zbar given x (note 025, eq. 3):
    f(zbar | p, q, gamma; x) = G(px+q) / (G(px) G(q)) gamma^q zbar^(px-1) x^(px)
                               / (gamma + x zbar)^(px+q)
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy.special import digamma, gammaln

from ._common import (
    MIN_CUSTOMERS,
    FitResult,
    as_float_array,
    compress,
    maximise,
    param_values,
    pilot_start,
    small_integer_codes,
    trigamma,
)
from ._common import (
    dot as _dot,
)

MODEL = "gammagamma"
PARAMS = ("p", "q", "gamma")

Params = Mapping[str, float] | FitResult


def _check(x: object, mean_spend: object) -> tuple[np.ndarray, np.ndarray]:
    x = as_float_array(x, "x")
    z = as_float_array(mean_spend, "mean_spend")
    if x.size != z.size:
        raise ValueError(f"x and mean_spend differ in length: {x.size} and {z.size}")
    if np.any(x < 0) or np.any(x != np.round(x)):
        raise ValueError("x (repeat purchases) must be non-negative whole numbers")
    return x, z


def _terms(u: np.ndarray, x: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Per-row log-density at log-parameters u (the formula in the module docstring)."""
    p, q, gamma = np.exp(u)
    px = p * x
    return (
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * np.log(gamma)
        + (px - 1) * np.log(z)
        + px * np.log(x)
        - (px + q) * np.log(gamma + x * z)
    )


def log_likelihood(params: Params, x: object, mean_spend: object) -> float:
    """Total log-likelihood of (x, zbar) over the customers with x >= 1."""
    x, z = _check(x, mean_spend)
    keep = x > 0
    u = np.log(param_values(params, PARAMS))
    return float(np.sum(_terms(u, x[keep], z[keep])))


def fit(x: object, mean_spend: object, weights: object = None) -> FitResult:
    """Maximum-likelihood Gamma-Gamma on repeat buyers (rows with x = 0 are ignored).

    Refuses, with a ValueError, data it cannot fit: fewer than MIN_CUSTOMERS repeat buyers,
    a non-positive mean spend among them, or one and the same mean spend for everybody
    (no spread between customers: p and q would run to infinity).
    Newton's method with the analytic gradient and Hessian. Start: on many rows the estimate
    on a systematic sample of them (`pilot_start`), else p = 1, q = 2, gamma = the mean of
    zbar (so that the mean spend p gamma/(q-1) fits).
    """
    x, z = _check(x, mean_spend)
    w = np.ones_like(x) if weights is None else as_float_array(weights, "weights")
    if w.size != x.size:
        raise ValueError(f"x and weights differ in length: {x.size} and {w.size}")
    keep = (x > 0) & (w > 0)
    x, z, w = x[keep], z[keep], w[keep]
    if w.sum() < MIN_CUSTOMERS:
        raise ValueError(
            f"Gamma-Gamma needs at least {MIN_CUSTOMERS} customers with a repeat purchase, "
            f"got {w.sum():.0f}"
        )
    if np.any(z <= 0):
        raise ValueError(
            f"{int(np.count_nonzero(z <= 0))} repeat buyers have a mean spend <= 0; "
            "Gamma-Gamma needs positive transaction values (net out credit notes first)"
        )
    if np.ptp(z) == 0:
        raise ValueError(
            f"every repeat buyer has the same mean spend ({z[0]:g}): Gamma-Gamma cannot "
            "separate customers; use that value as the expected spend instead"
        )
    (x, z), w = compress(x, z, weights=w)
    start = pilot_start(
        lambda rows: _Likelihood(x[rows], z[rows], w[rows]),
        w,
        np.log([1.0, 2.0, (w @ z) / w.sum()]),
    )
    return maximise(
        MODEL, PARAMS, _Likelihood(x, z, w), start, w.sum(), x.size, analytic_hessian=True
    )


class _Likelihood:
    """Log-likelihood, gradient and Hessian for Newton's method, with everything that does
    not depend on the parameters summed once: functions of x alone per distinct x, and
    sum w ln zbar, sum w x ln zbar. Per row and evaluation only ln(gamma + x zbar),
    1/(gamma + x zbar) and its square remain.

    With s = gamma + x zbar, in the natural parameters (sums over rows, weighted):
        d/dp = sum x [psi(px+q) - psi(px) + ln x + ln zbar - ln s]
        d/dq = sum [psi(px+q) - psi(q) + ln gamma - ln s]
        d/dgamma = sum [q/gamma - (px+q)/s]
    and the second derivatives follow with psi' (trigamma) and 1/s^2.
    """

    def __init__(self, x: np.ndarray, z: np.ndarray, w: np.ndarray):
        self.x_u, x_i = small_integer_codes(x)
        self.count_x = np.bincount(x_i, weights=w, minlength=self.x_u.size)
        self.log_x_u = np.log(self.x_u)
        self.n = w.sum()
        self.xz, self.w = x * z, w
        self.wx = w * x
        log_z = np.log(z)
        self.sum_log_z = _dot(w, log_z)
        self.sum_x_log_z = _dot(self.wx, log_z)

    def __call__(
        self, u: np.ndarray, order: int = 2
    ) -> tuple[float, np.ndarray | None, np.ndarray | None]:
        p, q, gamma = np.exp(u)
        x_u, count = self.x_u, self.count_x
        px_u = p * x_u
        spread = gamma + self.xz
        log_spread = np.log(spread)
        sum_log = _dot(self.w, log_spread)
        sum_x_log = _dot(self.wx, log_spread)
        log_gamma = np.log(gamma)
        value = (
            count @ (gammaln(px_u + q) - gammaln(px_u) + px_u * self.log_x_u)
            + self.n * (q * log_gamma - gammaln(q))
            + p * self.sum_x_log_z
            - self.sum_log_z
            - p * sum_x_log
            - q * sum_log
        )
        if order == 0:
            return float(value), None, None
        inv = 1 / spread
        sum_inv, sum_x_inv = _dot(self.w, inv), _dot(self.wx, inv)
        psi_pxq = digamma(px_u + q)
        grad = np.array(
            [
                count @ (x_u * (psi_pxq - digamma(px_u) + self.log_x_u))
                + self.sum_x_log_z
                - sum_x_log,
                count @ psi_pxq + self.n * (log_gamma - digamma(q)) - sum_log,
                self.n * q / gamma - p * sum_x_inv - q * sum_inv,
            ]
        )
        theta = np.array([p, q, gamma])
        grad_u = grad * theta
        if order == 1:
            return float(value), grad_u, None
        inv2 = inv * inv
        tri_pxq = trigamma(px_u + q)
        cx = count * x_u
        hess = np.empty((3, 3))
        hess[0, 0] = cx @ (x_u * (tri_pxq - trigamma(px_u)))
        hess[0, 1] = hess[1, 0] = cx @ tri_pxq
        hess[1, 1] = count @ tri_pxq - self.n * trigamma(q)
        hess[0, 2] = hess[2, 0] = -sum_x_inv
        hess[1, 2] = hess[2, 1] = self.n / gamma - sum_inv
        hess[2, 2] = -self.n * q / gamma**2 + p * _dot(self.wx, inv2) + q * _dot(self.w, inv2)
        # chain rule to u = ln theta: H_u = diag(theta) H diag(theta) + diag(theta * grad)
        return float(value), grad_u, hess * np.outer(theta, theta) + np.diag(grad_u)


def population_mean_spend(params: Params) -> float:
    """E[Z] = p gamma / (q - 1): the expected transaction value of an unknown customer."""
    p, q, gamma = param_values(params, PARAMS)
    if q <= 1:
        raise ValueError(f"q = {q:.4g} <= 1: the Gamma-Gamma mean spend is infinite")
    return p * gamma / (q - 1)


def conditional_expected_spend(params: Params, x: object, mean_spend: object) -> np.ndarray:
    """E[Z | x, zbar] = p (gamma + x zbar) / (p x + q - 1) (note 025, eq. 5).

    A weighted mean of the population mean p gamma/(q-1) and the customer's own zbar, with
    weight p x / (p x + q - 1) on zbar. For x = 0 it is the population mean.
    """
    x, z = _check(x, mean_spend)
    p, q, gamma = param_values(params, PARAMS)
    population_mean_spend(params)  # raises when q <= 1
    z = np.where(x > 0, z, 0.0)
    return p * (gamma + x * z) / (p * x + q - 1)
