"""Two calibrated classifiers, their reasons, and the ranked early-warning list.

- logistic: median imputation, standardisation, L2 logistic regression;
- gbm: `HistGradientBoostingClassifier` (missing values handled natively), few shallow trees.

Both are wrapped in `CalibratedClassifierCV(ensemble=False)`: the classifier is fitted on
all training rows and a calibration map on its out-of-fold predictions (3 folds, grouped
by customer so that one customer's rows at several cutoffs never sit on both sides).
Sigmoid (Platt) by default: two parameters stay stable with a few hundred churners, where
isotonic regression overfits; `calibration="isotonic"` is there for large training sets.
Because the fitted classifier is the one that scores, its reasons explain the very number
shown.

`train` learns from at most `max_rows` customer-cutoff rows (default `MAX_TRAINING_ROWS`):
above that it keeps a random set of whole customers (all their cutoffs) whose rows add up
to the cap, so the cost of training stops growing with the customer base (at a churn rate
near 8 % the sample still holds thousands of churners); `sampled_from` records how many
rows there were. It holds out a quarter of those customers, fits both, keeps the one with
the lower held-out log-loss as `chosen` (both stay available), then refits both on all the
rows it learns from. With too few churners to hold any back (under 10 in either part),
the logistic model is chosen without that comparison and `validation` records why.

Reasons (`contributions`, `reasons`), in log-odds of the uncalibrated classifier:
- logistic: coefficient × standardised value, i.e. β_j (x_j − mean_j) / sd_j with the
  training mean and sd of the imputed feature (a standardised feature has training mean 0);
  they add up to the log-odds minus the intercept;
- gbm: per-feature perturbation, log-odds(x) − log-odds(x with feature j set to its
  training median). Not additive when features interact, but each says how much that
  feature's value moved this customer's score.
A reason is shown when its contribution is positive and the value lies on the feature's
documented risky side of the training reference (mean for logistic, median for gbm);
missing values give no reason. A customer at or above the alert risk (`ALERT_RISK`, the
"high" band) always gets one: without such a reason, the known feature that raised the
log-odds most (side aside); where none raised it, the risk is the model's baseline (the
log-odds at the training reference, high when churn is common in the whole base) and the
reason says so (`BASELINE_REASON`, its contribution that baseline log-odds).

The list ranks by value at risk (risk × value, the value expected to be lost in the window).
Customers the activity rule is about to call lost (`lost`: no order or contract will keep
them active past the spine's next month close) are flagged and ranked after the others: a
win-back case, reported apart, not an early warning.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from .features import KEYS, Feature, feature_catalogue

METHODS = ("logistic", "gbm")
CALIBRATION_FOLDS = 3
MIN_CLASS_ROWS = 10  # churners (and non-churners) needed to train and calibrate
MIN_KNOWN_SHARE = 0.05  # a feature must be known on this share of the training rows
VALIDATION_SHARE = 0.25
MAX_TRAINING_ROWS = 60_000
GBM_MAX_ITER = 150
TOP_REASONS = 3
# OpenMP threads for the trees: on a few thousand rows one thread is ~6x faster than two
# contended ones on the shared 2-core machine (measured); on 60,000 rows two threads saved
# only ~9 % on an otherwise idle machine (21.5 s against 23.4 s). Results do not depend on it.
THREADS = 1
# (lower bound, band), highest first: 180-day churn risk, against a base rate near 8 %.
RISK_BANDS: tuple[tuple[float, str], ...] = ((0.30, "high"), (0.10, "medium"), (0.0, "low"))
ALERT_RISK = RISK_BANDS[0][0]  # at or above it (the high band) a customer always has a reason
BASELINE_REASON = Feature(
    "baseline", 0, "churn common across the customer base", "客户群整体流失率高",
    "No single feature raised the risk: the model's baseline log-odds (the customer at the "
    "training reference) is high.",
)  # fmt: skip


@dataclass
class ChurnModel:
    """Both calibrated classifiers, which one `train` chose, and what it learnt from."""

    feature_names: list[str]  # the inputs used; all-missing training columns are left out
    calibrated: dict[str, CalibratedClassifierCV]
    chosen: str
    validation: pd.DataFrame  # method, log_loss, brier on the held-out customers
    reference: dict[str, pd.Series]  # per method: the value a reason is measured from
    calibration: str
    training_rows: int
    training_positives: int
    sampled_from: int  # training rows before the `max_rows` sample

    def classifier(self, method: str):
        """The fitted, uncalibrated classifier that scores (a Pipeline for logistic)."""
        return self.calibrated[method].calibrated_classifiers_[0].estimator


def _estimator(method: str, seed: int, gbm_max_iter: int):
    if method == "logistic":
        return Pipeline(
            [
                ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
                ("scale", StandardScaler()),
                ("model", LogisticRegression(C=1.0, max_iter=2000)),
            ]
        )
    if method == "gbm":
        return HistGradientBoostingClassifier(
            learning_rate=0.05,
            max_iter=gbm_max_iter,
            max_leaf_nodes=15,
            min_samples_leaf=40,
            l2_regularization=1.0,
            early_stopping=False,
            random_state=seed,
        )
    raise ValueError(f"unknown method {method!r}; use one of {METHODS}")


def _fit(
    method: str,
    x: pd.DataFrame,
    y: np.ndarray,
    groups: np.ndarray,
    calibration: str,
    seed: int,
    gbm_max_iter: int,
) -> CalibratedClassifierCV:
    folds = StratifiedGroupKFold(n_splits=CALIBRATION_FOLDS, shuffle=True, random_state=seed)
    model = CalibratedClassifierCV(
        _estimator(method, seed, gbm_max_iter),
        method=calibration,
        cv=list(folds.split(x, y, groups)),
        ensemble=False,
    )
    with threadpool_limits(limits=THREADS, user_api="openmp"):
        return model.fit(x, y)


def _check_classes(y: np.ndarray, what: str) -> None:
    positives, negatives = int(y.sum()), int(y.size - y.sum())
    if positives < MIN_CLASS_ROWS or negatives < MIN_CLASS_ROWS:
        raise ValueError(
            f"{what} has {positives} churners and {negatives} non-churners; at least "
            f"{MIN_CLASS_ROWS} of each are needed (more cutoffs, or a longer window?)"
        )


def feature_columns(features: pd.DataFrame) -> list[str]:
    """The model inputs of a features frame: every column but the keys."""
    return [c for c in features.columns if c not in KEYS]


def sample_customers(data: pd.DataFrame, max_rows: int | None, seed: int) -> pd.DataFrame:
    """At most `max_rows` rows of whole customers, drawn at random (seeded); all of them
    when `max_rows` is None or not exceeded. Customers are drawn in a random order and kept
    while their rows fit, so one customer's cutoffs are never split."""
    if max_rows is not None and max_rows < 1:
        raise ValueError(f"max_rows must be at least 1, got {max_rows}")
    if max_rows is None or len(data) <= max_rows:
        return data
    customers, counts = np.unique(data["customer_key"].to_numpy(), return_counts=True)
    order = np.random.default_rng(seed).permutation(customers.size)
    fits = np.cumsum(counts[order]) <= max_rows
    return data.loc[data["customer_key"].isin(customers[order][fits])]


