"""The churn assets' tables from `features_churn` (`ChurnData`): the early-warning list, the
backtest and its reliability table (`compute_tables`). Pure pandas / scikit-learn, no
Dagster, no database: `orchestration.assets.churn` reads the model and the CLV, calls these
and writes the tables (its docstring gives the choices). The tables name customers by
their text id (`customer_id`), as before the integer keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from .backtest import backtest, pareto_p_alive, training_frames
from .model import ChurnModel, early_warning, train
from .sources import ChurnData

# customer_clv's value columns, preferred first: contribution margin, then revenue.
VALUE_COLUMNS = ("clv_margin_cny", "clv_cny")
# The columns of an empty early-warning list (when no model can be trained).
WARNING_COLUMNS = {
    "customer_id": str,
    "cutoff": "datetime64[ns]",
    "risk": float,
    "risk_band": str,
    "value": float,
    "value_at_risk": float,
    "is_lost_by_activity_rule": bool,
    "rank": "int64",
    **{f"reason_{k}": str for k in (1, 2, 3)},
    **{f"reason_{k}_contribution": float for k in (1, 2, 3)},
    "as_of": "datetime64[ns]",
    "model": str,
    "window_days": "int64",
    "activity_window_days": "int64",
    "value_basis": str,
}
# The backtest's tables when there is no backtest: the columns and types of one that ran.
BACKTEST_TYPES = {
    "cutoff": "datetime64[ns]",
    "method": str,
    "n": "int64",
    "positives": "int64",
    **{c: float for c in ("auc", "pr_auc", "brier")},
    **{c: float for c in ("auc_margin_over_recency", "pr_auc_margin_over_recency")},
    "is_chosen": bool,
    "trained_on": str,
}
RELIABILITY_TYPES = {
    "cutoff": "datetime64[ns]",
    "method": str,
    "bin": "int64",
    **{c: float for c in ("bin_lower", "bin_upper", "mean_predicted", "observed_rate")},
    "n": "int64",
}


def empty_frame(types: dict) -> pd.DataFrame:
    """No rows, the columns and dtypes of `types`."""
    return pd.DataFrame({column: pd.Series(dtype=dtype) for column, dtype in types.items()})


def value_column(columns: list[str]) -> str:
    """The CLV column the list values customers with: margin-based where the table has it."""
    for column in VALUE_COLUMNS:
        if column in columns:
            return column
    raise ValueError(f"customer_clv has none of the value columns {list(VALUE_COLUMNS)}")


@dataclass(frozen=True)
class ChurnFit:
    """What is learnt from the training cutoffs, and kept between runs
    (`orchestration.fitcache`): the scoring model (None, with `model_note`, when none could be
    trained) and the backtest's tables (empty, with `backtest_note`, when none could be run)."""

    model: ChurnModel | None
    metrics: pd.DataFrame
    reliability: pd.DataFrame
    model_note: str | None = None
    backtest_note: str | None = None

    def parts(self) -> dict[str, object]:
        """The parts `orchestration.fitcache` keeps: the notes as JSON, the tables as
        Parquet, the fitted estimators (pickled)."""
        notes = {"model_note": self.model_note, "backtest_note": self.backtest_note}
        return {
            "notes": notes,
            "metrics": self.metrics,
            "reliability": self.reliability,
            "model": self.model,
        }

    @classmethod
    def from_parts(cls, parts: dict[str, object]) -> ChurnFit:
        notes = parts["notes"]
        return cls(
            model=parts["model"],
            metrics=parts["metrics"],
            reliability=parts["reliability"],
            model_note=notes["model_note"],
            backtest_note=notes["backtest_note"],
        )


