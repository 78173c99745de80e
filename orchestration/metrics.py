"""Metrics of scores against outcomes, shared by the churn backtest and the index backtest.

Written in numpy (checked against scikit-learn in tests/test_metrics.py and tests/test_churn.py):
- `roc_auc`: ROC AUC by ranks (Mann–Whitney), ties counting half; strict (0/1 labels, no
  missing score, both classes, else ValueError), for the churn backtest;
- `rank_auc`: the same AUC, lenient: an outcome other than 1 counts negative, NaN without
  both classes, for the index backtest;
- `average_precision`: PR-AUC as scikit-learn's step-wise sum of recall gain × precision;
- `brier_score`: mean squared difference between the probability and the outcome;
- `reliability_table`: equal-width probability bins, mean predicted against observed rate;
- `spearman`: Spearman's rank correlation (Pearson's on average ranks).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import rankdata

RELIABILITY_BINS = 10


def _binary(y: object, s: object) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y, dtype=float)
    s = np.asarray(s, dtype=float)
    if y.shape != s.shape or y.ndim != 1:
        raise ValueError("labels and scores must be 1-d and of the same length")
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError("labels must be 0 or 1")
    if np.isnan(s).any():
        raise ValueError("scores must not be missing")
    return y, s


def _both_classes(y: np.ndarray) -> None:
    if y.sum() == 0 or y.sum() == y.size:
        raise ValueError("AUC and PR-AUC need at least one churner and one non-churner")


def _mann_whitney_auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """(sum of the positives' average ranks − n₊(n₊+1)/2) / (n₊ n₋)."""
    n_positive = int(positive.sum())
    n_negative = positive.size - n_positive
    ranks = rankdata(scores)
    return float(
        (ranks[positive].sum() - n_positive * (n_positive + 1) / 2) / (n_positive * n_negative)
    )


def roc_auc(y: object, s: object) -> float:
    """Probability that a random positive (churner) scores above a random negative (ties:
    half). Labels must be 0 or 1 with both present, scores known."""
    y, s = _binary(y, s)
    _both_classes(y)
    return _mann_whitney_auc(s, y == 1)


def rank_auc(scores: object, outcome: object) -> float:
    """ROC AUC by ranks: the probability that a random positive (outcome 1) outranks a random
    negative (any other outcome), ties counting half; NaN without both classes."""
    positive = np.asarray(outcome, dtype=float) == 1.0
    if positive.all() or not positive.any():
        return float("nan")
    return _mann_whitney_auc(np.asarray(scores, dtype=float), positive)


def average_precision(y: object, s: object) -> float:
    """PR-AUC as average precision: sum over score thresholds of (recall gain) × precision."""
    y, s = _binary(y, s)
    _both_classes(y)
    order = np.argsort(-s, kind="mergesort")
    s, y = s[order], y[order]
    last_of_threshold = np.r_[np.flatnonzero(np.diff(s)), s.size - 1]
    true_positives = np.cumsum(y)[last_of_threshold]
    flagged = last_of_threshold + 1
    precision = true_positives / flagged
    recall = true_positives / y.sum()
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def brier_score(y: object, p: object) -> float:
    """Mean squared difference between the probability and the outcome."""
    y, p = _binary(y, p)
    if ((p < 0) | (p > 1)).any():
        raise ValueError("probabilities must lie in [0, 1]")
    return float(np.mean((p - y) ** 2))


def reliability_table(y: object, p: object, bins: int = RELIABILITY_BINS) -> pd.DataFrame:
    """Equal-width bins of the predicted probability (bin k holds [k/bins, (k+1)/bins), the
    last one includes 1): bin, bin_lower, bin_upper, mean_predicted, observed_rate, n.
    Empty bins are left out."""
    y, p = _binary(y, p)
    which = np.minimum(np.floor(p * bins).astype(int), bins - 1)
    frame = pd.DataFrame({"bin": which, "p": p, "y": y})
    table = frame.groupby("bin").agg(
        mean_predicted=("p", "mean"), observed_rate=("y", "mean"), n=("y", "size")
    )
    table = table.reset_index()
    table.insert(1, "bin_lower", table["bin"] / bins)
    table.insert(2, "bin_upper", (table["bin"] + 1) / bins)
    return table


def spearman(x: object, y: object) -> float:
    """Spearman's rank correlation (Pearson's on average ranks); NaN when either is constant
    or there are fewer than three pairs."""
    a, b = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(a) < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(np.corrcoef(rankdata(a), rankdata(b))[0, 1])
