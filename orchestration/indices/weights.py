"""Indicator weights (METRICS H5): expert, entropy, CRITIC and AHP.

Every function returns a `WeightResult`: the weights (indexed by indicator code, summing to 1),
the method's name and the numbers behind them, so an index can always say how it was weighted.

The data-driven methods (entropy, CRITIC) take *normalised, oriented* values (0–1, higher is
better, e.g. from `normalise.MinMaxReference`) and use only the rows where every indicator is
present (listwise), counted in `details["rows"]`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .definitions import SEEDS_DIR, IndexDefinition, directions_for, load_catalogue, read_seed

AHP_PAIRWISE_SEED = SEEDS_DIR / "index_ahp_pairwise.csv"

# Saaty's random consistency index RI by matrix order n: the mean consistency index of random
# reciprocal matrices on the 1–9 scale (Saaty 1980, The Analytic Hierarchy Process, table 1.7;
# the values the AHP literature quotes). n = 1 and 2 are always consistent.
SAATY_RANDOM_INDEX: Mapping[int, float] = {
    1: 0.0,
    2: 0.0,
    3: 0.58,
    4: 0.90,
    5: 1.12,
    6: 1.24,
    7: 1.32,
    8: 1.41,
    9: 1.45,
    10: 1.49,
}
# Saaty's rule: judgements with a consistency ratio of 0.1 or more must be revised.
MAX_CONSISTENCY_RATIO = 0.1
# a_ji must equal 1 / a_ij; the seed writes reciprocals with 6 decimals (0.333333).
RECIPROCAL_TOLERANCE = 1e-4


@dataclass(frozen=True)
class WeightResult:
    weights: pd.Series  # indexed by indicator code, non-negative, summing to 1
    method: str  # expert, entropy, critic or ahp
    details: dict[str, float] = field(default_factory=dict)


def expert_weights(definition: IndexDefinition) -> WeightResult:
    """The seed's expert weights (already validated by `load_index_definitions`)."""
    return WeightResult(weights=definition.weights.copy(), method="expert")


def _complete_rows(normalised: pd.DataFrame, method: str) -> np.ndarray:
    values = normalised.apply(pd.to_numeric, errors="raise").astype(float).dropna(how="any")
    if len(values) < 2:
        raise ValueError(f"{method} weights need at least 2 rows with every indicator present")
    return values.to_numpy()


def entropy_weights(normalised: pd.DataFrame) -> WeightResult:
    """Entropy weight method: an indicator that spreads customers apart more weighs more.

    With m rows and x_ij ≥ 0: p_ij = x_ij / Σ_i x_ij; e_j = −(1/ln m) Σ_i p_ij ln p_ij (with
    0 · ln 0 = 0), in [0, 1]; divergence d_j = 1 − e_j; w_j = d_j / Σ_k d_k. A column that is
    all zero carries no information: e_j = 1, d_j = 0.
    """
    x = _complete_rows(normalised, "entropy")
    if (x < 0).any():
        raise ValueError("entropy weights need non-negative (normalised) values")
    m = x.shape[0]
    totals = x.sum(axis=0)
    p = np.divide(x, totals, out=np.zeros_like(x), where=totals > 0)
    plogp = np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0)
    entropy = np.where(totals > 0, -plogp.sum(axis=0) / np.log(m), 1.0)
    # a constant column has e_j = 1 up to rounding (1 + 1e-16): its divergence is 0, not < 0
    divergence = np.clip(1.0 - entropy, 0.0, None)
    if divergence.sum() <= 0:
        raise ValueError("entropy weights: no indicator varies across the rows")
    weights = pd.Series(divergence / divergence.sum(), index=normalised.columns)
    return WeightResult(
        weights=weights,
        method="entropy",
        details={"rows": float(m)}
        | {f"entropy_{c}": float(e) for c, e in zip(weights.index, entropy, strict=True)},
    )


