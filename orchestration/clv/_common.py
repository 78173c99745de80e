"""What every CLV model shares: the fit result, input checks, compression, the optimisers.

Every model is fitted the same way: maximum likelihood over the logarithms of its positive
parameters (so the optimiser never leaves the admissible region), on compressed sufficient
statistics (identical rows counted once, with an integer weight). Every model has an analytic
gradient. Models that also have an analytic Hessian (BG/NBD, Gamma-Gamma, sBG) are fitted by
Newton's method, which from a rough start needs 5-10 steps where L-BFGS-B needs 15-20;
Pareto/NBD, whose Hessian would need second parameter derivatives of 2F1, by L-BFGS-B.
Standard errors come from the Hessian of the log-likelihood at the optimum (analytic, or
central differences of the analytic gradient: 2p gradient calls), mapped to the natural
parameters by the delta method: for theta = exp(u), Cov(theta) = diag(theta) Cov(u) diag(theta).
"""

# T is the customer's age in the papers, in lifetimes and in the CDNOW file; keep the name.
# ruff: noqa: N803, N806

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize

# Days in one time unit; a month is an average Gregorian month, so 12 months are one year.
DAYS_PER_UNIT: dict[str, float] = {"days": 1.0, "weeks": 7.0, "months": 365.25 / 12}
DAYS_PER_YEAR = 365.25

# Fewer customers than this cannot identify a three- or four-parameter mixture model.
MIN_CUSTOMERS = 10

# Log-parameter box for both optimisers: exp(+-15) spans 3e-7 .. 3e6, wider than any sensible
# estimate in days, weeks or months. An estimate on the box means "not identified".
LOG_BOUND = 15.0

# Largest gradient of the mean log-likelihood per customer (in log-parameters) accepted as an
# optimum when L-BFGS-B stops for another reason than its own tests.
GRADIENT_TOLERANCE = 1e-6

# Step for the Hessian by central differences of the gradient, in log-parameter space.
HESSIAN_STEP = 1e-4

# A fit on more distinct rows than this starts from the estimate on every PILOT_STRIDE-th
# row (recursively), so Newton's method on all rows needs 3-4 steps instead of 7-8.
PILOT_ROWS = 20_000
PILOT_STRIDE = 8

# Newton's method: at most this many steps; a step is capped at this length in
# log-parameters (a factor e^2 per parameter) so a poor start cannot overflow; the fit has
# converged when a Newton step moves no log-parameter by more than STEP_TOLERANCE (with
# quadratic convergence the error after that step is of the order of its square).
NEWTON_MAX_STEPS = 100
NEWTON_MAX_STEP = 2.0
STEP_TOLERANCE = 1e-6


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


def group_codes(*columns: np.ndarray) -> tuple[np.ndarray, int]:
    """For each row, the number of its distinct row of `columns` (0, 1, ... in order of first
    appearance), and the number of distinct rows.

    Hashing (pandas.factorize) takes O(n): grouping 100,000 rows of (x, t_x, T) takes 8 ms,
    where the lexicographic sort alone took 20 ms. Codes are re-factorised after each column, so the
    combined key stays below n^2 and cannot overflow.
    """
    codes, uniques = pd.factorize(columns[0])
    for column in columns[1:]:
        more, values = pd.factorize(column)
        codes, uniques = pd.factorize(codes.astype(np.int64) * values.size + more)
    return codes, uniques.size


def first_rows(codes: np.ndarray) -> np.ndarray:
    """Index of the first row of every code, for codes numbered in order of first appearance."""
    running = np.maximum.accumulate(codes)
    new = np.empty(codes.size, dtype=bool)
    new[0] = True
    np.greater(running[1:], running[:-1], out=new[1:])
    return np.flatnonzero(new)


