"""What every CLV model shares: the fit result, input checks, compression, the optimiser.

Every model is fitted the same way: maximum likelihood over the logarithms of its positive
parameters (so the optimiser never leaves the admissible region), on compressed sufficient
statistics (identical rows counted once, with an integer weight), with L-BFGS-B. Standard
errors come from the Hessian of the log-likelihood at the optimum (central differences of
the gradient, or of the function where there is no analytic gradient), mapped to the natural
parameters by the delta method: for theta = exp(u), Cov(theta) = diag(theta) Cov(u) diag(theta).
"""

# T is the customer's age in the papers, in lifetimes and in the CDNOW file; keep the name.
# ruff: noqa: N803, N806

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize

# Days in one time unit; a month is an average Gregorian month, so 12 months are one year.
DAYS_PER_UNIT: dict[str, float] = {"days": 1.0, "weeks": 7.0, "months": 365.25 / 12}
DAYS_PER_YEAR = 365.25

# Fewer customers than this cannot identify a three- or four-parameter mixture model.
MIN_CUSTOMERS = 10

# Log-parameter box for L-BFGS-B: exp(+-15) spans 3e-7 .. 3e6, wider than any sensible
# estimate in days, weeks or months. An estimate on the box means "not identified".
LOG_BOUND = 15.0

# Largest gradient of the mean log-likelihood per customer (in log-parameters) accepted as an
# optimum when L-BFGS-B stops for another reason than its own tests.
GRADIENT_TOLERANCE = 1e-6

# Step for the numerical Hessian in log-parameter space.
HESSIAN_STEP = 1e-4


@dataclass(frozen=True)
class FitResult:
    """A fitted model: parameters, standard errors, log-likelihood and how the fit went.

    `params` and `std_errors` are on the natural scale. `log_covariance` is the covariance of
    the log-parameters (the scale the optimiser works on), which `clv_interval` samples from.
    `n` counts customers (or, for sBG, cohort members); `n_unique` counts the distinct rows
    of sufficient statistics the likelihood was evaluated on.
    """

    model: str
    params: dict[str, float]
    std_errors: dict[str, float]
    log_likelihood: float
    n: int
    converged: bool
    n_unique: int
    iterations: int
    message: str
    time_unit: str | None = None
    covariance: np.ndarray = field(default=None, repr=False, compare=False)
    log_covariance: np.ndarray = field(default=None, repr=False, compare=False)

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(self.params)

    @property
    def param_array(self) -> np.ndarray:
        return np.array(list(self.params.values()))


def time_unit_days(unit: str) -> float:
    """Days in `unit` (days, weeks or months); a clear error for anything else."""
    try:
        return DAYS_PER_UNIT[unit]
    except KeyError:
        raise ValueError(f"time unit {unit!r} is not one of {', '.join(DAYS_PER_UNIT)}") from None


def param_values(params: Mapping[str, float] | FitResult, names: Sequence[str]) -> list[float]:
    """The named parameters from a FitResult or a plain mapping, checked to be positive."""
    mapping = params.params if isinstance(params, FitResult) else params
    missing = [name for name in names if name not in mapping]
    if missing:
        raise ValueError(f"parameters {missing} are missing; expected {list(names)}")
    values = [float(mapping[name]) for name in names]
    bad = [n for n, v in zip(names, values, strict=True) if not (np.isfinite(v) and v > 0)]
    if bad:
        raise ValueError(f"parameters {bad} must be positive and finite")
    return values


def as_float_array(values: object, name: str) -> np.ndarray:
    """A 1-d float array, rejecting NaN and infinity with the column name in the message."""
    array = np.atleast_1d(np.asarray(values, dtype=float))
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    bad = int(np.count_nonzero(~np.isfinite(array)))
    if bad:
        raise ValueError(f"{name} has {bad} missing or infinite values")
    return array


