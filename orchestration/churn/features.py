"""Features frozen at a cutoff, and the churn label of the window after it.

Point in time: a cutoff is a day; the features read only rows dated strictly before it (the
state at the start of the cutoff day) and the label looks at the days from the cutoff on.
The population at a cutoff is every customer the spine's rule calls active at the end of
the day before (`is_active_on(sources, cutoff - 1 day)`), judged from those rows alone, so a
customer is never in or out of the population because of something that happened later.

Every feature names the reason it gives when it raises a customer's risk (English / Chinese)
and the direction in which it does so (`FEATURES`), and the source table it is computed from
(`FEATURE_SOURCES`). A feature whose source table holds no row up to as_of (a firm that
exports orders only) is not built: it would only restate the tenure or a constant, and give
reasons such as "no touch for long" that the firm's data cannot support.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .sources import (
    DATE_COLUMNS,
    SATISFACTION_SURVEY_KIND,
    DateLike,
    Sources,
    as_day,
    customer_months,
    is_active_on,
)

DEFAULT_WINDOW_DAYS = 180
NO_CONTRACT_DAYS = 365  # days_to_contract_end of a customer with no open contract: "far off"
KEYS = ("customer_id", "cutoff")


@dataclass(frozen=True)
class Feature:
    """One model input. `risk_direction` +1: a higher value raises the risk; -1: a lower one
    does; 0: unknown (a caller's extra column). A reason is only shown for a value on the
    risky side of the training reference."""

    name: str
    risk_direction: int
    reason_en: str
    reason_zh: str
    description: str

    @property
    def reason(self) -> str:
        return f"{self.reason_en} / {self.reason_zh}"


FEATURES: tuple[Feature, ...] = (
    Feature(
        "orders_90d", -1, "few orders in the last 90 days", "近90天订单少",
        "Invoices (credit notes excluded) dated in the 90 days before the cutoff.",
    ),
    Feature(
        "orders_180d", -1, "few orders in the last 180 days", "近180天订单少",
        "Invoices in the 180 days before the cutoff.",
    ),
    Feature(
        "orders_365d", -1, "few orders in the last year", "近一年订单少",
        "Invoices in the 365 days before the cutoff.",
    ),
    Feature(
        "order_trend_180d", -1, "purchase frequency falling", "购买频率下降",
        "Invoices in the last 180 days minus those in the 180 days before them.",
    ),
    Feature(
        "days_since_last_order", 1, "long since the last order", "距上次下单时间长",
        "Days from the last invoice to the cutoff (from the acquisition when none).",
    ),
    Feature(
        "complaints_180d", 1, "complaints in the last 180 days", "近180天有投诉",
        "Complaints opened in the 180 days before the cutoff.",
    ),
    Feature(
        "complaint_trend_180d", 1, "complaints rising", "投诉增加",
        "Complaints in the last 180 days minus those in the 180 days before them.",
    ),
    Feature(
        "satisfaction_latest_pct", -1, "low satisfaction", "满意度低",
        "Mean score (% of the scale maximum) of the latest satisfaction-survey response "
        "before the cutoff; empty without one.",
    ),
    Feature(
        "satisfaction_change_pct", -1, "satisfaction falling", "满意度下降",
        "Latest satisfaction response minus the one before it (points); empty without two.",
    ),
    Feature(
        "days_since_last_interaction", 1, "no touch for long", "长期未联系",
        "Days from the last interaction to the cutoff (from the acquisition when none).",
    ),
    Feature(
        "manager_changed_365d", 1, "account manager changed", "客户经理变更",
        "1 when a different account manager took over in the 365 days before the cutoff.",
    ),
    Feature(
        "has_open_contract", -1, "no open contract", "无有效合同",
        "1 when a contract signed before the cutoff is open on the cutoff day.",
    ),
    Feature(
        "days_to_contract_end", -1, "contract ending soon", "合同即将到期",
        f"Days from the cutoff to the nearest planned end of an open contract (at most "
        f"{NO_CONTRACT_DAYS}; {NO_CONTRACT_DAYS} without one). End dates are known at signing; "
        "for a contract terminated after the cutoff the early end was not, so its planned end "
        "is taken as start + the median term of contracts that ran their course.",
    ),
    Feature(
        "tenure_days", -1, "young relationship", "合作时间短",
        "Days from the acquisition to the cutoff.",
    ),
)  # fmt: skip
# Extra columns a caller may pass (from the CLV models), with their reasons.
EXTRA_FEATURES: tuple[Feature, ...] = (
    Feature(
        "p_alive", -1, "low P(alive)", "存活概率低",
        "Probability the customer is still alive (Pareto/NBD or BG/NBD) at the cutoff.",
    ),
    Feature(
        "expected_purchases", -1, "few expected purchases", "预期购买次数少",
        "Purchases the CLV model expects in the window after the cutoff.",
    ),
)  # fmt: skip
FEATURE_NAMES = tuple(f.name for f in FEATURES)
# The `Sources` table each built feature is computed from.
FEATURE_SOURCES: dict[str, str] = {
    "orders_90d": "orders",
    "orders_180d": "orders",
    "orders_365d": "orders",
    "order_trend_180d": "orders",
    "days_since_last_order": "orders",
    "complaints_180d": "complaints",
    "complaint_trend_180d": "complaints",
    "satisfaction_latest_pct": "survey_answers",
    "satisfaction_change_pct": "survey_answers",
    "days_since_last_interaction": "interactions",
    "manager_changed_365d": "assignments",
    "has_open_contract": "contracts",
    "days_to_contract_end": "contracts",
    "tenure_days": "customers",
}


def available_features(sources: Sources) -> tuple[str, ...]:
    """The built features whose source table has a row dated on or before `sources.as_of`
    (for survey answers: a satisfaction answer); the others are left out of the model."""
    answers = sources.survey_answers
    rows = {name: getattr(sources, name) for name in set(FEATURE_SOURCES.values())} | {
        "survey_answers": answers.loc[answers["survey_kind"].eq(SATISFACTION_SURVEY_KIND)]
    }
    dated = {
        name: frame.loc[frame[DATE_COLUMNS[name][0]] <= sources.as_of]
        for name, frame in rows.items()
    }
    return tuple(name for name in FEATURE_NAMES if not dated[FEATURE_SOURCES[name]].empty)


def feature_catalogue(names: list[str] | tuple[str, ...] | None = None) -> dict[str, Feature]:
    """The `Feature` of each name; an unknown extra column gets its own name as the reason
    and no known direction."""
    known = {f.name: f for f in FEATURES + EXTRA_FEATURES}
    names = FEATURE_NAMES if names is None else names
    return {
        name: known.get(name, Feature(name, 0, name, name, "A column the caller passed."))
        for name in names
    }


def _active_population(sources: Sources, cutoff: pd.Timestamp) -> pd.Index:
    """Customers active at the end of the day before the cutoff (rows before the cutoff)."""
    if cutoff - pd.Timedelta(days=1) > sources.as_of:
        raise ValueError(
            f"cutoff {cutoff.date()} is more than a day after the data ends "
            f"({sources.as_of.date()}): the features would miss the days in between"
        )
    active = is_active_on(sources, cutoff - pd.Timedelta(days=1))
    population = active.index[active.to_numpy()].sort_values()
    if population.empty:
        raise ValueError(
            f"no customer is active at cutoff {cutoff.date()}: no data before it "
            "(is the cutoff before the first order?)"
        )
    return population


def _counts(
    days_before: pd.Series, owner: pd.Series, low: int, high: int, index: pd.Index
) -> pd.Series:
    """Per customer, events with low < days before the cutoff <= high."""
    keep = (days_before > low) & (days_before <= high)
    return owner[keep].value_counts().reindex(index, fill_value=0).astype(float)


def _days_before(frame: pd.DataFrame, column: str, cutoff: pd.Timestamp) -> pd.DataFrame:
    """The rows dated strictly before the cutoff, with their distance in days (>= 1)."""
    before = frame.loc[frame[column] < cutoff]
    return before.assign(_days=(cutoff - before[column]).dt.days)


def _planned_contract_end(contracts: pd.DataFrame, cutoff: pd.Timestamp) -> pd.Series:
    """end_on as known at the cutoff: a contract terminated on or after the cutoff shows its
    early end, which was not known then; its planned end is start + the median term of
    contracts that were not terminated."""
    terminated = contracts["status"].astype(str).str.lower().eq("terminated")
    term = (contracts["end_on"] - contracts["start_on"]).dt.days + 1
    ran_course = term[~terminated & (contracts["start_on"] < cutoff)]
    if ran_course.empty:
        return contracts["end_on"]
    planned = contracts["start_on"] + pd.to_timedelta(float(ran_course.median()) - 1, unit="D")
    unknown_then = terminated & (contracts["end_on"] >= cutoff)
    return contracts["end_on"].where(~unknown_then, planned.dt.normalize())


def build_features(
    sources: Sources, cutoff: DateLike, extra: pd.DataFrame | None = None
) -> pd.DataFrame:
    """One row per customer active at the cutoff: customer_id, cutoff, then the
    `available_features` (those of `FEATURE_NAMES` whose source table is not empty) and any
    extra columns, computed from rows dated strictly before the cutoff.

    `extra`: optional per-customer columns (p_alive, expected_purchases, ...) keyed by
    customer_id, and by cutoff when it has that column; the caller must have computed them
    from data before the cutoff. Customers it lacks get NaN (the model imputes).
    """
    cutoff = as_day(cutoff)
    index = _active_population(sources, cutoff)
    acquired = sources.customers.set_index("customer_id")["acquired_on"].reindex(index)
    tenure = (cutoff - acquired).dt.days.astype(float)
    out = pd.DataFrame(index=index)

    orders = _days_before(sources.orders, "ordered_on", cutoff)
    invoices = orders.loc[~orders["is_credit_note"]]
    owner, days = invoices["customer_id"], invoices["_days"]
    out["orders_90d"] = _counts(days, owner, 0, 90, index)
    out["orders_180d"] = _counts(days, owner, 0, 180, index)
    out["orders_365d"] = _counts(days, owner, 0, 365, index)
    out["order_trend_180d"] = out["orders_180d"] - _counts(days, owner, 180, 360, index)
    last = days.groupby(owner).min().reindex(index).astype(float)
    out["days_since_last_order"] = last.fillna(tenure)

    complaints = _days_before(sources.complaints, "opened_at", cutoff)
    owner, days = complaints["customer_id"], complaints["_days"]
    out["complaints_180d"] = _counts(days, owner, 0, 180, index)
    out["complaint_trend_180d"] = out["complaints_180d"] - _counts(days, owner, 180, 360, index)

    answers = sources.survey_answers
    answers = answers.loc[
        (answers["submitted_on"] < cutoff)
        & answers["survey_kind"].eq(SATISFACTION_SURVEY_KIND)
        & answers["score_of_max_pct"].notna()
    ]
    responses = (
        answers.groupby(["customer_id", "response_id"], as_index=False)
        .agg(submitted_on=("submitted_on", "max"), score=("score_of_max_pct", "mean"))
        .sort_values(["customer_id", "submitted_on", "response_id"])
    )
    from_last = responses.groupby("customer_id").cumcount(ascending=False)
    latest = responses.loc[from_last == 0].set_index("customer_id")["score"]
    previous = responses.loc[from_last == 1].set_index("customer_id")["score"]
    out["satisfaction_latest_pct"] = latest.reindex(index).astype(float)
    out["satisfaction_change_pct"] = (latest - previous).reindex(index).astype(float)

    touches = _days_before(sources.interactions, "occurred_at", cutoff)
    last = touches.groupby("customer_id")["_days"].min().reindex(index).astype(float)
    out["days_since_last_interaction"] = last.fillna(tenure)

    spells = sources.assignments.loc[sources.assignments["assigned_from"] < cutoff]
    spells = spells.sort_values(["customer_id", "assigned_from"])
    before = spells.groupby("customer_id")["manager_id"].shift()
    changed = before.notna() & spells["manager_id"].ne(before)
    recent = spells["assigned_from"] >= cutoff - pd.Timedelta(days=365)
    changers = spells.loc[changed & recent, "customer_id"].unique()
    out["manager_changed_365d"] = index.isin(changers).astype(float)

    contracts = sources.contracts.loc[sources.contracts["start_on"] < cutoff]
    planned_end = _planned_contract_end(contracts, cutoff)
    open_ = contracts.assign(_end=planned_end).loc[planned_end >= cutoff]
    to_end = (open_["_end"] - cutoff).dt.days.groupby(open_["customer_id"]).min()
    out["has_open_contract"] = index.isin(open_["customer_id"]).astype(float)
    out["days_to_contract_end"] = (
        to_end.reindex(index).clip(upper=NO_CONTRACT_DAYS).fillna(NO_CONTRACT_DAYS).astype(float)
    )
    out["tenure_days"] = tenure
    out = out[list(available_features(sources))]

    if extra is not None:
        out = out.join(_extra_at(extra, cutoff, set(out.columns)))
    out = out.rename_axis("customer_id").reset_index()
    out.insert(1, "cutoff", cutoff)
    return out


def _extra_at(extra: pd.DataFrame, cutoff: pd.Timestamp, taken: set[str]) -> pd.DataFrame:
    """The caller's extra columns for this cutoff, indexed by customer_id."""
    if "customer_id" not in extra:
        raise ValueError("extra features need a customer_id column")
    rows = extra
    if "cutoff" in extra:
        rows = extra.loc[pd.to_datetime(extra["cutoff"]).dt.normalize() == cutoff]
    rows = rows.drop(columns=["cutoff"], errors="ignore").set_index("customer_id")
    rows.index = rows.index.astype(str)
    if rows.index.duplicated().any():
        raise ValueError(f"extra features repeat customers at cutoff {cutoff.date()}")
    clash = sorted(taken & set(rows.columns))
    if clash:
        raise ValueError(f"extra features clash with built ones: {clash}")
    return rows.apply(pd.to_numeric, errors="raise").astype(float)


def build_labels(
    sources: Sources, cutoff: DateLike, window_days: int = DEFAULT_WINDOW_DAYS
) -> pd.DataFrame:
    """customer_id, cutoff, churned for the customers active at the cutoff (the same rows as
    `build_features`): churned when, in the days cutoff .. cutoff + window_days (both
    included), the CRM records a churn, or the spine marks a churned month whose end falls
    in those days. With month-start cutoffs the months are whole: 2025-01-01 + 180 days
    covers January to June.

    The spine is `sources.customer_months` (dbt's `int_customer_months`) when given, else
    the same rule rebuilt in pandas (`customer_months`). The window must end by
    `sources.as_of`, or the label would call customers loyal for lack of data.
    """
    cutoff = as_day(cutoff)
    if window_days < 1:
        raise ValueError("window_days must be at least 1")
    end = cutoff + pd.Timedelta(days=window_days)
    if end > sources.as_of:
        raise ValueError(
            f"the window of cutoff {cutoff.date()} ends on {end.date()}, after the data "
            f"({sources.as_of.date()}): its labels are not known yet"
        )
    index = _active_population(sources, cutoff)
    spine = sources.customer_months
    if spine is None:
        spine = customer_months(sources, cutoff, end)
    elif spine["month_end_on"].max() < end:
        raise ValueError(
            f"the spine ends on {spine['month_end_on'].max().date()}, before the window of "
            f"cutoff {cutoff.date()} ({end.date()}): rebuild it with a later dbt as_of"
        )
    in_window = spine["month_end_on"].between(cutoff, end) & spine["is_churned"].astype(bool)
    records = sources.churn_records
    recorded = records["churned_on"].between(cutoff, end)
    churners = set(spine.loc[in_window, "customer_id"]) | set(records.loc[recorded, "customer_id"])
    return pd.DataFrame(
        {"customer_id": index, "cutoff": cutoff, "churned": np.asarray(index.isin(churners))}
    )