def fit_churn(data: ChurnData, window: int, max_rows: int | None) -> ChurnFit:
    """Train the scoring model on the backtest cutoffs' frames (`training_frames`) and run
    the rolling-origin backtest over the same cutoffs. Too little history or no churner to
    learn from leaves a part empty, with a note."""
    model, model_note = None, None
    cutoffs = data.cutoffs
    # built once: the scoring model and the backtest learn from the same frames
    frames = training_frames(data, cutoffs)
    try:
        if not frames:
            raise ValueError(
                f"no training cutoff: a cutoff needs a year of history and a closed {window}-day "
                f"window before as_of {data.as_of.date()}"
            )
        model = _train_on(frames, max_rows)
    except (ValueError, IndexError) as exc:
        model_note = f"no early warning: {exc}"
    try:
        p_alive = pareto_p_alive(data, cutoffs, window_days=window)
        result = backtest(frames, cutoffs, window_days=window, p_alive=p_alive, max_rows=max_rows)
        metrics, reliability, backtest_note = result.metrics, result.reliability, None
    except ValueError as exc:  # too few cutoffs or churners: say so, keep the warning list
        backtest_note = f"backtest not possible: {exc}"
        # the columns and types of a backtest that ran (orchestration.churn.Backtest)
        metrics = empty_frame(BACKTEST_TYPES)
        reliability = empty_frame(RELIABILITY_TYPES)
    return ChurnFit(model, metrics, reliability, model_note, backtest_note)


def _train_on(frames: dict[pd.Timestamp, pd.DataFrame], max_rows: int | None) -> ChurnModel:
    """`train` on every cutoff's rows; the stacked rows are dropped as soon as features and
    labels are split off, so the backtest after it does not carry them (memory)."""
    rows = pd.concat(frames.values(), ignore_index=True)
    features = rows.drop(columns="churned")
    labels = rows[["customer_key", "cutoff", "churned"]]
    del rows
    return train(features, labels, max_rows=max_rows)


def score_customers(
    data: ChurnData,
    model: ChurnModel,
    window: int,
    clv: pd.DataFrame,
    activity_window_days: int,
) -> pd.DataFrame:
    """Score every customer active at as_of with the trained model; `clv`: customer_id,
    value."""
    today = data.scoring()
    ids = data.customer_ids
    keys = pd.Series(ids.index, index=ids.to_numpy())
    value = clv.assign(customer_key=clv["customer_id"].astype(str).map(keys)).dropna(
        subset=["customer_key"]
    )
    value = value.set_index(value["customer_key"].astype("int64"))["value"]
    warning = early_warning(model, today, value=value, lost=data.lost())
    warning.insert(0, "customer_id", ids.reindex(warning["customer_key"]).to_numpy())
    return warning.drop(columns="customer_key").assign(
        as_of=data.as_of.date(),
        model=model.chosen,
        window_days=window,
        activity_window_days=activity_window_days,
    )


@dataclass(frozen=True)
class ChurnTables:
    """The three tables (by name, as written to the warehouse), why a part could not be made
    (`notes`) and what was scored (`scored`: a log line, None without an early warning)."""

    frames: dict[str, pd.DataFrame]
    notes: list[str] = field(default_factory=list)
    scored: str | None = None


def compute_tables(
    data: ChurnData,
    window: int,
    clv: pd.DataFrame,
    basis: str,
    max_rows: int | None,
    activity_window_days: int,
    fitted: ChurnFit | None = None,
) -> ChurnTables:
    """The early warning (scored by a model trained on the backtest cutoffs, valued by
    `clv`'s `value` column, named `basis`) and the rolling-origin backtest over the same
    cutoffs; `fitted`: the model and backtest of these cutoffs kept from an earlier run
    (`fit_churn`), None to fit them now. Too little history or no churner to learn from
    leaves a table empty, with a note."""
    fitted = fitted or fit_churn(data, window, max_rows)
    notes = [n for n in (fitted.model_note,) if n]
    scored = None
    warning = empty_frame(WARNING_COLUMNS)
    if fitted.model is not None:
        try:
            warning = score_customers(data, fitted.model, window, clv, activity_window_days)
            warning["value_basis"] = basis
            scored = f"{len(warning):,} customers scored with model {warning['model'][0]}"
        except (ValueError, IndexError) as exc:
            notes.append(f"no early warning: {exc}")
    if fitted.backtest_note:
        notes.append(fitted.backtest_note)
    as_of = data.as_of.date()
    return ChurnTables(
        frames={
            "churn_early_warning": warning,
            "early_warning_backtest": fitted.metrics.assign(as_of=as_of),
            "early_warning_reliability": fitted.reliability.assign(as_of=as_of),
        },
        notes=notes,
        scored=scored,
    )
