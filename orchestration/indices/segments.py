"""Segments and what to do with them (METRICS H6, F1), migration, and F10 extra revenue.

Segment labels and the recommended action of each segment come from
`seeds/segment_actions.csv` (English and Chinese), so a firm can rename a segment or change
its action without touching code. Actions: retain, develop, win_back, maintain, let_go.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .definitions import SEEDS_DIR, read_seed

SEGMENT_ACTIONS_SEED = SEEDS_DIR / "segment_actions.csv"
ACTIONS = ("retain", "develop", "win_back", "maintain", "let_go")
LABEL_COLUMNS = ["segment_en", "segment_zh", "action_code", "action_en", "action_zh"]

# value × loyalty quadrants: (value high, loyalty high) -> segment code
VALUE_LOYALTY_SEGMENTS = {
    (True, True): "high_value_high_loyalty",
    (True, False): "high_value_low_loyalty",
    (False, True): "low_value_high_loyalty",
    (False, False): "low_value_low_loyalty",
}
# The classic eight-class RFM model (重要价值客户 … 一般挽留客户): each of recency, frequency
# and monetary value is high or low against the base's mean. "Recency high" means a recent
# purchase, i.e. fewer days since the last one. (R high, F high, M high) -> segment code.
RFM_SEGMENTS = {
    (True, True, True): "important_value",
    (True, False, True): "important_develop",
    (False, True, True): "important_keep",
    (False, False, True): "important_win_back",
    (True, True, False): "general_value",
    (True, False, False): "general_develop",
    (False, True, False): "general_keep",
    (False, False, False): "general_lapsed",
}
SCHEMES = {"value_loyalty": VALUE_LOYALTY_SEGMENTS, "rfm": RFM_SEGMENTS}
# Customers the rule cannot place (a missing input) and customers absent from one period.
UNSEGMENTED = "unsegmented"
ABSENT = "absent"


@dataclass(frozen=True)
class SegmentResult:
    """segments: per customer, segment_code with its labels and recommended action (missing
    where an input is missing); thresholds: the cut-offs used; method: how they were set."""

    segments: pd.DataFrame
    thresholds: dict[str, float]
    method: str


def load_segment_actions(path: Path = SEGMENT_ACTIONS_SEED) -> pd.DataFrame:
    """The seed indexed by (segment_scheme, segment_code), checked: every segment the code
    can produce has exactly one row, actions are among `ACTIONS`, and an action has the same
    labels wherever it appears."""
    path = Path(path)
    frame = read_seed(path, ["segment_scheme", "segment_code", *LABEL_COLUMNS])
    unknown = frame.loc[~frame["action_code"].isin(ACTIONS)]
    if len(unknown):
        row = unknown.iloc[0]
        raise ValueError(
            f"{path.name}: segment {row['segment_code']!r} has action {row['action_code']!r}; "
            f"use one of {', '.join(ACTIONS)}"
        )
    keys = frame[["segment_scheme", "segment_code"]].apply(tuple, axis=1)
    if keys.duplicated().any():
        raise ValueError(f"{path.name}: segment {keys[keys.duplicated()].iloc[0]} appears twice")
    for scheme, segments in SCHEMES.items():
        for code in segments.values():
            if (scheme, code) not in set(keys):
                raise ValueError(f"{path.name}: no row for segment {code!r} of scheme {scheme!r}")
    labels = frame.groupby("action_code")[["action_en", "action_zh"]].nunique()
    inconsistent = labels.index[(labels > 1).any(axis=1)]
    if len(inconsistent):
        raise ValueError(f"{path.name}: action {inconsistent[0]!r} has different labels")
    return frame.set_index(["segment_scheme", "segment_code"])


def _label(codes: pd.Series, scheme: str, actions: pd.DataFrame | None) -> pd.DataFrame:
    actions = load_segment_actions() if actions is None else actions
    table = actions.xs(scheme, level="segment_scheme")[LABEL_COLUMNS]
    labelled = table.reindex(codes.fillna("").to_numpy())
    labelled.index = codes.index
    labelled.insert(0, "segment_code", codes)
    return labelled


def _segment_codes(
    scheme: dict[tuple[bool, ...], str], highs: list[pd.Series], known: pd.Series
) -> pd.Series:
    """Each row's segment code from its high/low flags (`scheme`'s keys, in the order of
    `highs`), missing where `known` is false; one table lookup for all rows: the flags are
    read as the bits of a position in the scheme's codes."""
    table = np.array(
        [
            scheme[tuple(bool(position >> bit & 1) for bit in reversed(range(len(highs))))]
            for position in range(2 ** len(highs))
        ],
        dtype=object,
    )
    position = np.zeros(len(known), dtype=np.int64)
    for high in highs:
        position = position * 2 + high.to_numpy(dtype=bool)
    codes = np.where(known.to_numpy(dtype=bool), table[position], None)
    return pd.Series(codes, index=known.index, dtype=object)


def _threshold(values: pd.Series, threshold: float | str | None, name: str) -> float:
    if threshold is None or threshold == "median":
        return float(values.median())
    if threshold == "mean":
        return float(values.mean())
    if isinstance(threshold, str):
        raise ValueError(f"{name} threshold must be a number, 'median' or 'mean'")
    return float(threshold)


