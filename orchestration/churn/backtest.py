"""Backtest of the early warning over historical cutoffs (METRICS H4, H5), and its metrics.

Rolling origin: cutoffs are taken in order; each is evaluated by a model trained on every
earlier cutoff whose label window has closed before it (cutoff_j + window_days < cutoff_i),
so no row of the evaluation window, nor any day after the evaluated cutoff, reaches the
training. The first cutoffs, with nothing closed before them, only train.

Methods scored at every evaluated cutoff, on the same customers:
- model_logistic, model_gbm: the calibrated classifiers of `train` (`is_chosen` marks the
  one `train` picked on its held-out customers);
- recency_baseline: days since the last order alone. AUC and PR-AUC rank the days
  themselves; Brier and the reliability table use a Platt map (logistic regression on
  log(1 + days)) fitted on the same training cutoffs;
- pareto_p_alive: 1 − P(alive) as the churn probability, when the caller passes P(alive)
  for that cutoff (`pareto_p_alive` computes it from the orders); skipped otherwise. It is
  not calibrated to the window, so read its Brier with that in mind.

Metrics come from `orchestration.metrics` (numpy, checked against scikit-learn in the
tests): AUC with ties counted half, PR-AUC as average precision (scikit-learn's step-wise
sum, no interpolation), Brier score, and a reliability table of equal-width probability bins.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import NamedTuple

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from ..clv import paretonbd
from ..clv._common import time_unit_days
from ..metrics import (
    RELIABILITY_BINS,
    average_precision,
    brier_score,
    reliability_table,
    roc_auc,
)
from .features import DEFAULT_WINDOW_DAYS, KEYS
from .model import METHODS, score, train
from .sources import ChurnData, DateLike, as_day

RECENCY_FEATURE = "days_since_last_order"


def pareto_p_alive(
    data: ChurnData, cutoffs: Iterable[DateLike], window_days: int = DEFAULT_WINDOW_DAYS
) -> pd.DataFrame:
    """Pareto/NBD fitted, per cutoff, on every customer with an invoice before it (weeks,
    the CDNOW conventions of `clv.rfm_summary`: x = invoice days after the first, t_x = the
    last one's age, T = the age at the day before the cutoff): customer_key, cutoff,
    p_alive, expected_purchases (in the next window_days). Usable as the backtest's
    benchmark and as extra features."""
    week = time_unit_days("weeks")
    frames = []
    for cutoff in sorted({as_day(c) for c in cutoffs}):
        buyers = data.buyers.loc[data.buyers["cutoff"] == cutoff]
        if buyers.empty:
            raise ValueError(f"no customer has an invoice before cutoff {cutoff.date()}")
        first = buyers["first_invoiced_on"]
        x = (buyers["invoice_day_count"].to_numpy() - 1).astype(int)
        t_x = (buyers["last_invoiced_on"] - first).dt.days.to_numpy() / week
        age = (cutoff - pd.Timedelta(days=1) - first).dt.days.to_numpy() / week
        params = paretonbd.fit(x, t_x, age)
        frames.append(
            pd.DataFrame(
                {
                    "customer_key": buyers["customer_key"].to_numpy(),
                    "cutoff": cutoff,
                    "p_alive": paretonbd.probability_alive(params, x, t_x, age),
                    "expected_purchases": paretonbd.conditional_expected_purchases(
                        params, window_days / 7.0, x, t_x, age
                    ),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def training_frames(
    data: ChurnData, cutoffs: Iterable[DateLike] | None = None
) -> dict[pd.Timestamp, pd.DataFrame]:
    """Per backtest cutoff (default: all of them), its features and label (`ChurnData.frame`)."""
    cutoffs = data.cutoffs if cutoffs is None else cutoffs
    return {c: data.frame(c) for c in sorted({as_day(c) for c in cutoffs})}


class Backtest(NamedTuple):
    """`metrics`: cutoff, method, n, positives, auc, pr_auc, brier, auc_margin_over_recency,
    pr_auc_margin_over_recency, is_chosen, trained_on. `reliability`: cutoff, method, bin,
    bin_lower, bin_upper, mean_predicted, observed_rate, n."""

    metrics: pd.DataFrame
    reliability: pd.DataFrame


def _recency_map(train_rows: pd.DataFrame) -> LogisticRegression:
    days = np.log1p(train_rows[[RECENCY_FEATURE]].to_numpy(dtype=float))
    return LogisticRegression().fit(days, train_rows["churned"].astype(int))


def _p_alive_at(p_alive: pd.DataFrame, cutoff: pd.Timestamp, customers: pd.Series) -> np.ndarray:
    at = p_alive.loc[pd.to_datetime(p_alive["cutoff"]).dt.normalize() == cutoff]
    at = at.set_index("customer_key")["p_alive"]
    values = at.reindex(customers.to_numpy()).to_numpy(dtype=float)
    if np.isnan(values).any():
        raise ValueError(
            f"p_alive at cutoff {cutoff.date()} lacks {int(np.isnan(values).sum())} of the "
            f"{values.size} active customers"
        )
    return values


def backtest(
    frames: Mapping[DateLike, pd.DataFrame],
    cutoffs: Iterable[DateLike] | None = None,
    window_days: int = DEFAULT_WINDOW_DAYS,
    p_alive: pd.DataFrame | None = None,
    bins: int = RELIABILITY_BINS,
    **train_options: object,
) -> Backtest:
    """Rolling-origin backtest (module docstring) over `frames`, each cutoff's features and
    label (`training_frames`; the early-warning asset builds them once for the scoring model
    and the backtest), on `cutoffs` (default: every cutoff of `frames`). `p_alive`:
    customer_key, cutoff, p_alive (optional benchmark); `train_options` go to `train`."""
    data = {as_day(c): frame for c, frame in frames.items()}
    cutoffs = sorted(data if cutoffs is None else {as_day(c) for c in cutoffs})
    if len(cutoffs) < 2:
        raise ValueError("a backtest needs at least two cutoffs: one to train, one to test")
    missing = [str(c.date()) for c in cutoffs if c not in data]
    if missing:
        raise ValueError(f"frames lack the cutoffs {missing}")
    metric_rows, reliability = [], []
    for cutoff in cutoffs:
        earlier = [c for c in cutoffs if c + pd.Timedelta(days=window_days) < cutoff]
        if not earlier:
            continue
        rows = pd.concat([data[c] for c in earlier], ignore_index=True)
        test = data[cutoff]
        y = test["churned"].astype(int).to_numpy()
        if y.sum() == 0:
            raise ValueError(f"cutoff {cutoff.date()} has no churner in its window: no AUC")
        model = train(rows.drop(columns="churned"), rows[[*KEYS, "churned"]], **train_options)
        features = test.drop(columns="churned")
        recency = _recency_map(rows)
        days = test[[RECENCY_FEATURE]].to_numpy(dtype=float)
        methods = {f"model_{m}": (score(model, features, m).to_numpy(), None) for m in METHODS}
        methods["recency_baseline"] = (
            recency.predict_proba(np.log1p(days))[:, 1],
            days[:, 0],
        )
        if (
            p_alive is not None
            and (pd.to_datetime(p_alive["cutoff"]).dt.normalize() == cutoff).any()
        ):
            dead = 1.0 - _p_alive_at(p_alive, cutoff, test["customer_key"])
            methods["pareto_p_alive"] = (dead, None)
        for method, (probability, ranking) in methods.items():
            ranking = probability if ranking is None else ranking
            metric_rows.append(
                {
                    "cutoff": cutoff,
                    "method": method,
                    "n": int(y.size),
                    "positives": int(y.sum()),
                    "auc": roc_auc(y, ranking),
                    "pr_auc": average_precision(y, ranking),
                    "brier": brier_score(y, probability),
                    "is_chosen": method == f"model_{model.chosen}",
                    "trained_on": ",".join(str(c.date()) for c in earlier),
                }
            )
            table = reliability_table(y, probability, bins)
            table.insert(0, "method", method)
            table.insert(0, "cutoff", cutoff)
            reliability.append(table)
    if not metric_rows:
        raise ValueError(
            f"no cutoff has a training cutoff whose {window_days}-day window closed before it: "
            "space the cutoffs further apart or add earlier ones"
        )
    metrics = pd.DataFrame(metric_rows)
    base = metrics.loc[metrics["method"] == "recency_baseline"].set_index("cutoff")
    for column in ("auc", "pr_auc"):
        metrics[f"{column}_margin_over_recency"] = metrics[column] - metrics["cutoff"].map(
            base[column]
        )
    order = [
        "cutoff",
        "method",
        "n",
        "positives",
        "auc",
        "pr_auc",
        "brier",
        "auc_margin_over_recency",
        "pr_auc_margin_over_recency",
        "is_chosen",
        "trained_on",
    ]
    return Backtest(metrics[order], pd.concat(reliability, ignore_index=True))
