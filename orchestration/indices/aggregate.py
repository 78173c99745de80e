"""Weighted aggregation to 0–100, bands, trend, and the seed-002 survey loyalty index.

Missing indicators: a row's score is re-weighted over the indicators it has,
    score = 100 × Σ_available w_j x_j / Σ_available w_j,
and its coverage is the share of the index's weight that was available, Σ_available w_j / Σ w_j.
Below `min_coverage` the score is missing (NaN, stored as NULL), never 0: a customer with no
survey answers and no orders has no loyalty index, which is not the same as a loyalty of 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .definitions import IndexDefinition, load_catalogue, validate_weights
from .normalise import MinMaxReference, ZScoreReference, is_unit_interval, normalise
from .weights import WeightResult, ahp_weights, critic_weights, entropy_weights, expert_weights

# At least half of an index's weight must be present for a score. Configurable per call.
DEFAULT_MIN_COVERAGE = 0.5

# (inclusive upper bound, label), ascending; the last bound is 100. 0–50 red, 51–75 yellow,
# 76–100 green for whole numbers; a fractional score belongs to the first band whose upper
# bound it does not exceed (50.4 is yellow: it is above 50).
DEFAULT_BANDS: tuple[tuple[float, str], ...] = ((50.0, "red"), (75.0, "yellow"), (100.0, "green"))

# A change of less than one index point is reported as flat.
DEFAULT_FLAT_WITHIN_POINTS = 1.0

WEIGHTINGS = ("expert", "entropy", "critic", "ahp")


@dataclass(frozen=True)
class IndexResult:
    """An index and how it was made.

    scores: 0–100 per row (customer, company, account team), NaN where coverage < minimum.
    weights: the nominal weight of each indicator (summing to 1).
    method: normalisation + weighting, e.g. "minmax_reference+expert".
    coverage: per row, the share of the weight whose indicator was present (0–1).
    details: the numbers behind the method (min_coverage, AHP consistency ratio, the
        reference min/max or mean/sd as `reference_<stat>_<indicator>`, ...).
    """

    scores: pd.Series
    weights: pd.Series
    method: str
    coverage: pd.Series
    details: dict[str, float] = field(default_factory=dict)

    def frame(self, bands: Sequence[tuple[float, str]] = DEFAULT_BANDS) -> pd.DataFrame:
        """score_pct, coverage_rate and band per row, ready to write to the warehouse."""
        return pd.DataFrame(
            {
                "score_pct": self.scores,
                "coverage_rate": self.coverage,
                "band": band(self.scores, bands),
            }
        )


def aggregate(
    normalised: pd.DataFrame,
    weights: pd.Series,
    *,
    min_coverage: float = DEFAULT_MIN_COVERAGE,
    method: str = "weighted_sum",
) -> IndexResult:
    """Weighted sum of normalised values (0–1, higher is better) on a 0–100 scale.

    Every weighted indicator must be a column of `normalised` (a missing column is a wiring
    error, not missing data: add it as NaN if it is truly unknown). See the module docstring
    for the missing-value rule.
    """
    if not 0.0 <= min_coverage <= 1.0:
        raise ValueError(f"min_coverage must lie in [0, 1], got {min_coverage}")
    if (weights < 0).any() or not np.isclose(weights.sum(), 1.0):
        raise ValueError(f"weights must be non-negative and sum to 1, got {weights.to_dict()}")
    missing = [code for code in weights.index if code not in normalised.columns]
    if missing:
        raise ValueError(f"aggregation: column(s) {', '.join(missing)} missing from the data")
    values = normalised.loc[:, list(weights.index)].astype(float)
    if not is_unit_interval(values):
        raise ValueError("aggregation needs normalised values in [0, 1]")
    present = values.notna().to_numpy()
    w = weights.to_numpy(dtype=float)
    available = present @ w
    weighted = np.nan_to_num(values.to_numpy()) @ w
    with np.errstate(invalid="ignore", divide="ignore"):
        # in [0, 100] exactly: the two sums over the same weights round differently in the
        # last bit (100.00000000000001 for a customer at the top of every indicator)
        score = np.clip(100.0 * weighted / available, 0.0, 100.0)
    # A row with coverage 0 has no score whatever min_coverage says.
    score = np.where((available >= min_coverage - 1e-12) & (available > 0), score, np.nan)
    return IndexResult(
        scores=pd.Series(score, index=normalised.index, name="score_pct"),
        weights=weights.copy(),
        method=method,
        coverage=pd.Series(available, index=normalised.index, name="coverage_rate"),
        details={"min_coverage": float(min_coverage)},
    )


def _reference_details(scaler: MinMaxReference | ZScoreReference) -> dict[str, float]:
    if isinstance(scaler, MinMaxReference):
        stats = {"min": scaler.minimum, "max": scaler.maximum}
    else:
        stats = {"mean": scaler.mean, "sd": scaler.std}
    return {
        f"reference_{stat}_{code}": float(value)
        for stat, series in stats.items()
        for code, value in series.items()
    }


def compute_index(
    definition: IndexDefinition,
    data: pd.DataFrame,
    *,
    reference: pd.DataFrame | None = None,
    normalisation: str = "minmax",
    weighting: str = "expert",
    ahp_matrix: pd.DataFrame | None = None,
    weights: pd.Series | None = None,
    min_coverage: float = DEFAULT_MIN_COVERAGE,
    quantiles: tuple[float, float] | None = None,
) -> IndexResult:
    """One index for the rows of `data` (one column per indicator code of the definition).

    1. Normalise with the definition's directions, fitted on `reference` (the reference
       period's rows; default `data` itself) — min–max (optionally between reference
       `quantiles`, e.g. (0.01, 0.99), against outliers) or z-score mapped through Φ.
    2. Weight: `expert` (the seed), `entropy` or `critic` (learnt on the normalised
       *reference*, so later periods reuse the same weights), `ahp` (from `ahp_matrix`, whose
       indicators must be the definition's), or explicit `weights` (validated like the seed),
       which override `weighting`.
    3. Aggregate to 0–100 with re-weighting over available indicators and `min_coverage`.
    """
    if normalisation not in ("minmax", "zscore"):
        raise ValueError(f"unknown normalisation {normalisation!r}; use minmax or zscore")
    normalised, scaler = normalise(
        data,
        definition.directions,
        method=normalisation,
        reference=reference,
        quantiles=quantiles,
    )
    weight_result = _weights_for(
        definition, normalised, scaler, reference, weighting, ahp_matrix, weights
    )
    result = aggregate(
        normalised,
        weight_result.weights.reindex(definition.indicators),
        min_coverage=min_coverage,
        method=f"{scaler.method}+{weight_result.method}",
    )
    details = result.details | weight_result.details | _reference_details(scaler)
    return IndexResult(result.scores, result.weights, result.method, result.coverage, details)


def _weights_for(
    definition: IndexDefinition,
    normalised: pd.DataFrame,
    scaler: MinMaxReference | ZScoreReference,
    reference: pd.DataFrame | None,
    weighting: str,
    ahp_matrix: pd.DataFrame | None,
    weights: pd.Series | None,
) -> WeightResult:
    if weights is not None:
        checked = validate_weights(
            weights,
            source="weights argument",
            index_code=definition.code,
            catalogue=load_catalogue(),
        )
        if set(checked.index) != set(definition.indicators):
            raise ValueError(f"weights argument: indicators differ from index {definition.code}")
        return WeightResult(weights=checked, method="given")
    if weighting not in WEIGHTINGS:
        raise ValueError(f"unknown weighting {weighting!r}; use one of {WEIGHTINGS}")
    if weighting == "expert":
        return expert_weights(definition)
    if weighting == "ahp":
        if ahp_matrix is None:
            raise ValueError(f"index {definition.code}: weighting='ahp' needs ahp_matrix")
        if set(ahp_matrix.index) != set(definition.indicators):
            raise ValueError(
                f"AHP matrix {definition.code}: indicators {sorted(ahp_matrix.index)} differ "
                f"from the index's {sorted(definition.indicators)}"
            )
        return ahp_weights(ahp_matrix, name=definition.code)
    if reference is None:
        basis = normalised
    elif isinstance(scaler, ZScoreReference):
        basis = scaler.transform(reference, unit_interval=True)
    else:
        basis = scaler.transform(reference)
    # A column that is constant in the reference is NaN after scaling: it carries no
    # information, so it gets weight 0 instead of removing every row from the listwise basis.
    informative = basis.columns[basis.notna().any()]
    learnt = (entropy_weights if weighting == "entropy" else critic_weights)(basis[informative])
    return WeightResult(
        weights=learnt.weights.reindex(definition.indicators, fill_value=0.0),
        method=learnt.method,
        details=learnt.details,
    )


def band(scores: pd.Series, bands: Sequence[tuple[float, str]] = DEFAULT_BANDS) -> pd.Series:
    """Band label per score: the first band whose inclusive upper bound the score does not
    exceed. Missing scores get a missing band (None). Bands must be ascending and end at 100.
    """
    uppers = [float(upper) for upper, _ in bands]
    if uppers != sorted(uppers) or len(set(uppers)) != len(uppers) or uppers[-1] != 100.0:
        raise ValueError(f"bands must have strictly ascending upper bounds ending at 100: {bands}")
    values = pd.to_numeric(scores, errors="raise").astype(float)
    outside = values[(values < 0) | (values > 100)]
    if len(outside):
        raise ValueError(f"scores must lie in [0, 100]; {outside.iloc[0]} does not")
    position = np.searchsorted(np.array(uppers), values.to_numpy(), side="left")
    labels = np.array([label for _, label in bands] + [None], dtype=object)
    result = labels[np.where(values.isna().to_numpy(), len(bands), position)]
    return pd.Series(result, index=scores.index, name="band", dtype=object)


def trend(
    current: pd.Series,
    previous: pd.Series,
    flat_within: float = DEFAULT_FLAT_WITHIN_POINTS,
) -> pd.DataFrame:
    """Change against the previous period, per row present in either period.

    change_points = current − previous; trend is "up" / "down" beyond ± `flat_within` points,
    "flat" within it, and missing when either score is missing (new customer, low coverage).
    """
    frame = pd.concat(
        {"previous_score_pct": previous.astype(float), "score_pct": current.astype(float)},
        axis=1,
    )
    change = frame["score_pct"] - frame["previous_score_pct"]
    labels = np.select(
        [change.isna(), change > flat_within, change < -flat_within],
        [None, "up", "down"],
        default="flat",
    )
    frame["change_points"] = change
    frame["trend"] = pd.Series(labels, index=frame.index, dtype=object)
    return frame


def survey_loyalty_index(
    scores: pd.Series,
    scale_max: float | pd.Series,
    groups: pd.Series | None = None,
) -> IndexResult:
    """Seed 002's loyalty index: mean loyalty score / scale maximum × 100.

    Each answer is divided by its own item's maximum (METRICS: never a hard-coded 5 or 10),
    then averaged per group (all answers when `groups` is None), × 100. On a 1–5 scale the
    lowest possible index is therefore 20, as the seed defines it. Unanswered items (NaN) are
    left out; coverage is the share of answers present.
    """
    values = pd.to_numeric(scores, errors="raise").astype(float)
    maxima = pd.Series(scale_max, index=values.index, dtype=float)
    if (maxima <= 0).any() or maxima.isna().any():
        raise ValueError("survey_loyalty_index: every answer needs a positive scale maximum")
    if ((values < 0) | (values > maxima)).any():
        raise ValueError("survey_loyalty_index: a score lies outside [0, its scale maximum]")
    ratio = values / maxima
    keys = pd.Series("all", index=values.index) if groups is None else groups
    grouped = ratio.groupby(keys)
    return IndexResult(
        scores=(grouped.mean() * 100.0).rename("score_pct"),
        weights=pd.Series({"survey_loyalty_answers": 1.0}),
        method="survey_mean_over_scale_max",
        coverage=grouped.count().div(grouped.size()).rename("coverage_rate"),
    )