def value_loyalty_segments(
    value: pd.Series,
    loyalty: pd.Series,
    *,
    value_threshold: float | str | None = "median",
    loyalty_threshold: float | str | None = "median",
    actions: pd.DataFrame | None = None,
) -> SegmentResult:
    """Value × loyalty quadrants (H6). A customer is *high* on a dimension when its score is
    strictly above the threshold: the median of the base by default (median split), or a
    number, e.g. `loyalty_threshold=75` for "green band is high" with the default bands.
    Customers with a missing value or loyalty are left unsegmented (missing code)."""
    frame = pd.concat({"value": value, "loyalty": loyalty}, axis=1).astype(float)
    cut_value = _threshold(frame["value"], value_threshold, "value")
    cut_loyalty = _threshold(frame["loyalty"], loyalty_threshold, "loyalty")
    codes = _segment_codes(
        VALUE_LOYALTY_SEGMENTS,
        [frame["value"] > cut_value, frame["loyalty"] > cut_loyalty],
        frame.notna().all(axis=1),
    )
    return SegmentResult(
        segments=_label(codes, "value_loyalty", actions),
        thresholds={"value": cut_value, "loyalty": cut_loyalty},
        method=f"value {value_threshold} split, loyalty {loyalty_threshold} split; high = above",
    )


def rfm_scores(
    recency_days: pd.Series, frequency: pd.Series, monetary: pd.Series, bins: int = 5
) -> pd.DataFrame:
    """RFM scores 1..`bins` per customer by percentile rank (ties share their average rank):
    score = ceil(rank / n × bins). Recency is scored in reverse: the most recent buyer gets
    the top score."""
    frame = pd.concat(
        {"recency": -recency_days, "frequency": frequency, "monetary": monetary}, axis=1
    ).astype(float)
    ranks = frame.rank(method="average", pct=True)
    scores = np.ceil(ranks * bins).clip(lower=1, upper=bins).astype("Int64")
    scores.columns = ["recency_score", "frequency_score", "monetary_score"]
    return scores


def rfm_segments(
    recency_days: pd.Series,
    frequency: pd.Series,
    monetary: pd.Series,
    *,
    split: str = "mean",
    actions: pd.DataFrame | None = None,
) -> SegmentResult:
    """The eight RFM segments, each with its action from the seed.

    R is high when days since the last purchase are *below* the split, F and M when above it;
    the split is the base's `mean` (the classic model) or `median`.
    """
    if split not in ("mean", "median"):
        raise ValueError(f"split must be 'mean' or 'median', got {split!r}")
    frame = pd.concat({"r": recency_days, "f": frequency, "m": monetary}, axis=1).astype(float)
    cuts = {key: _threshold(frame[key], split, key) for key in ("r", "f", "m")}
    codes = _segment_codes(
        RFM_SEGMENTS,
        [frame["r"] < cuts["r"], frame["f"] > cuts["f"], frame["m"] > cuts["m"]],
        frame.notna().all(axis=1),
    )
    return SegmentResult(
        segments=_label(codes, "rfm", actions),
        thresholds={
            "recency_days": cuts["r"],
            "frequency": cuts["f"],
            "monetary": cuts["m"],
        },
        method=f"rfm {split} split",
    )


def segment_migration(before: pd.Series, after: pd.Series) -> pd.DataFrame:
    """Transition counts between two periods' segments (one code per customer id).

    A customer present in only one period migrates from or to `absent`; a customer present
    but not segmentable (missing code) counts as `unsegmented`. Returns one row per observed
    (from_segment, to_segment) with `customers`; pivot it for a matrix.
    """
    frame = pd.concat({"from_segment": before, "to_segment": after}, axis=1)
    for column, series in (("from_segment", before), ("to_segment", after)):
        present = frame.index.isin(series.index)
        frame[column] = frame[column].where(~present | frame[column].notna(), UNSEGMENTED)
        frame[column] = frame[column].where(present, ABSENT)
    counts = frame.groupby(["from_segment", "to_segment"]).size().rename("customers")
    return counts.reset_index()


@dataclass(frozen=True)
class LoyaltyExtraRevenue:
    """F10: revenue of the top loyalty band above what the base's average would give.

    extra_revenue_cny = top_revenue_cny − top_customers × base_average_revenue_cny
                      = top_customers × (top_average − base_average).
    """

    top_band: str
    customers: int
    top_customers: int
    revenue_cny: float
    top_revenue_cny: float
    base_average_revenue_cny: float
    top_average_revenue_cny: float
    extra_per_customer_cny: float
    extra_revenue_cny: float
    method: str = "top band revenue minus top-band customers x average revenue of all customers"
    details: dict[str, float] = field(default_factory=dict)


def loyalty_extra_revenue(
    revenue: pd.Series, loyalty_band: pd.Series, top_band: str = "green"
) -> LoyaltyExtraRevenue:
    """F10 per the seed-003 definition. The base is every customer in `revenue` (including
    the loyal ones); a customer whose band is missing is in the base but not in the top band.
    Revenue must be known for every customer (0 for none): a missing revenue raises."""
    amounts = pd.to_numeric(revenue, errors="raise").astype(float)
    if amounts.isna().any():
        raise ValueError("loyalty_extra_revenue: revenue is missing for some customers")
    if len(amounts) == 0:
        raise ValueError("loyalty_extra_revenue: no customers")
    bands = loyalty_band.reindex(amounts.index)
    is_top = (bands == top_band).to_numpy()
    top_customers = int(is_top.sum())
    base_average = float(amounts.mean())
    top_revenue = float(amounts[is_top].sum())
    top_average = top_revenue / top_customers if top_customers else float("nan")
    extra_per_customer = top_average - base_average if top_customers else 0.0
    return LoyaltyExtraRevenue(
        top_band=top_band,
        customers=int(len(amounts)),
        top_customers=top_customers,
        revenue_cny=float(amounts.sum()),
        top_revenue_cny=top_revenue,
        base_average_revenue_cny=base_average,
        top_average_revenue_cny=top_average,
        extra_per_customer_cny=extra_per_customer,
        extra_revenue_cny=top_revenue - top_customers * base_average,
    )