def training_frame(features: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    """Features and labels joined on (customer_key, cutoff); both must hold the same rows."""
    data = features.merge(labels[[*KEYS, "churned"]], on=list(KEYS), how="inner")
    if len(data) != len(features) or len(data) != len(labels):
        raise ValueError(
            f"features ({len(features)} rows) and labels ({len(labels)} rows) do not cover the "
            "same customers and cutoffs: build both from the same sources and cutoffs"
        )
    return data


def train(
    features: pd.DataFrame,
    labels: pd.DataFrame,
    *,
    calibration: str = "sigmoid",
    validation_share: float = VALIDATION_SHARE,
    seed: int = 0,
    gbm_max_iter: int = GBM_MAX_ITER,
    max_rows: int | None = MAX_TRAINING_ROWS,
) -> ChurnModel:
    """Fit both calibrated classifiers on features (one or more cutoffs) and their labels,
    on at most `max_rows` rows of whole customers (None: every row)."""
    available = training_frame(features, labels)
    data = sample_customers(available, max_rows, seed)
    # A feature known for almost no training row (few survey answers yet) carries nothing and
    # can leave a cross-validation fold without a single value: left out below
    # MIN_KNOWN_SHARE of the rows (at least MIN_CLASS_ROWS rows).
    known = max(MIN_CLASS_ROWS, int(MIN_KNOWN_SHARE * len(data)))
    names = [c for c in feature_columns(features) if data[c].notna().sum() >= known]
    x = data[names].astype(float)
    y = data["churned"].astype(int).to_numpy()
    groups = data["customer_key"].to_numpy()
    _check_classes(y, "the training data")

    customers = np.unique(groups)
    rng = np.random.default_rng(seed)
    held = rng.permutation(customers)[: int(round(validation_share * customers.size))]
    is_held = np.isin(groups, held)
    try:
        _check_classes(y[is_held], "the validation customers")
        _check_classes(y[~is_held], "the customers left for fitting")
    except ValueError as exc:
        # Too few churners to hold some back: no choice by validation; the logistic model,
        # the one with fewer parameters, is used, and the validation table says why.
        validation = pd.DataFrame(
            [{"method": "logistic", "log_loss": np.nan, "brier": np.nan, "note": str(exc)}]
        )
        chosen = "logistic"
    else:
        rows = []
        for method in METHODS:
            fitted = _fit(
                method, x[~is_held], y[~is_held], groups[~is_held], calibration, seed, gbm_max_iter
            )
            with threadpool_limits(limits=THREADS, user_api="openmp"):
                p = fitted.predict_proba(x[is_held])[:, 1]
            rows.append(
                {
                    "method": method,
                    "log_loss": log_loss(y[is_held], p, labels=[0, 1]),
                    "brier": float(np.mean((p - y[is_held]) ** 2)),
                }
            )
        validation = pd.DataFrame(rows)
        chosen = str(validation.loc[validation["log_loss"].idxmin(), "method"])

    calibrated = {
        method: _fit(method, x, y, groups, calibration, seed, gbm_max_iter) for method in METHODS
    }
    logistic = calibrated["logistic"].calibrated_classifiers_[0].estimator
    reference = {
        "logistic": pd.Series(logistic.named_steps["scale"].mean_, index=names),
        "gbm": x.median(),
    }
    return ChurnModel(
        feature_names=names,
        calibrated=calibrated,
        chosen=chosen,
        validation=validation,
        reference=reference,
        calibration=calibration,
        training_rows=int(y.size),
        training_positives=int(y.sum()),
        sampled_from=len(available),
    )


def _inputs(model: ChurnModel, features: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in model.feature_names if c not in features]
    if missing:
        raise ValueError(f"features lack the model's inputs {missing}")
    return features[model.feature_names].astype(float)


def score(model: ChurnModel, features: pd.DataFrame, method: str | None = None) -> pd.Series:
    """Calibrated probability of churn in the window, one per features row (same index)."""
    method = method or model.chosen
    with threadpool_limits(limits=THREADS, user_api="openmp"):
        p = model.calibrated[method].predict_proba(_inputs(model, features))[:, 1]
    return pd.Series(p, index=features.index, name="risk")


def contributions(
    model: ChurnModel, features: pd.DataFrame, method: str | None = None
) -> pd.DataFrame:
    """Per row and feature, how much the feature raised the log-odds (rules in the module
    docstring). Same index as `features`, one column per model input."""
    method = method or model.chosen
    x = _inputs(model, features)
    classifier = model.classifier(method)
    if method == "logistic":
        imputed = classifier.named_steps["impute"].transform(x)
        standardised = classifier.named_steps["scale"].transform(imputed)
        values = standardised * classifier.named_steps["model"].coef_[0]
    else:
        values = np.empty(x.shape)
        with threadpool_limits(limits=THREADS, user_api="openmp"):
            base = classifier.decision_function(x)
            for j, name in enumerate(model.feature_names):
                moved = x.copy()
                moved[name] = model.reference["gbm"][name]
                values[:, j] = base - classifier.decision_function(moved)
    return pd.DataFrame(values, index=features.index, columns=model.feature_names)


def reasons(
    model: ChurnModel,
    features: pd.DataFrame,
    method: str | None = None,
    top: int = TOP_REASONS,
    alert_risk: float = ALERT_RISK,
) -> pd.DataFrame:
    """The top reasons that raised each customer's risk, long form: customer_key, cutoff,
    rank (1 = strongest), feature, reason (English / Chinese), value, contribution. Every
    row scored at or above `alert_risk` has at least one (module docstring)."""
    method = method or model.chosen
    contribution = contributions(model, features, method).to_numpy()
    x = _inputs(model, features)
    catalogue = feature_catalogue(model.feature_names)
    direction = np.array([catalogue[n].risk_direction for n in model.feature_names])
    reference = model.reference[method].reindex(model.feature_names).to_numpy()
    side = (x.to_numpy() - reference) * direction
    values = x.to_numpy()
    known = ~np.isnan(values)
    eligible = (contribution > 0) & known & ((direction == 0) | (side > 0))
    # At or above the alert risk, a customer without a reason gets the known feature that
    # raised the log-odds most, whatever its side; with none, the baseline (below).
    alerted = score(model, features, method).to_numpy() >= alert_risk
    raised = np.where(known & (contribution > 0), contribution, -np.inf)
    fallback = alerted & ~eligible.any(axis=1) & np.isfinite(raised.max(axis=1, initial=-np.inf))
    eligible[np.flatnonzero(fallback), raised[fallback].argmax(axis=1)] = True
    row, column = np.nonzero(eligible)
    long = pd.DataFrame(
        {"row": row, "column": column, "contribution": contribution[row, column]}
    ).sort_values(["row", "contribution"], ascending=[True, False], kind="stable")
    long["rank"] = long.groupby("row").cumcount() + 1
    long = long.loc[long["rank"] <= top]
    names = np.array(model.feature_names, dtype=object)
    out = features[list(KEYS)].iloc[long["row"].to_numpy()].reset_index(drop=True)
    out["rank"] = long["rank"].to_numpy()
    out["feature"] = names[long["column"].to_numpy()]
    out["reason"] = out["feature"].map({n: f.reason for n, f in catalogue.items()})
    out["value"] = values[long["row"].to_numpy(), long["column"].to_numpy()]
    out["contribution"] = long["contribution"].to_numpy()
    baseline = np.flatnonzero(alerted & ~eligible.any(axis=1))
    if baseline.size:
        base = features[list(KEYS)].iloc[baseline].reset_index(drop=True)
        base["rank"] = 1
        base["feature"] = BASELINE_REASON.name
        base["reason"] = BASELINE_REASON.reason
        base["value"] = np.nan
        base["contribution"] = baseline_log_odds(model, method)
        out = pd.concat([out, base], ignore_index=True)
    return out


def baseline_log_odds(model: ChurnModel, method: str | None = None) -> float:
    """The uncalibrated log-odds of a customer at the training reference (every feature at
    its training mean for logistic, median for gbm): what no feature explains."""
    method = method or model.chosen
    reference = model.reference[method].reindex(model.feature_names).to_frame().T
    with threadpool_limits(limits=THREADS, user_api="openmp"):
        return float(model.classifier(method).decision_function(reference.astype(float))[0])


def risk_band(risk: pd.Series, bands: tuple[tuple[float, str], ...] = RISK_BANDS) -> pd.Series:
    """The band of each risk: the first band (highest bound first) whose bound it reaches."""
    labels = pd.Series(bands[-1][1], index=risk.index, dtype=object)
    for bound, label in reversed(bands):
        labels = labels.mask(risk >= bound, label)
    return labels


def early_warning(
    model: ChurnModel,
    features: pd.DataFrame,
    value: pd.Series | pd.DataFrame,
    *,
    lost: pd.Series | None = None,
    method: str | None = None,
    bands: tuple[tuple[float, str], ...] = RISK_BANDS,
    top: int = TOP_REASONS,
) -> pd.DataFrame:
    """The `churn_early_warning` table by customer_key: customer_key, cutoff, risk,
    risk_band, value, value_at_risk (risk × value: the value expected to be lost in the window),
    is_lost_by_activity_rule, rank, and reason_k / reason_k_contribution for k = 1..top.
    No personal data: customers by key only.

    Rank within the cutoff: 1 = largest value_at_risk among the customers not lost by the
    activity rule; those flagged lost come after them (in the same order among themselves),
    and a missing value ranks last of its group.

    `value`: per customer (CLV, trailing revenue, ...), a Series indexed by customer_key or
    a DataFrame with customer_key and value columns. `lost`: per customer_key, True when the
    activity rule is about to call them lost (`ChurnData.lost`); missing = False.
    """
    method = method or model.chosen
    if features.duplicated(list(KEYS)).any():
        raise ValueError("features repeat a (customer_key, cutoff)")
    if isinstance(value, pd.DataFrame):
        value = value.set_index("customer_key")["value"]
    value = pd.to_numeric(value, errors="raise").astype(float)
    if value.index.duplicated().any():
        raise ValueError("value repeats customers")
    out = features[list(KEYS)].copy()
    out["risk"] = score(model, features, method)
    out["risk_band"] = risk_band(out["risk"], bands)
    out["value"] = value.reindex(out["customer_key"]).to_numpy()
    out["value_at_risk"] = out["risk"] * out["value"]
    if lost is None:
        out["is_lost_by_activity_rule"] = False
    else:
        lost = lost.astype(bool)
        flags = lost.reindex(out["customer_key"], fill_value=False)
        out["is_lost_by_activity_rule"] = flags.to_numpy()
    out = out.sort_values(
        ["cutoff", "is_lost_by_activity_rule", "value_at_risk", "risk", "customer_key"],
        ascending=[True, True, False, False, True],
        na_position="last",
    )
    out["rank"] = out.groupby("cutoff").cumcount() + 1
    top_reasons = reasons(model, features, method, top)
    for k in range(1, top + 1):
        kth = top_reasons.loc[top_reasons["rank"] == k, [*KEYS, "reason", "contribution"]]
        kth = kth.rename(
            columns={"reason": f"reason_{k}", "contribution": f"reason_{k}_contribution"}
        )
        out = out.merge(kth, on=list(KEYS), how="left")
    return out.reset_index(drop=True)
