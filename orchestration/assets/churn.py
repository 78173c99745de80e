"""Churn early warning (METRICS H4) and its backtest (H5) as warehouse assets, computed by
`orchestration.churn` from the dbt model `features_churn` (features, population and labels
in SQL, one row per cutoff and customer) and the CLV.

- Cutoffs (in `features_churn`) are month starts `churn_cutoff_spacing_months` (6) apart,
  going back from the latest one whose label window (`churn_window_days`, 180) has closed by
  as_of, at most `churn_cutoffs` (5); a cutoff needs a year of orders before it. dbt vars,
  which this asset reads through `settings.dbt_var`, so the two cannot disagree.
- The population and the labels follow the dbt var `activity_window_days`, as the spine does.
- The scoring model is trained on those cutoffs (at most `WH_CHURN_MAX_TRAINING_ROWS`
  customer-cutoff rows, default 60,000, drawn by whole customers; 0 = every row) and
  scores each customer active at as_of (features from rows dated up to as_of); value = the
  customer's CLV on margin (`customer_clv.clv_margin_cny`) where the CLV table has it, else
  `clv_cny` (`value_basis` names the column); the list ranks by value at risk, with the
  customers the activity rule is about to call lost flagged and ranked after the others.
- The backtest is rolling-origin over the same cutoffs (train on earlier, test on later):
  the model, the recency-only baseline and Pareto/NBD P(alive), with AUC, PR-AUC, Brier and
  a reliability table.
"""

import datetime as dt
from importlib import import_module

import pandas as pd
import sklearn
from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    MaterializeResult,
    ResourceParam,
    multi_asset,
)
from dagster_dbt import get_asset_key_for_model
from dagster_duckdb import DuckDBResource

from ..churn import load_churn_data
from ..churn.tables import ChurnFit, compute_tables, fit_churn, value_column
from ..fitcache import (
    FIT_COLUMN_DOCS,
    FitCache,
    cached_fit,
    code_version,
    fingerprint,
    period_of,
    refit_requested,
    with_fit_columns,
)
from ..settings import Settings
from ._io import ANALYTICS_SCHEMA, write_analytics_table
from .dbt import relation_name, warehouse_dbt_assets
from .publish import bi_metadata

