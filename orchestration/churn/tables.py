"""The churn assets' tables from loaded sources: the early-warning list, the backtest and its
reliability table (`compute_tables`), with the cutoffs they learn from (`training_cutoffs`).
Pure pandas / scikit-learn, no Dagster, no database: `orchestration.assets.churn` loads the
sources and the CLV, calls these and writes the tables (its docstring gives the choices).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from .backtest import backtest, pareto_p_alive, training_frames
from .features import build_features
from .model import ChurnModel, early_warning, train
from .sources import Sources, lost_by_activity_rule

DEFAULT_CUTOFFS = 5
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


def training_cutoffs(
    first_data: pd.Timestamp, as_of_day: pd.Timestamp, window: int, limit: int = DEFAULT_CUTOFFS
) -> list:
    """Month starts 6 months apart whose window has closed by as_of, newest first capped at
    `limit`, each with a year of data before it; oldest first."""
    latest = (as_of_day - pd.Timedelta(days=window)).to_period("M").to_timestamp()
    cutoffs = []
    cutoff = latest
    while len(cutoffs) < limit and cutoff >= first_data + pd.DateOffset(years=1):
        cutoffs.append(cutoff)
        cutoff = cutoff - pd.DateOffset(months=6)
    return sorted(cutoffs)


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


def fit_churn(
    sources: Sources, cutoffs: list, window: int, max_rows: int | None, as_of_day: pd.Timestamp
) -> ChurnFit:
    """Train the scoring model on the closed cutoffs' frames (`training_frames`) and run the
    rolling-origin backtest over the same cutoffs. Too little history or no churner to learn
    from leaves a part empty, with a note."""
    model, model_note = None, None
    frames = None  # built once: the scoring model and the backtest learn from the same ones
    try:
        frames = training_frames(sources, cutoffs, window_days=window)
        if not frames:
            raise ValueError(
                f"no training cutoff: a cutoff needs a year of history and a closed {window}-day "
                f"window before as_of {as_of_day.date()}"
            )
        rows = pd.concat(frames.values(), ignore_index=True)
        model = train(
            rows.drop(columns="churned"),
            rows[["customer_id", "cutoff", "churned"]],
            max_rows=max_rows,
        )
    except (ValueError, IndexError) as exc:
        model_note = f"no early warning: {exc}"
    try:
        p_alive = pareto_p_alive(sources, cutoffs, window_days=window)
        result = backtest(
            sources,
            cutoffs,
            window_days=window,
            p_alive=p_alive,
            frames=frames,
            max_rows=max_rows,
        )
        metrics, reliability, backtest_note = result.metrics, result.reliability, None
    except ValueError as exc:  # too few cutoffs or churners: say so, keep the warning list
        backtest_note = f"backtest not possible: {exc}"
        # the columns and types of a backtest that ran (orchestration.churn.Backtest)
        metrics = empty_frame(BACKTEST_TYPES)
        reliability = empty_frame(RELIABILITY_TYPES)
    return ChurnFit(model, metrics, reliability, model_note, backtest_note)


def score_customers(
    sources: Sources,
    model: ChurnModel,
    as_of_day: pd.Timestamp,
    window: int,
    clv: pd.DataFrame,
) -> pd.DataFrame:
    """Score every customer active at as_of with the trained model."""
    today = build_features(sources, as_of_day + pd.Timedelta(days=1))
    lost = lost_by_activity_rule(sources, as_of_day)
    return early_warning(model, today, value=clv, lost=lost).assign(
        as_of=as_of_day.date(),
        model=model.chosen,
        window_days=window,
        activity_window_days=sources.activity_window_days,
    )


@dataclass(frozen=True)
class ChurnTables:
    """The three tables (by name, as written to the warehouse), why a part could not be made
    (`notes`) and what was scored (`scored`: a log line, None without an early warning)."""

    frames: dict[str, pd.DataFrame]
    notes: list[str] = field(default_factory=list)
    scored: str | None = None


def compute_tables(
    sources: Sources,
    cutoffs: list,
    as_of_day: pd.Timestamp,
    window: int,
    clv: pd.DataFrame,
    basis: str,
    max_rows: int | None,
    fitted: ChurnFit | None = None,
) -> ChurnTables:
    """The early warning (scored by a model trained on `cutoffs`, valued by `clv`'s `value`
    column, named `basis`) and the rolling-origin backtest over the same cutoffs; `fitted`:
    the model and backtest of these cutoffs kept from an earlier run (`fit_churn`), None to
    fit them now. Too little history or no churner to learn from leaves a table empty, with
    a note."""
    fitted = fitted or fit_churn(sources, cutoffs, window, max_rows, as_of_day)
    notes = [n for n in (fitted.model_note,) if n]
    scored = None
    warning = empty_frame(WARNING_COLUMNS)
    if fitted.model is not None:
        try:
            warning = score_customers(sources, fitted.model, as_of_day, window, clv)
            warning["value_basis"] = basis
            scored = f"{len(warning):,} customers scored with model {warning['model'][0]}"
        except (ValueError, IndexError) as exc:
            notes.append(f"no early warning: {exc}")
    if fitted.backtest_note:
        notes.append(fitted.backtest_note)
    return ChurnTables(
        frames={
            "churn_early_warning": warning,
            "early_warning_backtest": fitted.metrics.assign(as_of=as_of_day.date()),
            "early_warning_reliability": fitted.reliability.assign(as_of=as_of_day.date()),
        },
        notes=notes,
        scored=scored,
    )
