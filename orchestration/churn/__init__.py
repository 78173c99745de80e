"""Churn early warning (METRICS H4) and its backtest (H5), in pandas and scikit-learn.

No Dagster: a thin asset reads the warehouse, calls these, and writes the two tables.

    con = duckdb.connect(warehouse_path, read_only=True)
    sources = load_sources(con)                          # staging views, spine, survey facts

    # train on closed windows, score today
    history = [build_features(sources, c) for c in ("2025-01-01", "2025-07-01")]
    labels = [build_labels(sources, c, window_days=180) for c in ("2025-01-01", "2025-07-01")]
    model = train(pd.concat(history), pd.concat(labels))   # ChurnModel
    today = build_features(sources, "2026-11-01")          # rows dated before 2026-11-01
    churn_early_warning = early_warning(model, today, value=clv_by_customer)

    # backtest
    p_alive = pareto_p_alive(sources, cutoffs)             # optional benchmark
    metrics, reliability = backtest(sources, cutoffs, window_days=180, p_alive=p_alive)

What each step does (details in the modules):
- `load_sources(con)` → `Sources`: dim_customers, stg_crm__orders / complaints /
  interactions / contracts / account_assignments / churn_records, fct_survey_answers and
  int_customer_months, only the columns needed (no personal data). `Sources` can also be
  built from DataFrames with the same column names.
- `build_features(sources, cutoff, extra=None)`: one row per customer active at the cutoff
  (the spine's rule — open contract or an invoice within the dbt var `activity_window_days`
  (365), unless a churn record is the latest event — judged at the end of the day before the
  cutoff), from rows dated strictly before the cutoff only. Columns: customer_id, cutoff,
  the `available_features` (those of `FEATURE_NAMES` whose source table is not empty: orders in
  90/180/365 days and their trend, days since the last order, complaints and their trend,
  latest satisfaction and its change, days since the last interaction, manager changed,
  open contract and days to its planned end, tenure) plus the caller's `extra` columns
  (p_alive, expected_purchases, ...). `FEATURES` gives each one's description, risk
  direction and reason label ("purchase frequency falling / 购买频率下降").
- `build_labels(sources, cutoff, window_days=180)`: churned = a churn record, or a churned
  month in the spine ending, in the days cutoff .. cutoff + window_days.
- `train(features, labels)` → `ChurnModel`: calibrated logistic regression and gradient
  boosting (sigmoid calibration by default), the one with the lower held-out log-loss is
  `chosen`; `score`, `contributions`, `reasons` (top 3 with value and log-odds
  contribution; additive for logistic, perturbation for gbm).
- `early_warning(model, features, value, lost=...)`: the `churn_early_warning` table
  (customer_id, cutoff, risk, risk_band, value, value_at_risk = risk × value,
  is_lost_by_activity_rule, rank, reason_1..3 and their contributions), ranked by
  value_at_risk with the customers `lost_by_activity_rule` after the others; every customer
  at or above `ALERT_RISK` has a reason.
- `backtest(...)` → `Backtest(metrics, reliability)`: rolling origin over the cutoffs; AUC,
  PR-AUC, Brier and margins over the recency baseline for model_logistic, model_gbm,
  recency_baseline and pareto_p_alive (when given); a reliability table per method.

Choose month-start cutoffs at least window_days apart; errors name the cutoff when a
cutoff has no active customer, its window runs past the data, or there are too few churners.
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
    FEATURE_SOURCES,
    FEATURES,
    Feature,
    available_features,
    build_features,
    build_labels,
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
from .sources import (
    Sources,
    customer_months,
    is_active_on,
    lapses_on,
    load_sources,
    lost_by_activity_rule,
)

__all__ = [
    "ALERT_RISK",
    "BASELINE_REASON",
    "DEFAULT_WINDOW_DAYS",
    "EXTRA_FEATURES",
    "FEATURES",
    "FEATURE_NAMES",
    "FEATURE_SOURCES",
    "METHODS",
    "RISK_BANDS",
    "Backtest",
    "ChurnModel",
    "Feature",
    "Sources",
    "available_features",
    "average_precision",
    "backtest",
    "brier_score",
    "build_features",
    "build_labels",
    "contributions",
    "customer_months",
    "early_warning",
    "feature_catalogue",
    "is_active_on",
    "lapses_on",
    "load_sources",
    "lost_by_activity_rule",
    "pareto_p_alive",
    "reasons",
    "reliability_table",
    "risk_band",
    "roc_auc",
    "score",
    "train",
    "training_frames",
]
