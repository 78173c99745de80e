"""The tables of the composite indices: H1 loyalty, H2 customer value, H3 management level,
their weights (H5) and backtest, the segments (H6) and the extra revenue of loyal customers
(F10), computed from the index inputs. Pure pandas, no Dagster, no database: the asset
`orchestration.assets.indices` reads the inputs, calls `compute_tables` and writes them.

Inputs: the dbt model `features_customer_index_inputs` (the rows of
`int_customer_index_inputs`: one row per customer and 12-month window, one column per
indicator code of `seeds/index_expert_weights.csv`), `dim_customers` (current account
manager), the loyalty-survey answers of `fct_survey_answers` and, for F7, the CLV of
`analytics.customer_clv` (only as of as_of).

Choices:
- **Windows.** `current` = the 12 months ending at as_of; `previous` = the 12 months before.
- **Reference.** Min–max normalisation is fitted on the previous window, between its 1st and
  99th percentiles (`IndexSettings.quantiles`: one very large customer must not squash the
  others towards 0; values beyond are clipped), and the data-driven weights are learnt there.
  Both windows are scored on that one scale, so a score means the same in both and the trend
  compares like with like. Without a previous window of `MIN_REFERENCE_CUSTOMERS` customers
  the current window is its own reference and there is no trend.
- **F7 has no history.** CLV exists only as of as_of, so the reference takes F7 from the
  current CLV of the previous window's customers (its scale and its learnt weight); the
  previous window's H2 is re-weighted over its other indicators, and H2's change compares both
  windows on the indicators both have. Without `analytics.customer_clv` (or with one of
  another as_of) H2 has no F7 and coverage re-weights the rest.
- **Weights.** `WH_INDEX_WEIGHTING` = expert (default, the seed) | entropy | critic | ahp for
  the published scores; `index_weights` lists the weights of every method.
- **H3** per company and per current account manager over the customers active in the window:
  A2 mean, H1 mean, complaints per customer (D1), churn rate (customers active at the window's
  start who churned in it / customers active at its start, B2), event participations per
  customer × 100 (C3); scored against the previous window's units. Both windows group the
  customers by their current manager, so a manager's trend compares the same book.
- **Segments.** Value × loyalty: H2 × H1 split at each window's median (the package default);
  RFM: the eight classic segments over customers with an invoice, split at the mean, from
  recency, invoices and net revenue at the window end. Unsegmented customers have no row.
- **F10** over the customers active in the current window: net revenue of the green H1 band
  above what the base's mean revenue would give.
- **Backtest.** Each `is_backtest_window` is scored (reference: the window 12 months earlier,
  else itself; no F7) with every weighting; over the customers active at its end: Spearman's
  rank correlation of each index with next-window net revenue and the AUC for being active at
  the next window's end.
"""

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..metrics import rank_auc, spearman
from .aggregate import (
    DEFAULT_MIN_COVERAGE,
    IndexResult,
    band,
    compute_index,
    survey_loyalty_index,
    trend,
)
from .definitions import IndexDefinition, load_catalogue, load_index_definitions
from .segments import (
    load_segment_actions,
    loyalty_extra_revenue,
    rfm_segments,
    segment_migration,
    value_loyalty_segments,
)
from .weights import load_ahp_matrices

WEIGHTINGS = ("expert", "entropy", "critic", "ahp")
LOYALTY, VALUE, MANAGEMENT = "H1", "H2", "H3"
CLV = "F7"
# Indicator code -> column of int_customer_index_inputs (definitions in its YAML).
INDICATOR_COLUMNS = {
    "B1": "active_at_end_flag",
    "B2": "churned_in_window_flag",
    "F3": "repeat_order_count",
    "G4": "tenure_months",
    "E1": "converted_referral_count",
    "C3": "event_participation_count",
    "E3": "likelihood_to_recommend_score",
    "A2": "satisfaction_pct",
    "D1": "complaint_count",
    "F4": "net_revenue_cny",
    "F5": "purchasing_power_ratio",
    "G5": "revenue_growth_rate",
}
# The columns of features_customer_index_inputs the tables read (the asset reads no others).
WINDOW_COLUMNS = (
    "customer_id",
    "window_end_month_on",
    "window_start_on",
    "window_end_on",
    "is_current_window",
    "is_previous_window",
    "is_backtest_window",
    "active_in_window_flag",
    "active_at_start_flag",
    *INDICATOR_COLUMNS.values(),
    "last_invoiced_on",
    "recency_days",
    "invoices_to_date",
    "net_revenue_to_date_cny",
    "next_window_active_flag",
    "next_window_net_revenue_cny",
)
# A reference period needs enough customers for percentiles and learnt weights to mean
# something; below this the scored window is its own reference.
MIN_REFERENCE_CUSTOMERS = 30
SEGMENT_COLUMNS = [
    "customer_id",
    "segment_scheme",
    "segment_code",
    "segment_en",
    "segment_zh",
    "action_en",
    "action_zh",
]