GROUP = "churn"
TABLES = {
    "churn_early_warning": "H4: every customer active at as_of with the calibrated churn risk "
    "in the next window, risk band, value (margin CLV where available, value_basis), value at "
    "risk = risk x value, whether the activity rule is about to call the customer lost, rank "
    "by value at risk (those lost after the others), and the top three reasons that raised "
    "the score with their contributions. No personal data.",
    "early_warning_backtest": "H5: AUC, PR-AUC and Brier score per historical cutoff for the "
    "model (logistic, gradient boosting), the recency-only baseline and Pareto/NBD P(alive), "
    "with the model's margin over the baseline.",
    "early_warning_reliability": "H5: predicted against observed churn by probability bin, "
    "per cutoff and method.",
}
_REASON_DOCS = {
    f"reason_{k}": f"The {n} reason that raised the risk most, in English / Chinese (empty "
    "for a customer no feature raised)."
    for k, n in ((1, "first"), (2, "second"), (3, "third"))
} | {
    f"reason_{k}_contribution": f"reason_{k}'s contribution to the log-odds of churn."
    for k in (1, 2, 3)
}
_BACKTEST_KEY_DOCS = {
    "cutoff": "The historical cutoff scored: features from before it, churn in the window_days "
    "after it.",
    "method": "model_logistic, model_gbm, recency_baseline or pareto_p_alive.",
}
COLUMN_DOCS: dict[str, dict[str, str]] = {
    "churn_early_warning": {
        "customer_id": "The customer (active at as_of).",
        "cutoff": "The day the risk is scored from (as_of): features from rows before it.",
        "risk": "Calibrated probability (0-1) that the customer churns in the next window_days.",
        "risk_band": "high (risk >= 0.30), medium (>= 0.10) or low.",
        "value": "The customer's value in CNY: CLV on margin where available, else on revenue "
        "(value_basis).",
        "value_at_risk": "risk x value, CNY.",
        "is_lost_by_activity_rule": "The activity rule (open contract or an invoice in the "
        "last activity_window_days) is about to call the customer lost.",
        "rank": "Rank by value_at_risk, 1 = largest; customers lost by the activity rule after "
        "the others.",
        **_REASON_DOCS,
        "as_of": "The reporting date.",
        "model": "The model that scored: the calibrated logistic regression or gradient "
        "boosting with the lower held-out log-loss.",
        "window_days": "Days after the cutoff in which churn is predicted (dbt var "
        "churn_window_days).",
        "activity_window_days": "The activity rule's window (dbt var activity_window_days).",
        "value_basis": "The customer_clv column value comes from (clv_margin_cny or clv_cny).",
        **FIT_COLUMN_DOCS,
    },
    "early_warning_backtest": {
        **_BACKTEST_KEY_DOCS,
        "n": "Customers active at the cutoff.",
        "positives": "Of them, customers who churned in the window.",
        "auc": "ROC AUC of the method's score against churn (0.5 = chance).",
        "pr_auc": "Average precision (area under the precision-recall curve).",
        "brier": "Brier score: mean squared error of the predicted probability (lower is better).",
        "auc_margin_over_recency": "auc minus the recency baseline's auc at the same cutoff.",
        "pr_auc_margin_over_recency": "pr_auc minus the recency baseline's pr_auc.",
        "is_chosen": "The model the published early warning uses.",
        "trained_on": "The earlier cutoffs the method was trained on, comma-separated.",
        "as_of": "The reporting date of the run.",
        **FIT_COLUMN_DOCS,
    },
    "early_warning_reliability": {
        **_BACKTEST_KEY_DOCS,
        "bin": "Probability bin, 0 = [0, 0.1), 1 = [0.1, 0.2), ...",
        "bin_lower": "Lower bound of the bin.",
        "bin_upper": "Upper bound of the bin.",
        "mean_predicted": "Mean predicted probability of the customers in the bin.",
        "observed_rate": "Share of them who churned in the window.",
        "n": "Customers in the bin.",
        "as_of": "The reporting date of the run.",
        **FIT_COLUMN_DOCS,
    },
}
# Why a table may be empty; the publish step refuses an empty table without one.
EMPTY_REASONS = {
    "churn_early_warning": "no model could be trained: too little history or no churner "
    "before as_of (the run's notes say which).",
    "early_warning_backtest": "too few historical cutoffs or churners to backtest on.",
    "early_warning_reliability": "too few historical cutoffs or churners to backtest on.",
}
INPUT_MODELS = ("features_churn",)


# The modules whose code makes a churn fit: a change to any of them fits again.
FIT_MODULES = (
    *(f"orchestration.churn.{m}" for m in ("features", "model", "backtest", "sources", "tables")),
    "orchestration.metrics",
    "orchestration.clv.paretonbd",
)


def training_data_query() -> str:
    """The rows a churn fit learns from: `features_churn` at the backtest cutoffs (features,
    labels, invoice days), without as_of_on, which moves every day."""
    from ..churn.features import FEATURE_NAMES

    return (
        "select cutoff_on, customer_key, customer_id, is_active_at_cutoff, "
        "label_window_end_on, is_churned_in_window, invoice_day_count, first_invoiced_on, "
        f"last_invoiced_on, {', '.join(FEATURE_NAMES)} "
        f"from {relation_name('features_churn')} where not is_scoring_cutoff"
    )


def window_days(settings: Settings) -> int:
    """The label window (dbt var `churn_window_days`, default 180): the days after a cutoff
    in which churn is predicted, as `features_churn` labels them."""
    return int(settings.dbt_var("churn_window_days"))


