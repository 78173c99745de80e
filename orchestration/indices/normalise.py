"""Normalisation of indicators onto a common, oriented scale.

Both scalers are *fitted once on a reference period* and then applied unchanged to later
periods, so an index value means the same thing over time: a customer whose indicators do not
change keeps its score even when the rest of the base moves.

Orientation comes from the catalogue's direction: for a `lower_is_better` indicator (complaint
rate, churn rate) the scale is inverted, so 1 (or a positive z) is always the good end.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import ndtr

from .definitions import HIGHER_IS_BETTER, LOWER_IS_BETTER


def _check_columns(frame: pd.DataFrame, expected: pd.Index, what: str) -> pd.DataFrame:
    missing = [code for code in expected if code not in frame.columns]
    if missing:
        raise ValueError(f"{what}: column(s) {', '.join(missing)} missing from the data")
    return frame.loc[:, list(expected)].apply(pd.to_numeric, errors="raise").astype(float)


def _signs(directions: Mapping[str, str], columns: pd.Index) -> pd.Series:
    signs = {}
    for code in columns:
        direction = directions.get(code)
        if direction not in (HIGHER_IS_BETTER, LOWER_IS_BETTER):
            raise ValueError(f"indicator {code!r}: direction {direction!r} cannot be oriented")
        signs[code] = 1.0 if direction == HIGHER_IS_BETTER else -1.0
    return pd.Series(signs, dtype=float)


@dataclass(frozen=True)
class MinMaxReference:
    """Min–max scaling learnt on a reference period.

    higher_is_better: (x − min) / (max − min);  lower_is_better: (max − x) / (max − min);
    both clipped to [0, 1], so a later value beyond the reference range lands on 0 or 1.
    An indicator that was constant in the reference period (max = min) has no scale: its
    values become NaN (missing), which the aggregation reports as lost coverage instead of
    inventing a number. Missing inputs stay missing.
    """

    minimum: pd.Series
    maximum: pd.Series
    directions: Mapping[str, str]
    method: str = "minmax_reference"

    @classmethod
    def fit(
        cls,
        reference: pd.DataFrame,
        directions: Mapping[str, str],
        quantiles: tuple[float, float] | None = None,
    ) -> MinMaxReference:
        """Learn min and max per indicator. `quantiles=(0.01, 0.99)` takes those quantiles
        instead, so that one extreme customer (a CLV or revenue outlier) does not squash
        everyone else near 0; values beyond them are clipped like later-period values."""
        columns = pd.Index(list(directions))
        values = _check_columns(reference, columns, "reference period")
        _signs(directions, columns)
        if quantiles is None:
            return cls(minimum=values.min(), maximum=values.max(), directions=dict(directions))
        low, high = quantiles
        if not 0.0 <= low < high <= 1.0:
            raise ValueError(f"quantiles must satisfy 0 <= low < high <= 1, got {quantiles}")
        return cls(
            minimum=values.quantile(low),
            maximum=values.quantile(high),
            directions=dict(directions),
            method=f"minmax_reference_q{low:g}_q{high:g}",
        )

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        values = _check_columns(frame, self.minimum.index, "min-max normalisation")
        span = (self.maximum - self.minimum).where(lambda s: s > 0)
        scaled = (values - self.minimum) / span
        inverted = _signs(self.directions, self.minimum.index) < 0
        scaled.loc[:, inverted] = 1.0 - scaled.loc[:, inverted]
        return scaled.clip(lower=0.0, upper=1.0)


@dataclass(frozen=True)
class ZScoreReference:
    """z-scores against a reference period's mean and sample standard deviation, oriented.

    z = sign × (x − mean) / sd, sign −1 for lower_is_better. `transform(unit_interval=True)`
    maps z to Φ(z), the standard normal CDF, so z-scores can be aggregated onto 0–100 like
    min–max values (Φ(0) = 0.5: a customer at the reference mean scores 50 on that indicator).
    A constant reference column (sd = 0) gives NaN, as in MinMaxReference.
    """

    mean: pd.Series
    std: pd.Series
    directions: Mapping[str, str]
    method: str = "zscore_reference"

    @classmethod
    def fit(cls, reference: pd.DataFrame, directions: Mapping[str, str]) -> ZScoreReference:
        columns = pd.Index(list(directions))
        values = _check_columns(reference, columns, "reference period")
        _signs(directions, columns)
        return cls(mean=values.mean(), std=values.std(ddof=1), directions=dict(directions))

    def transform(self, frame: pd.DataFrame, *, unit_interval: bool = False) -> pd.DataFrame:
        values = _check_columns(frame, self.mean.index, "z-score normalisation")
        std = self.std.where(lambda s: s > 0)
        z = (values - self.mean) / std * _signs(self.directions, self.mean.index)
        if not unit_interval:
            return z
        return pd.DataFrame(ndtr(z.to_numpy()), index=z.index, columns=z.columns)


def normalise(
    frame: pd.DataFrame,
    directions: Mapping[str, str],
    *,
    method: str = "minmax",
    reference: pd.DataFrame | None = None,
    quantiles: tuple[float, float] | None = None,
) -> tuple[pd.DataFrame, MinMaxReference | ZScoreReference]:
    """Oriented values in [0, 1] for aggregation, and the fitted scaler (to reuse on later
    periods and to document the min/max or mean/sd that were used).

    `reference` defaults to `frame` itself; pass the reference period's data to keep an index
    comparable over time. For `method="zscore"` the values returned are Φ(z). `quantiles`
    applies to min–max only (see `MinMaxReference.fit`).
    """
    basis = frame if reference is None else reference
    if method == "zscore" and quantiles is None:
        scaler = ZScoreReference.fit(basis, directions)
        return scaler.transform(frame, unit_interval=True), scaler
    if method != "minmax":
        raise ValueError(f"unknown normalisation {method!r} (quantiles only with minmax)")
    minmax = MinMaxReference.fit(basis, directions, quantiles)
    return minmax.transform(frame), minmax


def is_unit_interval(values: pd.DataFrame) -> bool:
    """True when every non-missing value lies in [0, 1]."""
    array = values.to_numpy(dtype=float)
    finite = array[~np.isnan(array)]
    return bool(((finite >= 0) & (finite <= 1)).all())