TABLES = {
    "customer_indices": "H1 loyalty and H2 value index (0-100) per customer for the 12 months "
    "to as_of, with coverage, band, change against the previous 12 months and method, and the "
    "seed-002 survey loyalty index.",
    "management_level": "H3 customer management level per company and account manager, "
    "current and previous 12 months: satisfaction, loyalty, complaints, churn, engagement, the "
    "index, band and trend.",
    "index_weights": "H5: the weight of every indicator in H1, H2 and H3 under every weighting "
    "method (expert seed, entropy, CRITIC, AHP with its consistency ratio).",
    "customer_segments": "H6 and F1: each customer's value x loyalty quadrant and RFM segment "
    "with the recommended action (English, Chinese); one row per customer and scheme.",
    "segment_migration": "Customers moving between segments from the previous to the current "
    "12 months, per scheme.",
    "loyalty_extra_revenue": "F10: net revenue of the top loyalty band above what the average "
    "customer's revenue would give, current 12 months.",
    "index_backtest": "H5 backtest: for earlier windows, each index and weighting: Spearman "
    "correlation with next-window revenue and AUC for next-window retention.",
}

COLUMN_DOCS: dict[str, dict[str, str]] = {
    "customer_indices": {
        "customer_id": "The customer (every customer acquired by as_of).",
        "as_of": "End of the current window (the reporting date).",
        "window_start_on": "First day of the current 12-month window.",
        "window_end_on": "Last day of the current window (as_of).",
        "reference_window_end_on": "End of the window the scale and learnt weights come from.",
        "loyalty_index_pct": "H1 loyalty index, 0-100; null below the minimum coverage.",
        "loyalty_coverage_rate": "Share of H1's weight whose indicators were known (0-1).",
        "loyalty_band": "red (0-50), yellow (51-75) or green (76-100).",
        "loyalty_previous_pct": "H1 of the previous 12 months, on the same scale.",
        "loyalty_change_points": "H1 now minus H1 in the previous window.",
        "loyalty_trend": "up / down beyond one point, else flat; null without both scores.",
        "loyalty_method": "Normalisation and weighting, e.g. minmax_reference_q0.01_q0.99+expert.",
        "value_index_pct": "H2 customer value index, 0-100; null below the minimum coverage.",
        "value_coverage_rate": "Share of H2's weight whose indicators were known (0-1).",
        "value_band": "red (0-50), yellow (51-75) or green (76-100).",
        "value_previous_pct": "H2 of the previous 12 months (no F7: CLV has no history).",
        "value_change_points": "H2 now minus H2 before, both on the indicators both windows "
        "have (without F7).",
        "value_trend": "up / down beyond one point, else flat; null without both scores.",
        "value_method": "Normalisation and weighting of H2.",
        "survey_loyalty_index_pct": "Seed 002: mean loyalty-survey answer in the window / its "
        "item's scale maximum x 100; null without an answer.",
        "survey_loyalty_answers": "Loyalty-survey answers behind it.",
        "weighting_method": "expert, entropy, critic or ahp (WH_INDEX_WEIGHTING).",
    },
    "management_level": {
        "unit_type": "company, account_manager (the customer's current manager) or team "
        "(that manager's account team).",
        "unit_id": "all for the company, else the manager id.",
        "score_window": "current (the 12 months to as_of) or previous (the 12 months before).",
        "window_start_on": "First day of the 12-month window.",
        "window_end_on": "Last day of the window.",
        "is_complete_period": "Whether the window ended on or before as_of (always true: both "
        "windows are whole trailing years), as on the dbt period marts.",
        "customers": "Customers active in the window (at its start or at a month end in it).",
        "satisfaction_pct": "A2: mean satisfaction % of scale maximum of those answering.",
        "loyalty_index_pct": "H1 mean over the unit's customers with a score.",
        "complaints_per_customer": "D1: complaints opened in the window / customers.",
        "churn_rate": "B2: customers active at the window's start who churned in it / "
        "customers active at its start.",
        "engagement_pct": "C3: event participations in the window / customers x 100.",
        "management_level_pct": "H3, 0-100; scored against the previous window's units.",
        "coverage_rate": "Share of H3's weight whose indicators were known (0-1).",
        "band": "red (0-50), yellow (51-75) or green (76-100).",
        "previous_pct": "H3 of the previous window (current rows only).",
        "change_points": "H3 now minus H3 before (current rows only).",
        "trend": "up / down beyond one point, else flat (current rows only).",
        "method": "Normalisation and weighting of H3.",
    },
    "index_weights": {
        "index_code": "H1, H2 or H3.",
        "index_name_en": "The index's English name.",
        "index_name_zh": "The index's Chinese name.",
        "weighting_method": "expert, entropy, critic or ahp.",
        "indicator_code": "Indicator code (METRICS.md).",
        "indicator_name_en": "The indicator's English name.",
        "indicator_name_zh": "The indicator's Chinese name.",
        "weight": "Nominal weight (0-1); the weights of an index and method sum to 1.",
        "is_applied": "The method of the published scores (WH_INDEX_WEIGHTING).",
        "consistency_ratio": "AHP only: Saaty's consistency ratio CR = CI / RI (< 0.1).",
        "learnt_on_rows": "Entropy and CRITIC only: reference rows (customers or units) with "
        "every indicator known, on which the weights were learnt.",
        "reference_window_end_on": "End of the window the entropy and CRITIC weights were "
        "learnt on.",
    },
    "customer_segments": {
        "customer_id": "The customer.",
        "segment_scheme": "value_loyalty (H2 x H1 at the median) or rfm (eight segments).",
        "segment_code": "The segment (seeds/segment_actions.csv).",
        "segment_en": "The segment's English label.",
        "segment_zh": "The segment's Chinese label.",
        "action_en": "Recommended action, English.",
        "action_zh": "Recommended action, Chinese.",
    },
    "segment_migration": {
        "segment_scheme": "value_loyalty or rfm.",
        "from_window_end_on": "End of the previous window.",
        "to_window_end_on": "End of the current window.",
        "is_complete_period": "Whether both windows ended on or before as_of (always true: "
        "the current window is the trailing year to as_of), as on the dbt period marts.",
        "from_segment": "Segment in the previous window (absent: not yet a customer; "
        "unsegmented: an input missing).",
        "to_segment": "Segment in the current window.",
        "customers": "Customers making that move.",
    },
    "loyalty_extra_revenue": {
        "as_of": "End of the current window.",
        "window_start_on": "First day of the current window.",
        "window_end_on": "Last day of the current window.",
        "is_complete_period": "Whether the window ended on or before as_of (always true: the "
        "trailing year to as_of), as on the dbt period marts.",
        "top_band": "The loyalty band counted as loyal (green).",
        "customers": "Customers active in the window (the base).",
        "top_customers": "Of them, customers in the top H1 band.",
        "revenue_cny": "Net revenue of the base in the window.",
        "top_revenue_cny": "Net revenue of the top band.",
        "base_average_revenue_cny": "Mean net revenue per customer of the base.",
        "top_average_revenue_cny": "Mean net revenue per customer of the top band.",
        "extra_per_customer_cny": "Top-band mean minus base mean.",
        "extra_revenue_cny": "F10 = top revenue - top customers x base mean.",
        "method": "How F10 is computed.",
    },
    "index_backtest": {
        "window_start_on": "First day of the scored window.",
        "window_end_on": "Last day of the scored window (a quarter end).",
        "is_complete_period": "Whether the scored window and the 12 months after it that "
        "judge it ended on or before as_of (always true: a window is backtested only then), "
        "as on the dbt period marts.",
        "reference_window_end_on": "End of the window its scale and learnt weights come from.",
        "index_code": "H1 or H2.",
        "weighting_method": "expert, entropy, critic or ahp.",
        "customers": "Customers active at the window end with a score.",
        "retained_customers": "Of them, active at the end of the next 12 months.",
        "spearman_next_revenue": "Spearman's rank correlation of the score with net revenue "
        "in the next 12 months.",
        "auc_next_retention": "Probability that a retained customer scores above a lost one "
        "(ties half): the ROC AUC, 0.5 = no better than chance.",
        "missing_indicators": "Indicators the window lacks entirely (F7: no CLV history).",
        "note": "Why a method could not be scored, if so.",
    },
}


