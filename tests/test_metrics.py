"""orchestration.metrics on examples computed by hand (and against scikit-learn / scipy)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from orchestration.metrics import (
    average_precision,
    brier_score,
    rank_auc,
    reliability_table,
    roc_auc,
    spearman,
)

Y = [0, 0, 1, 1]
S = [0.1, 0.4, 0.35, 0.8]


def test_auc_by_ranks():
    # ranks 1, 3, 2, 4: the positives' ranks sum to 6; (6 - 2 * 3 / 2) / (2 * 2) = 0.75
    assert roc_auc(Y, S) == 0.75 == rank_auc(S, Y)
    assert roc_auc(Y, S) == roc_auc_score(Y, S)
    # a tie between a positive and a negative counts half: (0.5 + 1 + 2) / 4 = 0.875
    y_tie, s_tie = [0, 1, 0, 1], [0.5, 0.5, 0.2, 0.9]
    assert roc_auc(y_tie, s_tie) == 0.875 == rank_auc(s_tie, y_tie)
    assert roc_auc([1, 1, 0], [0.9, 0.8, 0.1]) == 1.0
    assert roc_auc([0, 0, 1], [0.9, 0.8, 0.1]) == 0.0


def test_rank_auc_is_lenient_roc_auc_is_strict():
    # an unknown outcome counts negative; one class only gives NaN
    assert rank_auc(pd.Series(S), pd.Series([np.nan, 0, 1, 1])) == 0.75
    assert math.isnan(rank_auc([0.1, 0.2], [1, 1]))
    assert math.isnan(rank_auc([0.1, 0.2], [0, 0]))
    assert math.isnan(rank_auc([], []))
    with pytest.raises(ValueError, match="churner"):
        roc_auc([0, 0], [0.1, 0.2])
    with pytest.raises(ValueError, match="0 or 1"):
        roc_auc([0, 2], [0.1, 0.2])
    with pytest.raises(ValueError, match="missing"):
        roc_auc([0, 1], [0.1, np.nan])
    with pytest.raises(ValueError, match="same length"):
        roc_auc([0, 1], [0.1])


def test_average_precision():
    # by score: 0.8 (churner), 0.4, 0.35 (churner), 0.1; recall 0.5 at precision 1, then
    # recall 1 at precision 2 / 3: 0.5 * 1 + 0.5 * 2 / 3
    assert average_precision(Y, S) == pytest.approx(0.5 + 0.5 * 2 / 3)
    assert average_precision(Y, S) == pytest.approx(average_precision_score(Y, S))
    # tied scores form one threshold: both flagged together, precision 1 / 2, recall 1
    assert average_precision([0, 1], [0.5, 0.5]) == 0.5


def test_brier_score():
    p = [0.1, 0.9, 0.8, 0.4]
    assert brier_score([0, 1, 1, 0], p) == pytest.approx((0.01 + 0.01 + 0.04 + 0.16) / 4)
    assert brier_score([0, 1, 1, 0], p) == pytest.approx(brier_score_loss([0, 1, 1, 0], p))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        brier_score([0, 1], [0.5, 1.5])


def test_reliability_table():
    # bins of width 0.1: 0.05 -> 0, 0.15 -> 1, 0.95 and 1.0 -> 9 (the last bin includes 1)
    table = reliability_table([0, 1, 1, 0], [0.05, 0.15, 0.95, 1.0])
    assert table["bin"].tolist() == [0, 1, 9]
    assert table["bin_lower"].tolist() == [0.0, 0.1, 0.9]
    assert table["bin_upper"].tolist() == [0.1, 0.2, 1.0]
    assert table["n"].tolist() == [1, 1, 2]
    assert table["mean_predicted"].tolist() == pytest.approx([0.05, 0.15, 0.975])
    assert table["observed_rate"].tolist() == [0.0, 1.0, 0.5]


def test_spearman():
    assert spearman([1, 2, 3, 4], [10, 20, 30, 45]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    # y's ranks 1, 2, 3.5, 5, 3.5 against 1..5: sum of products of deviations 8,
    # sums of squares 10 and 9.5: 8 / sqrt(95)
    x, y = [1, 2, 3, 4, 5], [5, 6, 7, 8, 7]
    assert spearman(x, y) == pytest.approx(8 / math.sqrt(95))
    assert spearman(x, y) == pytest.approx(spearmanr(x, y).statistic)
    assert math.isnan(spearman([1, 2], [3, 4]))  # fewer than three pairs
    assert math.isnan(spearman([1, 1, 1], [1, 2, 3]))  # constant