def churn_fit_key(
    cutoffs: list, window: int, max_rows: int | None, as_of_on: dt.date, settings: Settings
) -> str:
    """The cache key of a churn fit: its cutoffs and the settings that change it; with a
    cadence finer than monthly (WH_CHURN_REFIT) also the day or week of as_of. Monthly, the
    cutoffs themselves move once a month."""
    cadence = settings.churn_refit_cadence
    key = (
        f"cutoffs={','.join(str(pd.Timestamp(c).date()) for c in cutoffs)}|window={window}"
        f"|max_rows={max_rows}|activity_window={settings.activity_window_days}"
    )
    return key if cadence == "monthly" else f"{key}|{period_of(as_of_on, cadence)}"


@multi_asset(
    specs=[
        AssetSpec(
            [ANALYTICS_SCHEMA, name],
            group_name=GROUP,
            kinds={"python", "scikitlearn", "duckdb"},
            description=description,
            metadata=bi_metadata(COLUMN_DOCS[name], EMPTY_REASONS.get(name)),
            deps=[
                *(get_asset_key_for_model([warehouse_dbt_assets], m) for m in INPUT_MODELS),
                AssetKey([ANALYTICS_SCHEMA, "customer_clv"]),
            ],
        )
        for name, description in TABLES.items()
    ],
)
def churn_assets(
    context: AssetExecutionContext, duckdb: DuckDBResource, settings: ResourceParam[Settings]
):
    window = window_days(settings)
    with duckdb.get_connection() as con:
        data = load_churn_data(con)
        table = f"{ANALYTICS_SCHEMA}.customer_clv"
        basis = value_column(list(con.execute(f"select * from {table} limit 0").df().columns))
        clv = con.execute(f"select customer_id, {basis} as value from {table}").df()
    built_window = data.window_days()
    if built_window not in (None, window):
        raise ValueError(
            f"features_churn was built with {built_window}-day label windows, the dbt var "
            f"churn_window_days says {window}: run dbt again"
        )
    max_rows = settings.churn_max_training_rows or None  # 0: every row
    cutoffs = data.cutoffs
    as_of_day = data.as_of
    context.log.info(
        f"churn early warning as of {data.as_of.date()}: cutoffs "
        f"{[str(c.date()) for c in data.cutoffs]}, activity window {settings.activity_window_days} "
        f"days, value {basis}, training on at most {max_rows or 'all'} rows"
    )
    with duckdb.get_connection() as con:
        fitted, info = cached_fit(
            FitCache(con, refit=refit_requested(context.run.tags, settings.refit_all)),
            model="churn",
            key=churn_fit_key(cutoffs, window, max_rows, as_of_day.date(), settings),
            version=code_version(
                [import_module(m) for m in FIT_MODULES],
                extra=[sklearn.__version__],
            ),
            data_through=as_of_day.date(),
            fingerprint_through=lambda _day: fingerprint(con, [training_data_query()]),
            fitted_as_of=as_of_day.date(),
            fitted_on=f"cutoffs {', '.join(str(c.date()) for c in cutoffs) or 'none'}",
            fit=lambda: fit_churn(data, window, max_rows),
            dump=ChurnFit.parts,
            load=ChurnFit.from_parts,
        )
    context.log.info(
        f"churn model {'reused from the fit of' if info.reused_from_cache else 'fitted'} "
        f"{info.fitted_at:%Y-%m-%d %H:%M} (as of {info.fitted_as_of}) on {info.fitted_on}"
    )
    tables = compute_tables(
        data, window, clv, basis, max_rows, settings.activity_window_days, fitted
    )
    if tables.scored:
        context.log.info(tables.scored)
    for note in tables.notes:
        context.log.warning(note)
    notes, frames = tables.notes, tables.frames
    with duckdb.get_connection() as con:
        for name, frame in frames.items():
            rows = write_analytics_table(con, name, with_fit_columns(frame, info))
            yield MaterializeResult(
                asset_key=[ANALYTICS_SCHEMA, name],
                metadata={
                    "rows": rows,
                    "as_of": str(data.as_of.date()),
                    "notes": "; ".join(notes),
                },
            )