def check_rfm(
    x: object, t_x: object, T: object, weights: object = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Validate (x, t_x, T[, weights]) and return them as float arrays of equal length.

    x: repeat purchases (a non-negative integer), t_x: time of the last repeat purchase
    (0 when x = 0), T: time since the first purchase; 0 <= t_x <= T.
    """
    x = as_float_array(x, "x")
    t_x = as_float_array(t_x, "t_x")
    T = as_float_array(T, "T")
    w = np.ones_like(x) if weights is None else as_float_array(weights, "weights")
    if not (x.size == t_x.size == T.size == w.size):
        raise ValueError(
            f"x, t_x, T and weights differ in length: {x.size}, {t_x.size}, {T.size}, {w.size}"
        )
    if x.size == 0:
        raise ValueError("no customers: x, t_x and T are empty")
    if np.any(x < 0) or np.any(x != np.round(x)):
        raise ValueError("x (repeat purchases) must be non-negative whole numbers")
    if np.any(t_x < 0) or np.any(t_x > T):
        raise ValueError("t_x must lie between 0 and T for every customer")
    if np.any((x == 0) & (t_x != 0)):
        raise ValueError("t_x must be 0 for customers without a repeat purchase (x = 0)")
    if np.any(w < 0) or np.any(w != np.round(w)):
        raise ValueError("weights must be non-negative whole numbers (customer counts)")
    return x, t_x, T, w


def check_purchase_data(x: np.ndarray, T: np.ndarray, w: np.ndarray, model: str) -> None:
    """Refuse data a purchase-frequency model cannot be identified from, saying why."""
    n = w.sum()
    if n < MIN_CUSTOMERS:
        raise ValueError(
            f"{model} needs at least {MIN_CUSTOMERS} customers to identify its parameters, "
            f"got {n:.0f}"
        )
    if not np.any((x > 0) & (w > 0)):
        raise ValueError(
            f"nobody made a repeat purchase (x = 0 for all {n:.0f} customers): {model} "
            "cannot estimate a purchase rate"
        )
    if not np.any((T > 0) & (w > 0)):
        raise ValueError(f"every customer has T = 0 (no time observed): {model} cannot be fitted")


def compress(*columns: np.ndarray, weights: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Group identical rows of `columns`, summing `weights`: the sufficient statistics.

    A lexicographic sort and a difference do it in O(n log n) without Python loops.
    """
    keep = weights > 0
    columns = [c[keep] for c in columns]
    weights = weights[keep]
    order = np.lexsort(columns[::-1])
    sorted_cols = [c[order] for c in columns]
    new_row = np.ones(order.size, dtype=bool)
    new_row[1:] = np.any([np.diff(c) != 0 for c in sorted_cols], axis=0)
    starts = np.flatnonzero(new_row)
    counts = np.add.reduceat(weights[order], starts)
    return [c[starts] for c in sorted_cols], counts


def unique_inverse(*columns: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Distinct rows of `columns` and, for each input row, the index of its distinct row."""
    order = np.lexsort(columns[::-1])
    sorted_cols = [c[order] for c in columns]
    new_row = np.ones(order.size, dtype=bool)
    new_row[1:] = np.any([np.diff(c) != 0 for c in sorted_cols], axis=0)
    group = np.cumsum(new_row) - 1
    inverse = np.empty(order.size, dtype=np.intp)
    inverse[order] = group
    return [c[new_row] for c in sorted_cols], inverse


LogLikelihood = Callable[[np.ndarray, bool], tuple[float, np.ndarray | None]]


def dot(a: np.ndarray, b: np.ndarray) -> float:
    """Sum of a*b without BLAS: on a busy machine BLAS threads stall on a product this simple
    (20 ms instead of 1 ms for a million rows)."""
    return float(np.einsum("i,i->", a, b))


def _hessian(
    neg_ll: Callable[[np.ndarray], float],
    neg_grad: Callable[[np.ndarray], np.ndarray] | None,
    u: np.ndarray,
) -> np.ndarray:
    """Hessian of the negative log-likelihood at u (log-parameters), by central differences."""
    k = u.size
    h = HESSIAN_STEP
    hess = np.empty((k, k))
    if neg_grad is not None:
        for i in range(k):
            e = np.zeros(k)
            e[i] = h
            hess[:, i] = (neg_grad(u + e) - neg_grad(u - e)) / (2 * h)
    else:
        h = 1e-3  # function differences lose more digits; a larger step balances the error
        f0 = neg_ll(u)
        for i in range(k):
            for j in range(i, k):
                ei = np.zeros(k)
                ej = np.zeros(k)
                ei[i] = h
                ej[j] = h
                if i == j:
                    value = (neg_ll(u + ei) - 2 * f0 + neg_ll(u - ei)) / h**2
                else:
                    value = (
                        neg_ll(u + ei + ej)
                        - neg_ll(u + ei - ej)
                        - neg_ll(u - ei + ej)
                        + neg_ll(u - ei - ej)
                    ) / (4 * h**2)
                hess[i, j] = hess[j, i] = value
    return (hess + hess.T) / 2


def maximise(
    model: str,
    names: Sequence[str],
    log_likelihood: LogLikelihood,
    has_gradient: bool,
    start: np.ndarray,
    n: float,
    n_unique: int,
    time_unit: str | None = None,
) -> FitResult:
    """Maximise the log-likelihood over log-parameters u and package the result.

    `log_likelihood(u, gradient)` returns the total log-likelihood and, when `has_gradient`
    and asked for, its gradient d ll / d u. Without an analytic gradient the optimiser uses
    central differences. The optimiser sees the mean log-likelihood per customer, so its
    tolerances mean the same at 1,000 and at 1,000,000 customers.
    """
    scale = 1.0 / n

    def value(u: np.ndarray) -> float:
        return log_likelihood(u, False)[0]

    def objective(u: np.ndarray) -> float | tuple[float, np.ndarray]:
        ll, grad = log_likelihood(u, has_gradient)
        loss = -ll * scale if np.isfinite(ll) else 1e100  # a step outside the numeric range
        if not has_gradient:
            return loss
        grad = -np.asarray(grad) * scale
        return loss, np.where(np.isfinite(grad), grad, 0.0)

    result = optimize.minimize(
        objective,
        np.clip(start, -LOG_BOUND + 1, LOG_BOUND - 1),
        jac=True if has_gradient else "3-point",
        method="L-BFGS-B",
        bounds=[(-LOG_BOUND, LOG_BOUND)] * len(names),
        options={"maxiter": 2000, "ftol": 1e-13, "gtol": 1e-9, "maxcor": 20},
    )
    u = result.x
    # L-BFGS-B may stop in a line search when rounding noise, not the optimum, limits
    # progress; a gradient this small per customer is an optimum all the same.
    converged = bool(result.success) or bool(np.max(np.abs(result.jac)) < GRADIENT_TOLERANCE)
    message = str(result.message)
    on_bound = [name for name, v in zip(names, u, strict=True) if abs(v) > LOG_BOUND - 1e-3]
    if on_bound:
        converged = False
        message = (
            f"parameters {on_bound} ran to the edge of the search box (exp(+-{LOG_BOUND:g})): "
            "the data do not identify them"
        )
    theta = np.exp(u)
    hess = _hessian(
        lambda v: -value(v),
        (lambda v: -np.asarray(log_likelihood(v, True)[1])) if has_gradient else None,
        u,
    )
    try:
        log_cov = np.linalg.inv(hess)
        positive = np.all(np.linalg.eigvalsh(hess) > 0)
    except np.linalg.LinAlgError:
        log_cov, positive = np.full_like(hess, np.nan), False
    if not positive:
        warnings.warn(
            f"{model}: the Hessian is not positive definite at the optimum; standard errors "
            "are NaN",
            RuntimeWarning,
            stacklevel=3,
        )
        log_cov = np.full_like(hess, np.nan)
        converged = False
    cov = log_cov * np.outer(theta, theta)
    return FitResult(
        model=model,
        params={name: float(v) for name, v in zip(names, theta, strict=True)},
        std_errors={
            name: float(np.sqrt(v)) if v >= 0 else float("nan")
            for name, v in zip(names, np.diag(cov), strict=True)
        },
        log_likelihood=float(value(u)),
        n=int(round(n)),
        converged=converged,
        n_unique=int(n_unique),
        iterations=int(result.nit),
        message=message,
        time_unit=time_unit,
        covariance=cov,
        log_covariance=log_cov,
    )
