"""Churn early warning (METRICS H4) and its backtest (H5): scikit-learn on the features SQL
computed.

No Dagster: a thin asset reads the warehouse, calls these, and writes the three tables.

    con = duckdb.connect(warehouse_path, read_only=True)
    data = load_churn_data(con)                        # the dbt model features_churn

    # train on the backtest cutoffs (closed label windows), score as_of
    frames = training_frames(data)                     # {cutoff: keys, features, churned}
    rows = pd.concat(frames.values())
    model = train(rows.drop(columns="churned"), rows[["customer_key", "cutoff", "churned"]])
    warning = early_warning(model, data.scoring(), value=clv_by_key, lost=data.lost())

    # backtest
    p_alive = pareto_p_alive(data, data.cutoffs)       # optional benchmark
    metrics, reliability = backtest(frames, window_days=180, p_alive=p_alive)

What each step does (details in the modules):
- `load_churn_data(con)` → `ChurnData`: the rows of `features_churn` (one per cutoff and
  customer, integer `customer_key`s): the population at each cutoff (the spine's activity
  rule, `activity_window_days`, judged at the end of the day before the cutoff) with the
  features from rows dated strictly before it, the label (churned = a churn record, or a
  churned month in the spine ending, in the days cutoff .. cutoff + churn_window_days), the
  activity rule's `is_lost_by_activity_rule`, and every buyer's invoice days for the
  Pareto/NBD benchmark. Cutoffs: the backtest ones and as_of + 1 day (scored). `features`:
  those of `FEATURE_NAMES` whose source table is not empty up to as_of. `churn_data(...)`
  builds one from DataFrames with the model's columns.
- `FEATURES` gives each feature's description, risk direction and reason label
  ("purchase frequency falling / 购买频率下降").
- `train(features, labels)` → `ChurnModel`: calibrated logistic regression and gradient
  boosting (sigmoid calibration by default), the one with the lower held-out log-loss is
  `chosen`; `score`, `contributions`, `reasons` (top 3 with value and log-odds
  contribution; additive for logistic, perturbation for gbm).
- `early_warning(model, features, value, lost=...)`: the `churn_early_warning` rows
  (customer_key, cutoff, risk, risk_band, value, value_at_risk = risk × value,
  is_lost_by_activity_rule, rank, reason_1..3 and their contributions), ranked by
  value_at_risk with the customers lost by the activity rule after the others; every
  customer at or above `ALERT_RISK` has a reason. `tables.compute_tables` names them by
  customer_id for the published table.
- `backtest(...)` → `Backtest(metrics, reliability)`: rolling origin over the cutoffs; AUC,
  PR-AUC, Brier and margins over the recency baseline for model_logistic, model_gbm,
  recency_baseline and pareto_p_alive (when given); a reliability table per method.
"""

from .backtest import (
    Backtest,
    average_precision,
    backtest,
    brier_score,
    pareto_p_alive,
    reliability_table,
    roc_auc,
    training_frames,
)
from .features import (
    DEFAULT_WINDOW_DAYS,
    EXTRA_FEATURES,
    FEATURE_NAMES,
    FEATURES,
    KEYS,
    Feature,
    feature_catalogue,
)
from .model import (
    ALERT_RISK,
    BASELINE_REASON,
    METHODS,
    RISK_BANDS,
    ChurnModel,
    contributions,
    early_warning,
    reasons,
    risk_band,
    score,
    train,
)
from .sources import ChurnData, churn_data, load_churn_data

__all__ = [
    "ALERT_RISK",
    "BASELINE_REASON",
    "DEFAULT_WINDOW_DAYS",
    "EXTRA_FEATURES",
    "FEATURES",
    "FEATURE_NAMES",
    "METHODS",
    "RISK_BANDS",
    "KEYS",
    "Backtest",
    "ChurnData",
    "ChurnModel",
    "Feature",
    "average_precision",
    "backtest",
    "brier_score",
    "churn_data",
    "contributions",
    "early_warning",
    "feature_catalogue",
    "load_churn_data",
    "pareto_p_alive",
    "reasons",
    "reliability_table",
    "risk_band",
    "roc_auc",
    "score",
    "train",
    "training_frames",
]