@dataclass(frozen=True)
class IndexSettings:
    """How the published indices are made (see the module docstring)."""

    weighting: str = "expert"
    quantiles: tuple[float, float] | None = (0.01, 0.99)
    min_coverage: float = DEFAULT_MIN_COVERAGE
    top_band: str = "green"


@dataclass(frozen=True)
class IndexInputs:
    """What the indices read: int_customer_index_inputs (every window), each customer's
    current account manager, the loyalty-survey answers of the current window (customer_id,
    score on the item's own scale, scale_max), the CLV as of as_of (None without one) and
    each customer's current account team (None without one)."""

    windows: pd.DataFrame
    managers: pd.Series
    loyalty_answers: pd.DataFrame
    clv: pd.Series | None = None
    teams: pd.Series | None = None


@dataclass(frozen=True)
class CustomerScores:
    loyalty: IndexResult
    value: IndexResult


@dataclass(frozen=True)
class IndexReferences:
    """What the indices learn from earlier windows, kept between runs
    (`orchestration.fitcache`: monthly by default): the reference customers' indicators
    (each index's scale and learnt weights come from them), the end of their window, the
    indicators without history taken from the current window (F7), the H3 reference units,
    and the backtest. `reference` is None where the current window was its own reference:
    nothing about it is kept."""

    reference: pd.DataFrame | None
    reference_end: dt.date | None
    no_history: list[str]
    unit_reference: pd.DataFrame | None
    backtest: pd.DataFrame

    def parts(self) -> dict[str, object]:
        """The parts `orchestration.fitcache` keeps: the frames (Parquet), the rest (JSON)."""
        parts: dict[str, object] = {
            "about": {
                "reference_end": None if self.reference_end is None else str(self.reference_end),
                "no_history": self.no_history,
            },
            "backtest": self.backtest,
        }
        if self.reference is not None:
            parts["reference"] = self.reference.reset_index()
            parts["unit_reference"] = self.unit_reference.reset_index()
        return parts

    @classmethod
    def from_parts(cls, parts: dict[str, object]) -> "IndexReferences":
        about = parts["about"]
        end = about["reference_end"]
        reference = parts.get("reference")
        units = parts.get("unit_reference")
        return cls(
            reference=None if reference is None else reference.set_index("customer_id"),
            reference_end=None if end is None else as_date(end),
            no_history=list(about["no_history"]),
            unit_reference=None if units is None else units.set_index(["unit_type", "unit_id"]),
            backtest=parts["backtest"],
        )