def compress(*columns: np.ndarray, weights: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Group identical rows of `columns`, summing `weights`: the sufficient statistics."""
    keep = weights > 0
    if not keep.all():
        columns = tuple(c[keep] for c in columns)
        weights = weights[keep]
    codes, size = group_codes(*columns)
    if size == codes.size:
        return list(columns), weights
    first = first_rows(codes)
    return [c[first] for c in columns], np.bincount(codes, weights=weights, minlength=size)


def unique_inverse(*columns: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Distinct rows of `columns` and, for each input row, the index of its distinct row."""
    codes, _ = group_codes(*columns)
    first = first_rows(codes)
    return [c[first] for c in columns], codes


def small_integer_codes(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct values of whole numbers x >= 0 and each row's index among them.

    Repeat purchases are small whole numbers, so a bincount over 0..max(x) finds them in
    O(n) without sorting; huge values fall back to hashing.
    """
    top = int(x.max()) if x.size else 0
    if top > 4 * x.size + 1000:
        (values,), codes = unique_inverse(x)
        return values, codes
    index = x.astype(np.intp)
    present = np.flatnonzero(np.bincount(index, minlength=top + 1))
    lookup = np.empty(top + 1, dtype=np.intp)
    lookup[present] = np.arange(present.size)
    return present.astype(float), lookup[index]


_TRIGAMMA_SHIFT = np.arange(10.0)


def trigamma(x: np.ndarray | float) -> np.ndarray:
    """psi'(x) for x > 0: ten steps of psi'(x) = 1/x^2 + psi'(x+1), then the asymptotic
    series at x + 10 (relative error below 1e-11). scipy's polygamma(1, x) evaluates a
    Hurwitz zeta function behind a Python wrapper and costs 2.5 times as much on a few
    hundred values, four times per Newton step."""
    x = np.asarray(x, dtype=float)
    y = x + 10.0
    inv, inv2 = 1 / y, 1 / (y * y)
    tail = inv * (1 + inv * (0.5 + inv * (1 / 6 - inv2 * (1 / 30 - inv2 * (1 / 42 - inv2 / 30)))))
    return (1 / (x[..., None] + _TRIGAMMA_SHIFT) ** 2).sum(axis=-1) + tail


# A log-likelihood over log-parameters u: `likelihood(u, order)` returns the total
# log-likelihood, with order >= 1 its gradient d ll / d u, with order 2 its Hessian.
LogLikelihood = Callable[[np.ndarray, int], tuple[float, np.ndarray | None, np.ndarray | None]]


def dot(a: np.ndarray, b: np.ndarray) -> float:
    """Sum of a*b without BLAS: on a busy machine BLAS threads stall on a product this simple
    (20 ms instead of 1 ms for a million rows)."""
    return float(np.einsum("i,i->", a, b))


def gradient_hessian(likelihood: LogLikelihood, u: np.ndarray) -> np.ndarray:
    """Hessian of the log-likelihood at u by central differences of its analytic gradient."""
    k = u.size
    hess = np.empty((k, k))
    for i in range(k):
        step = np.zeros(k)
        step[i] = HESSIAN_STEP
        hess[:, i] = (likelihood(u + step, 1)[1] - likelihood(u - step, 1)[1]) / (2 * HESSIAN_STEP)
    return (hess + hess.T) / 2


def _newton(
    likelihood: LogLikelihood, u: np.ndarray, scale: float
) -> tuple[np.ndarray, np.ndarray, int, bool, str]:
    """Newton's method on the mean negative log-likelihood, with a backtracking line search.

    Where the Hessian is not positive definite (far from the optimum) its eigenvalues are
    replaced by their absolute values, so every step goes downhill. Trial points of the line
    search get the value only; gradient and Hessian are evaluated where a step lands. Once a
    Newton step is shorter than STEP_TOLERANCE it is taken without evaluating again: the
    error left is of the order of its square. Returns u, the Hessian of the total
    log-likelihood (at the point of the last step), the steps, whether it converged, and a
    message.
    """

    def loss(value: float) -> float:
        return -value * scale if np.isfinite(value) else np.inf

    ll, grad, hess = likelihood(u, 2)
    f = loss(ll)
    if not np.isfinite(f):
        return u, hess, 0, False, "the log-likelihood is not finite at the start"
    for steps in range(1, NEWTON_MAX_STEPS + 1):
        g, h = -grad * scale, -hess * scale
        if not (np.all(np.isfinite(g)) and np.all(np.isfinite(h))):
            return u, hess, steps, False, "the gradient or Hessian is not finite"
        eigenvalues, vectors = np.linalg.eigh(h)
        floor = 1e-12 * max(float(np.abs(eigenvalues).max()), 1e-300)
        direction = -vectors @ ((vectors.T @ g) / np.maximum(np.abs(eigenvalues), floor))
        longest = float(np.abs(direction).max())
        if longest < STEP_TOLERANCE and np.all(eigenvalues > 0):
            return np.clip(u + direction, -LOG_BOUND, LOG_BOUND), hess, steps, True, "converged"
        if longest > NEWTON_MAX_STEP:
            direction *= NEWTON_MAX_STEP / longest
        # rounding noise of a sum over many rows; below it "no decrease" means nothing
        noise = 1e-12 * (1 + abs(f))
        t = 1.0
        while True:
            v = np.clip(u + t * direction, -LOG_BOUND, LOG_BOUND)
            f_v = loss(likelihood(v, 0)[0])
            if f_v <= f + 1e-4 * float(g @ (v - u)) + noise:
                break
            t /= 2
            if t < 1e-10:
                converged = bool(np.max(np.abs(g)) < GRADIENT_TOLERANCE)
                return u, hess, steps, converged, "the line search could not decrease the loss"
        u, f = v, f_v
        ll, grad, hess = likelihood(u, 2)
    return u, hess, NEWTON_MAX_STEPS, False, f"no convergence in {NEWTON_MAX_STEPS} steps"


def _lbfgs(
    likelihood: LogLikelihood, u: np.ndarray, scale: float, k: int
) -> tuple[np.ndarray, int, bool, str]:
    """L-BFGS-B with the analytic gradient on the mean negative log-likelihood."""

    def objective(v: np.ndarray) -> tuple[float, np.ndarray]:
        ll, grad, _ = likelihood(v, 1)
        if not np.isfinite(ll):
            return 1e100, np.zeros(k)  # a step outside the numeric range
        grad = -np.asarray(grad) * scale
        return -ll * scale, np.where(np.isfinite(grad), grad, 0.0)

    result = optimize.minimize(
        objective,
        u,
        jac=True,
        method="L-BFGS-B",
        bounds=[(-LOG_BOUND, LOG_BOUND)] * k,
        options={"maxiter": 2000, "ftol": 1e-13, "gtol": 1e-9, "maxcor": 20},
    )
    # L-BFGS-B may stop in a line search when rounding noise, not the optimum, limits
    # progress; a gradient this small per customer is an optimum all the same.
    converged = bool(result.success) or bool(np.max(np.abs(result.jac)) < GRADIENT_TOLERANCE)
    return result.x, int(result.nit), converged, str(result.message)


def pilot_start(
    make: Callable[[slice], LogLikelihood], weights: np.ndarray, start: np.ndarray
) -> np.ndarray:
    """A start for Newton's method on many rows: the estimate on every 8th row (itself
    started from every 64th, and so on while a pilot has more than PILOT_ROWS rows).

    `make(rows)` builds the likelihood of a slice of the compressed rows. A pilot that does
    not converge is ignored; the start is only a start, the estimate is the full fit's.
    """
    stride = 1
    while weights.size // (stride * PILOT_STRIDE) >= PILOT_ROWS // PILOT_STRIDE:
        stride *= PILOT_STRIDE
    u = np.clip(start, -LOG_BOUND + 1, LOG_BOUND - 1)
    while stride > 1:
        rows = slice(None, None, stride)
        pilot, _, _, converged, _ = _newton(make(rows), u, 1.0 / weights[rows].sum())
        if converged and np.all(np.abs(pilot) < LOG_BOUND - 1):
            u = pilot
        stride //= PILOT_STRIDE
    return u


def maximise(
    model: str,
    names: Sequence[str],
    likelihood: LogLikelihood,
    start: np.ndarray,
    n: float,
    n_unique: int,
    time_unit: str | None = None,
    *,
    analytic_hessian: bool,
) -> FitResult:
    """Maximise the log-likelihood over log-parameters u and package the result.

    With `analytic_hessian` by Newton's method, whose last Hessian gives the standard
    errors; otherwise by L-BFGS-B and a Hessian from central differences of the gradient.
    The optimisers see the mean log-likelihood per customer, so their tolerances mean the
    same at 1,000 and at 1,000,000 customers.
    """
    scale = 1.0 / n
    start = np.clip(start, -LOG_BOUND + 1, LOG_BOUND - 1)
    if analytic_hessian:
        u, hess, iterations, converged, message = _newton(likelihood, start, scale)
        hess = -hess
    else:
        u, iterations, converged, message = _lbfgs(likelihood, start, scale, len(names))
        hess = -gradient_hessian(likelihood, u)
    on_bound = [name for name, v in zip(names, u, strict=True) if abs(v) > LOG_BOUND - 1e-3]
    if on_bound:
        converged = False
        message = (
            f"parameters {on_bound} ran to the edge of the search box (exp(+-{LOG_BOUND:g})): "
            "the data do not identify them"
        )
    theta = np.exp(u)
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
        log_likelihood=float(likelihood(u, 0)[0]),
        n=int(round(n)),
        converged=converged,
        n_unique=int(n_unique),
        iterations=iterations,
        message=message,
        time_unit=time_unit,
        covariance=cov,
        log_covariance=log_cov,
    )