def critic_weights(normalised: pd.DataFrame) -> WeightResult:
    """CRITIC (Diakoulaki, Mavrotas and Papayannakis 1995): contrast × conflict.

    C_j = σ_j × Σ_k (1 − r_jk), with σ_j the standard deviation of the normalised column and
    r_jk Pearson's correlation; w_j = C_j / Σ_k C_k. An indicator that varies and disagrees
    with the others carries more information. Scaling every σ by the same factor leaves the
    weights unchanged, so population or sample σ gives the same result (population used).
    A constant column has σ = 0 (weight 0); its undefined correlations count as 0.
    """
    x = _complete_rows(normalised, "CRITIC")
    sigma = x.std(axis=0, ddof=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        correlation = np.corrcoef(x, rowvar=False)
    correlation = np.nan_to_num(np.atleast_2d(correlation), nan=0.0)
    np.fill_diagonal(correlation, 1.0)
    information = sigma * (1.0 - correlation).sum(axis=0)
    if information.sum() <= 0:
        raise ValueError("CRITIC weights: no indicator varies across the rows")
    weights = pd.Series(information / information.sum(), index=normalised.columns)
    return WeightResult(weights=weights, method="critic", details={"rows": float(x.shape[0])})


def check_pairwise_matrix(matrix: pd.DataFrame, name: str) -> np.ndarray:
    """A pairwise-comparison matrix must be square, positive, with 1 on the diagonal and
    reciprocal (a_ji = 1 / a_ij). Errors name the matrix and the offending pair."""
    if list(matrix.index) != list(matrix.columns):
        raise ValueError(f"AHP matrix {name}: rows and columns must list the same indicators")
    a = matrix.to_numpy(dtype=float)
    labels = list(matrix.index)
    for i, j in zip(*np.nonzero(~(np.isfinite(a) & (a > 0))), strict=True):
        raise ValueError(
            f"AHP matrix {name}: entry ({labels[i]}, {labels[j]}) = {a[i, j]} is not positive"
        )
    for i in range(len(a)):
        if abs(a[i, i] - 1.0) > RECIPROCAL_TOLERANCE:
            raise ValueError(f"AHP matrix {name}: diagonal entry {labels[i]} is {a[i, i]}, not 1")
        for j in range(i + 1, len(a)):
            if abs(a[i, j] * a[j, i] - 1.0) > RECIPROCAL_TOLERANCE:
                raise ValueError(
                    f"AHP matrix {name}: not reciprocal at ({labels[i]}, {labels[j]}): "
                    f"{a[i, j]:g} × {a[j, i]:g} = {a[i, j] * a[j, i]:g}, not 1"
                )
    return a


def ahp_weights(
    matrix: pd.DataFrame, name: str, max_consistency_ratio: float = MAX_CONSISTENCY_RATIO
) -> WeightResult:
    """AHP weights: the principal (Perron) eigenvector of the pairwise matrix, summing to 1.

    Consistency index CI = (λ_max − n) / (n − 1); consistency ratio CR = CI / RI(n) with Saaty's
    random index. CR ≥ `max_consistency_ratio` (0.1) raises: the judgements contradict each
    other too much to be used. For n ≤ 2 a reciprocal matrix is always consistent (CR = 0).
    """
    a = check_pairwise_matrix(matrix, name)
    n = len(a)
    if n not in SAATY_RANDOM_INDEX:
        raise ValueError(
            f"AHP matrix {name}: {n} indicators; Saaty's random index is tabulated for 1 to "
            f"{max(SAATY_RANDOM_INDEX)} (split the index into groups)"
        )
    eigenvalues, eigenvectors = np.linalg.eig(a)
    k = int(np.argmax(eigenvalues.real))
    lambda_max = float(eigenvalues[k].real)
    vector = np.abs(eigenvectors[:, k].real)
    weights = pd.Series(vector / vector.sum(), index=matrix.index)
    random_index = SAATY_RANDOM_INDEX[n]
    consistency_index = (lambda_max - n) / (n - 1) if n > 2 else 0.0
    consistency_ratio = consistency_index / random_index if random_index > 0 else 0.0
    if consistency_ratio >= max_consistency_ratio:
        raise ValueError(
            f"AHP matrix {name}: consistency ratio {consistency_ratio:.3f} ≥ "
            f"{max_consistency_ratio:g} (λ_max {lambda_max:.3f}, CI {consistency_index:.3f}, "
            f"RI {random_index:g}); revise the pairwise judgements"
        )
    return WeightResult(
        weights=weights,
        method="ahp",
        details={
            "lambda_max": lambda_max,
            "consistency_index": consistency_index,
            "random_index": random_index,
            "consistency_ratio": consistency_ratio,
        },
    )


def load_ahp_matrices(
    path: Path = AHP_PAIRWISE_SEED, catalogue: pd.DataFrame | None = None
) -> dict[str, pd.DataFrame]:
    """Pairwise matrices per index from the long-form seed (index_code, row_indicator_code,
    column_indicator_code, preference: how many times more important the row indicator is
    than the column one, Saaty's 1–9 scale or its reciprocal).

    Every ordered pair of distinct indicators must appear exactly once (both a_ij and a_ji, so
    reciprocity is checked rather than assumed); the diagonal may be omitted (it is 1).
    Indicators must be in the catalogue. The matrices are checked by `check_pairwise_matrix`.
    """
    path = Path(path)
    catalogue = load_catalogue() if catalogue is None else catalogue
    frame = read_seed(
        path, ["index_code", "row_indicator_code", "column_indicator_code", "preference"]
    )
    matrices: dict[str, pd.DataFrame] = {}
    for index_code, rows in frame.groupby("index_code", sort=False):
        where = f"{path.name}, index {index_code}"
        labels = list(dict.fromkeys([*rows["row_indicator_code"], *rows["column_indicator_code"]]))
        directions_for(labels, catalogue, source=where)
        try:
            preference = rows["preference"].astype(float)
        except ValueError:
            raise ValueError(f"{where}: a preference is not a number") from None
        keys = list(zip(rows["row_indicator_code"], rows["column_indicator_code"], strict=True))
        if len(set(keys)) != len(keys):
            duplicate = next(key for key in keys if keys.count(key) > 1)
            raise ValueError(f"{where}: pair {duplicate} appears more than once")
        matrix = pd.DataFrame(np.nan, index=labels, columns=labels)
        for (row, column), value in zip(keys, preference, strict=True):
            matrix.loc[row, column] = value
        for label in labels:
            if np.isnan(matrix.loc[label, label]):
                matrix.loc[label, label] = 1.0
        missing = [(r, c) for r in labels for c in labels if np.isnan(matrix.loc[r, c])]
        if missing:
            raise ValueError(f"{where}: pair {missing[0]} is missing (give both directions)")
        check_pairwise_matrix(matrix, where)
        matrices[str(index_code)] = matrix
    return matrices