@dataclass(frozen=True)
class IndexTables:
    customer_indices: pd.DataFrame
    management_level: pd.DataFrame
    index_weights: pd.DataFrame
    customer_segments: pd.DataFrame
    segment_migration: pd.DataFrame
    loyalty_extra_revenue: pd.DataFrame
    index_backtest: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    references: IndexReferences | None = None  # what was learnt (or reused): kept between runs

    def frames(self) -> dict[str, pd.DataFrame]:
        return {name: _text_columns_typed(getattr(self, name)) for name in TABLES}


def _text_columns_typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Object columns with no value at all (no trend without a previous window, no backtest
    note) as strings, so that DuckDB stores VARCHAR rather than its NULL type."""
    empty = [c for c in frame.columns if frame[c].dtype == object and frame[c].isna().all()]
    return frame.astype({column: "string" for column in empty})


def prepare_windows(windows: pd.DataFrame) -> pd.DataFrame:
    """The index inputs with their dates as Timestamps and their flags as booleans, in one
    order (window, customer), so that results never depend on the order the rows were
    stored in (a backtest's rank statistics did)."""
    frame = windows.sort_values(["window_end_month_on", "customer_id"], kind="stable")
    frame = frame.reset_index(drop=True)
    for column in ("window_end_month_on", "window_start_on", "window_end_on", "last_invoiced_on"):
        if not pd.api.types.is_datetime64_dtype(frame[column]):
            frame[column] = pd.to_datetime(frame[column])
    for column in [c for c in frame.columns if c.startswith(("is_", "has_"))]:
        frame[column] = frame[column].astype(bool)
    return frame


def window_rows(windows: pd.DataFrame, window_end_month_on: pd.Timestamp) -> pd.DataFrame:
    """One window's rows, indexed by customer_id."""
    rows = windows.loc[windows["window_end_month_on"] == window_end_month_on]
    return rows.set_index("customer_id")


def indicator_frame(rows: pd.DataFrame, clv: pd.Series | None = None) -> pd.DataFrame:
    """One column per indicator code (floats, NaN where unknown), F7 from `clv` if given."""
    frame = rows[list(INDICATOR_COLUMNS.values())].astype(float)
    frame.columns = list(INDICATOR_COLUMNS)
    frame[CLV] = np.nan if clv is None else clv.reindex(frame.index).astype(float)
    return frame


def reference_with_history(
    reference: pd.DataFrame, data: pd.DataFrame
) -> tuple[pd.DataFrame, list[str]]:
    """The reference frame, with every indicator it lacks entirely but `data` has (F7: CLV
    exists only as of as_of) taken from `data` for the same customers, and those codes."""
    no_history = [c for c in data.columns if reference[c].isna().all() and data[c].notna().any()]
    filled = reference.copy()
    for code in no_history:
        filled[code] = data[code].reindex(reference.index)
    return filled, no_history


def score_customers(
    data: pd.DataFrame,
    reference: pd.DataFrame,
    weighting: str,
    settings: IndexSettings,
    definitions: Mapping[str, IndexDefinition],
    ahp_matrices: Mapping[str, pd.DataFrame],
) -> CustomerScores:
    """H1, then H2 (whose indicator H1 is each customer's H1), for the rows of `data`, on the
    scale of `reference` (whose own H1 feeds H2's reference)."""

    def index(code: str, frame: pd.DataFrame, basis: pd.DataFrame) -> IndexResult:
        return compute_index(
            definitions[code],
            frame,
            reference=basis,
            weighting=weighting,
            ahp_matrix=ahp_matrices.get(code) if weighting == "ahp" else None,
            min_coverage=settings.min_coverage,
            quantiles=settings.quantiles,
        )

    reference_loyalty = index(LOYALTY, reference, reference)
    loyalty = index(LOYALTY, data, reference)
    value = index(
        VALUE,
        data.assign(**{LOYALTY: loyalty.scores}),
        reference.assign(**{LOYALTY: reference_loyalty.scores}),
    )
    return CustomerScores(loyalty=loyalty, value=value)


def unit_indicators(
    rows: pd.DataFrame,
    loyalty: pd.Series,
    managers: pd.Series,
    teams: pd.Series | None = None,
) -> pd.DataFrame:
    """H3's indicators per unit (company `all`, each current account manager and, given
    `teams`, each account team) over the window's customers active in it; indexed by
    (unit_type, unit_id), with `customers`."""
    active = rows.loc[rows["active_in_window_flag"] == 1]
    base = pd.DataFrame(
        {
            "customers": 1,
            "A2": active["satisfaction_pct"].astype(float),
            LOYALTY: loyalty.reindex(active.index).astype(float),
            "complaints": active["complaint_count"].astype(float),
            "at_start": active["active_at_start_flag"].astype(float),
            "lost": (active["active_at_start_flag"] * active["churned_in_window_flag"]).astype(
                float
            ),
            "events": active["event_participation_count"].astype(float),
        },
        index=active.index,
    )
    company = base.assign(unit_type="company", unit_id="all")
    by_manager = base.assign(
        unit_type="account_manager", unit_id=managers.reindex(active.index)
    ).dropna(subset=["unit_id"])
    units = [company, by_manager]
    if teams is not None:
        units.append(
            base.assign(unit_type="team", unit_id=teams.reindex(active.index)).dropna(
                subset=["unit_id"]
            )
        )
    grouped = pd.concat(units).groupby(["unit_type", "unit_id"])
    totals = grouped[["customers", "complaints", "at_start", "lost", "events"]].sum()
    return pd.DataFrame(
        {
            "customers": totals["customers"].astype(int),
            "A2": grouped["A2"].mean(),
            LOYALTY: grouped[LOYALTY].mean(),
            "D1": totals["complaints"] / totals["customers"],
            "B2": totals["lost"] / totals["at_start"].where(totals["at_start"] > 0),
            "C3": totals["events"] / totals["customers"] * 100.0,
        }
    )


def as_date(value) -> dt.date:
    """A Timestamp, date or ISO string as a date."""
    return pd.Timestamp(value).date()


def _customer_table(
    rows: pd.DataFrame,
    scores: CustomerScores,
    comparable: CustomerScores,
    previous: CustomerScores | None,
    loyalty_answers: pd.DataFrame,
    settings: IndexSettings,
    reference_end: dt.date,
) -> pd.DataFrame:
    end = as_date(rows["window_end_on"].iloc[0])
    frame = pd.DataFrame(index=rows.index)
    frame["as_of"] = end
    frame["window_start_on"] = as_date(rows["window_start_on"].iloc[0])
    frame["window_end_on"] = end
    frame["reference_window_end_on"] = reference_end
    for prefix in ("loyalty", "value"):
        result: IndexResult = getattr(scores, prefix)
        frame[f"{prefix}_index_pct"] = result.scores
        frame[f"{prefix}_coverage_rate"] = result.coverage
        frame[f"{prefix}_band"] = band(result.scores)
        if previous is None:
            change = pd.DataFrame(
                index=frame.index, columns=["previous_score_pct", "change_points", "trend"]
            )
        else:
            change = trend(
                getattr(comparable, prefix).scores, getattr(previous, prefix).scores
            ).reindex(frame.index)
        frame[f"{prefix}_previous_pct"] = change["previous_score_pct"].astype(float)
        frame[f"{prefix}_change_points"] = change["change_points"].astype(float)
        frame[f"{prefix}_trend"] = change["trend"].astype(object)
        frame[f"{prefix}_method"] = result.method
    survey, counts = pd.Series(dtype=float), pd.Series(dtype=int)
    if len(loyalty_answers):
        survey = survey_loyalty_index(
            loyalty_answers["score"], loyalty_answers["scale_max"], loyalty_answers["customer_id"]
        ).scores
        counts = loyalty_answers.groupby("customer_id").size()
    frame["survey_loyalty_index_pct"] = survey.reindex(frame.index).astype(float)
    frame["survey_loyalty_answers"] = counts.reindex(frame.index).fillna(0).astype(int)
    frame["weighting_method"] = settings.weighting
    return frame.rename_axis("customer_id").reset_index()


def _management_table(
    windows: dict[str, tuple[pd.DataFrame, pd.DataFrame]],
    results: dict[str, IndexResult],
) -> pd.DataFrame:
    parts = []
    for name, (rows, units) in windows.items():
        result = results[name]
        part = units.assign(
            score_window=name,
            window_start_on=as_date(rows["window_start_on"].iloc[0]),
            window_end_on=as_date(rows["window_end_on"].iloc[0]),
            is_complete_period=True,
            management_level_pct=result.scores,
            coverage_rate=result.coverage,
            band=band(result.scores),
            method=result.method,
        )
        if name == "current" and "previous" in results:
            change = trend(result.scores, results["previous"].scores).reindex(units.index)
            part = part.assign(
                previous_pct=change["previous_score_pct"].astype(float),
                change_points=change["change_points"].astype(float),
                trend=change["trend"].astype(object),
            )
        else:
            part = part.assign(previous_pct=np.nan, change_points=np.nan, trend=None)
        parts.append(part)
    frame = pd.concat(parts).reset_index()
    frame = frame.rename(
        columns={
            "A2": "satisfaction_pct",
            LOYALTY: "loyalty_index_pct",
            "D1": "complaints_per_customer",
            "B2": "churn_rate",
            "C3": "engagement_pct",
        }
    )
    return frame[list(COLUMN_DOCS["management_level"])]


def _weights_table(
    results: dict[tuple[str, str], IndexResult],
    definitions: Mapping[str, IndexDefinition],
    settings: IndexSettings,
    reference_end: dt.date,
) -> pd.DataFrame:
    catalogue = load_catalogue()
    rows = []
    for (code, method), result in sorted(
        results.items(), key=lambda item: (item[0][0], WEIGHTINGS.index(item[0][1]))
    ):
        for indicator, weight in result.weights.items():
            rows.append(
                {
                    "index_code": code,
                    "index_name_en": definitions[code].name_en,
                    "index_name_zh": definitions[code].name_zh,
                    "weighting_method": method,
                    "indicator_code": indicator,
                    "indicator_name_en": catalogue.at[indicator, "name_en"],
                    "indicator_name_zh": catalogue.at[indicator, "name_zh"],
                    "weight": float(weight),
                    "is_applied": method == settings.weighting,
                    "consistency_ratio": result.details.get("consistency_ratio", np.nan)
                    if method == "ahp"
                    else np.nan,
                    "learnt_on_rows": result.details.get("rows", np.nan)
                    if method in ("entropy", "critic")
                    else np.nan,
                    "reference_window_end_on": reference_end,
                }
            )
    return pd.DataFrame(rows, columns=list(COLUMN_DOCS["index_weights"]))


def _segments(
    rows: pd.DataFrame, scores: CustomerScores, actions: pd.DataFrame
) -> dict[str, pd.DataFrame]:
    """Both schemes' SegmentResult.segments for one window (every window customer; a missing
    segment_code where the rule cannot place the customer)."""
    quadrants = value_loyalty_segments(
        scores.value.scores, scores.loyalty.scores, actions=actions
    ).segments
    buyers = rows.loc[rows["last_invoiced_on"].notna()]
    rfm = rfm_segments(
        buyers["recency_days"],
        buyers["invoices_to_date"],
        buyers["net_revenue_to_date_cny"],
        split="mean",
        actions=actions,
    ).segments.reindex(rows.index)
    return {"value_loyalty": quadrants.reindex(rows.index), "rfm": rfm}


def _segment_tables(
    current: dict[str, pd.DataFrame],
    previous: dict[str, pd.DataFrame] | None,
    current_end: dt.date,
    previous_end: dt.date | None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    segments, migrations = [], []
    for scheme, frame in current.items():
        placed = frame.dropna(subset=["segment_code"]).assign(segment_scheme=scheme)
        segments.append(placed.rename_axis("customer_id").reset_index()[SEGMENT_COLUMNS])
        if previous is not None:
            moves = segment_migration(previous[scheme]["segment_code"], frame["segment_code"])
            migrations.append(
                moves.assign(
                    segment_scheme=scheme,
                    from_window_end_on=previous_end,
                    to_window_end_on=current_end,
                    is_complete_period=True,
                )
            )
    migration_columns = list(COLUMN_DOCS["segment_migration"])
    migration = (
        pd.concat(migrations)[migration_columns]
        if migrations
        else pd.DataFrame(columns=migration_columns)
    )
    return pd.concat(segments, ignore_index=True), migration.reset_index(drop=True)


def _extra_revenue_table(
    rows: pd.DataFrame, loyalty: IndexResult, settings: IndexSettings
) -> pd.DataFrame:
    active = rows.loc[rows["active_in_window_flag"] == 1]
    result = loyalty_extra_revenue(
        active["net_revenue_cny"].astype(float), band(loyalty.scores), settings.top_band
    )
    end = as_date(rows["window_end_on"].iloc[0])
    values = {
        "as_of": end,
        "window_start_on": as_date(rows["window_start_on"].iloc[0]),
        "window_end_on": end,
        "is_complete_period": True,
        "top_band": result.top_band,
        "customers": result.customers,
        "top_customers": result.top_customers,
        "revenue_cny": result.revenue_cny,
        "top_revenue_cny": result.top_revenue_cny,
        "base_average_revenue_cny": result.base_average_revenue_cny,
        "top_average_revenue_cny": result.top_average_revenue_cny,
        "extra_per_customer_cny": result.extra_per_customer_cny,
        "extra_revenue_cny": result.extra_revenue_cny,
        "method": "net revenue of the top H1 band minus its customers x the mean net revenue "
        "of the customers active in the window",
    }
    return pd.DataFrame([values], columns=list(COLUMN_DOCS["loyalty_extra_revenue"]))


def backtest(
    windows: pd.DataFrame,
    settings: IndexSettings,
    definitions: Mapping[str, IndexDefinition],
    ahp_matrices: Mapping[str, pd.DataFrame],
) -> pd.DataFrame:
    """One row per backtest window, index (H1, H2) and weighting (see the module docstring).
    A method that cannot be scored on a window (too few complete rows to learn weights) gets
    a row with its reason in `note` and no metrics."""
    rows = []
    ends = sorted(windows.loc[windows["is_backtest_window"], "window_end_month_on"].unique())
    for end in ends:
        window = window_rows(windows, end)
        data = indicator_frame(window)
        reference_end = pd.Timestamp(end) - pd.DateOffset(months=12)
        earlier = window_rows(windows, reference_end)
        if len(earlier) >= MIN_REFERENCE_CUSTOMERS:
            reference, reference_rows = indicator_frame(earlier), earlier
        else:
            reference, reference_rows = data, window
        population = window.index[window["active_at_end_flag"] == 1]
        retained = window["next_window_active_flag"].astype(float)
        revenue = window["next_window_net_revenue_cny"].astype(float)
        base = {
            "window_start_on": as_date(window["window_start_on"].iloc[0]),
            "window_end_on": as_date(window["window_end_on"].iloc[0]),
            "is_complete_period": True,
            "reference_window_end_on": as_date(reference_rows["window_end_on"].iloc[0]),
        }
        for method in WEIGHTINGS:
            try:
                scores = score_customers(
                    data, reference, method, settings, definitions, ahp_matrices
                )
            except ValueError as error:
                for code in (LOYALTY, VALUE):
                    rows.append(
                        base
                        | {
                            "index_code": code,
                            "weighting_method": method,
                            "customers": 0,
                            "note": str(error),
                        }
                    )
                continue
            for code, result in ((LOYALTY, scores.loyalty), (VALUE, scores.value)):
                scored = result.scores.reindex(population).dropna()
                missing = [
                    c for c in definitions[code].indicators if c in data and data[c].isna().all()
                ]
                rows.append(
                    base
                    | {
                        "index_code": code,
                        "weighting_method": method,
                        "customers": len(scored),
                        "retained_customers": int(retained.reindex(scored.index).sum()),
                        "spearman_next_revenue": spearman(scored, revenue.reindex(scored.index)),
                        "auc_next_retention": rank_auc(scored, retained.reindex(scored.index)),
                        "missing_indicators": ", ".join(missing) or None,
                        "note": None,
                    }
                )
    frame = pd.DataFrame(rows, columns=list(COLUMN_DOCS["index_backtest"]))
    return frame.astype({"customers": "int64", "retained_customers": "Int64"})


def compute_tables(
    inputs: IndexInputs,
    settings: IndexSettings | None = None,
    kept: IndexReferences | None = None,
) -> IndexTables:
    """Every analytics table of this module from its inputs (pure: no database); `kept`: the
    references of an earlier run of the same windows (`IndexTables.references`) to score
    with instead of learning them again."""
    settings = settings or IndexSettings()
    definitions = load_index_definitions()
    ahp_matrices = load_ahp_matrices()
    actions = load_segment_actions()
    windows = prepare_windows(inputs.windows)
    notes: list[str] = []

    current_end = windows.loc[windows["is_current_window"], "window_end_month_on"].unique()
    if len(current_end) != 1:
        raise ValueError("int_customer_index_inputs has no current window (is the spine empty?)")
    current_rows = window_rows(windows, current_end[0])
    previous_ends = windows.loc[windows["is_previous_window"], "window_end_month_on"].unique()
    previous_rows = window_rows(windows, previous_ends[0]) if len(previous_ends) else None
    if previous_rows is not None and len(previous_rows) < MIN_REFERENCE_CUSTOMERS:
        previous_rows = None
    current = indicator_frame(current_rows, inputs.clv)
    if inputs.clv is None:
        notes.append("no CLV as of as_of: H2 is computed without F7, re-weighted over the rest")
    if previous_rows is None:
        notes.append(
            f"no previous window with {MIN_REFERENCE_CUSTOMERS}+ customers: the current window "
            "is its own reference and there is no trend or migration"
        )
        previous, reference_rows = None, current_rows
        reference, no_history = current, []
    else:
        previous, reference_rows = indicator_frame(previous_rows), previous_rows
        reference, no_history = reference_with_history(previous, current)
    if no_history:
        notes.append(
            f"{', '.join(no_history)} has no history: its scale and learnt weight come from the "
            "current values of the previous window's customers; changes leave it out"
        )
    reference_end = as_date(reference_rows["window_end_on"].iloc[0])
    if kept is not None and kept.reference is not None and previous_rows is not None:
        reference, no_history, reference_end = kept.reference, kept.no_history, kept.reference_end

    def score(frame: pd.DataFrame, method: str) -> CustomerScores:
        return score_customers(frame, reference, method, settings, definitions, ahp_matrices)

    by_method: dict[str, CustomerScores] = {settings.weighting: score(current, settings.weighting)}
    for method in WEIGHTINGS:
        if method not in by_method:
            try:
                by_method[method] = score(current, method)
            except ValueError as error:
                notes.append(f"{method} weights could not be learnt: {error}")
    scores = by_method[settings.weighting]
    previous_scores = None if previous is None else score(previous, settings.weighting)
    comparable = scores
    if no_history:
        comparable = score(
            current.assign(**{code: np.nan for code in no_history}), settings.weighting
        )

    customer_indices = _customer_table(
        current_rows,
        scores,
        comparable,
        previous_scores,
        inputs.loyalty_answers,
        settings,
        reference_end,
    )

    current_units = unit_indicators(
        current_rows, scores.loyalty.scores, inputs.managers, inputs.teams
    )
    unit_windows = {"current": (current_rows, current_units)}
    if previous_rows is not None and previous_scores is not None:
        previous_units = unit_indicators(
            previous_rows, previous_scores.loyalty.scores, inputs.managers, inputs.teams
        )
        unit_windows["previous"] = (previous_rows, previous_units)
        unit_reference = previous_units
        if kept is not None and kept.unit_reference is not None:
            unit_reference = kept.unit_reference
    else:
        unit_reference = current_units

    def management(frame: pd.DataFrame, method: str) -> IndexResult:
        return compute_index(
            definitions[MANAGEMENT],
            frame,
            reference=unit_reference,
            weighting=method,
            ahp_matrix=ahp_matrices.get(MANAGEMENT) if method == "ahp" else None,
            min_coverage=settings.min_coverage,
            quantiles=settings.quantiles,
        )

    management_results = {
        name: management(units, settings.weighting) for name, (_, units) in unit_windows.items()
    }
    weight_results: dict[tuple[str, str], IndexResult] = {}
    for method, method_scores in by_method.items():
        weight_results[(LOYALTY, method)] = method_scores.loyalty
        weight_results[(VALUE, method)] = method_scores.value
    for method in WEIGHTINGS:
        try:
            weight_results[(MANAGEMENT, method)] = management(current_units, method)
        except ValueError as error:
            if method == settings.weighting:
                raise
            notes.append(f"H3 {method} weights could not be learnt: {error}")

    current_segments = _segments(current_rows, scores, actions)
    previous_segments = (
        None if previous_scores is None else _segments(previous_rows, previous_scores, actions)
    )
    segments, migration = _segment_tables(
        current_segments,
        previous_segments,
        as_date(current_rows["window_end_on"].iloc[0]),
        None if previous_rows is None else as_date(previous_rows["window_end_on"].iloc[0]),
    )

    references = IndexReferences(
        reference=None if previous_rows is None else reference,
        reference_end=None if previous_rows is None else reference_end,
        no_history=no_history,
        unit_reference=None if previous_rows is None else unit_reference,
        backtest=(
            kept.backtest
            if kept is not None
            else backtest(windows, settings, definitions, ahp_matrices)
        ),
    )
    return IndexTables(
        customer_indices=customer_indices,
        management_level=_management_table(unit_windows, management_results),
        index_weights=_weights_table(weight_results, definitions, settings, reference_end),
        customer_segments=segments,
        segment_migration=migration,
        loyalty_extra_revenue=_extra_revenue_table(current_rows, scores.loyalty, settings),
        index_backtest=references.backtest,
        notes=notes,
        references=references,
    )
