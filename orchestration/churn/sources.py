"""The inputs of the early-warning model and the churn rule of the customer-month spine.

`Sources` holds the few columns the model reads from the warehouse's staging views and
marts, already typed (dates as `datetime64[ns]` at midnight). `load_sources` reads them from
a DuckDB connection; tests and notebooks can build a `Sources` from any DataFrames with the
same column names.

The activity window (days an invoice keeps a customer active) is the dbt var
`activity_window_days`: the churn asset passes `Settings.activity_window_days` (the value dbt
built the spine with); a `Sources` given none takes dbt_project.yml's default.

`is_active_on` is the spine's activity rule (`int_customer_months`, documented in
`_customers__models.yml`) evaluated on any day with only the rows dated on or before that
day. The model uses it for the population at a cutoff (the day before the cutoff, so
nothing dated on or after the cutoff is read); `customer_months` rebuilds the spine's
`is_active` / `is_churned` for data that has not been through dbt. A slow test checks both
against the dbt spine.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields

import pandas as pd

from ..settings import dbt_project_vars

SATISFACTION_SURVEY_KIND = "satisfaction"

DateLike = str | dt.date | pd.Timestamp

# Columns each source must have; the first date column of each is its event date.
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "customers": ("customer_id", "acquired_on"),
    "orders": ("customer_id", "ordered_on", "amount_cny", "is_credit_note"),
    "complaints": ("customer_id", "opened_at"),
    "interactions": ("customer_id", "occurred_at"),
    "contracts": ("customer_id", "start_on", "end_on", "status"),
    "assignments": ("customer_id", "manager_id", "assigned_from"),
    "churn_records": ("customer_id", "churned_on"),
    "survey_answers": ("customer_id", "response_id", "survey_kind", "submitted_on"),
    "customer_months": ("customer_id", "month_start_on", "month_end_on", "is_churned"),
}
DATE_COLUMNS = {
    "customers": ("acquired_on",),
    "orders": ("ordered_on",),
    "complaints": ("opened_at",),
    "interactions": ("occurred_at",),
    "contracts": ("start_on", "end_on"),
    "assignments": ("assigned_from",),
    "churn_records": ("churned_on",),
    "survey_answers": ("submitted_on",),
    "customer_months": ("month_start_on", "month_end_on"),
}
EVENT_DATES = {  # what `as_of` defaults to: the latest day any event table reaches
    "orders": "ordered_on",
    "complaints": "opened_at",
    "interactions": "occurred_at",
    "contracts": "start_on",
    "assignments": "assigned_from",
    "churn_records": "churned_on",
    "survey_answers": "submitted_on",
}


def as_day(value: DateLike) -> pd.Timestamp:
    """A date as a midnight Timestamp (the unit every comparison here uses)."""
    return pd.Timestamp(value).normalize()


@dataclass(frozen=True)
class Sources:
    """What the early-warning model reads, one DataFrame per warehouse relation.

    - customers: `dim_customers` (customer_id, acquired_on)
    - orders: `features_orders` (customer_id, ordered_on, amount_cny, is_credit_note)
    - complaints: `features_complaints` (customer_id, opened_at)
    - interactions: `features_interactions` (customer_id, occurred_at)
    - contracts: `features_contracts` (customer_id, start_on, end_on, status)
    - assignments: `features_account_assignments` (customer_id, manager_id, assigned_from)
    - churn_records: `features_churn_records` (customer_id, churned_on)
    - survey_answers: `fct_survey_answers` (customer_id, response_id, survey_kind,
      submitted_on, score_of_max_pct)
    - customer_months: `features_customer_months`, the spine's flags (customer_id,
      month_start_on, month_end_on, is_churned) or None: labels then come from
      `customer_months()` (the same rule in pandas)
    - as_of: the last day the data covers; None means the latest event date in the tables.
    - activity_window_days: days an invoice keeps a customer active; None means the dbt var
      default in dbt_project.yml (the asset passes the configured one).

    Timestamps are cut to the day: an interaction at 09:00 on the cutoff day is "on the
    cutoff", so it is not before it. No personal data is needed or kept.
    """

    customers: pd.DataFrame
    orders: pd.DataFrame
    complaints: pd.DataFrame
    interactions: pd.DataFrame
    contracts: pd.DataFrame
    assignments: pd.DataFrame
    churn_records: pd.DataFrame
    survey_answers: pd.DataFrame
    customer_months: pd.DataFrame | None = None
    as_of: DateLike | None = None
    activity_window_days: int | None = None

    def __post_init__(self) -> None:
        window = self.activity_window_days
        window = int(dbt_project_vars()["activity_window_days"] if window is None else window)
        if window < 1:
            raise ValueError(f"activity_window_days must be at least 1, got {window}")
        object.__setattr__(self, "activity_window_days", window)
        for field in fields(self):
            if field.name in ("as_of", "activity_window_days"):
                continue
            frame = getattr(self, field.name)
            if frame is None:
                continue
            missing = [c for c in REQUIRED_COLUMNS[field.name] if c not in frame.columns]
            if missing:
                raise ValueError(f"Sources.{field.name} lacks the columns {missing}")
            frame = frame.copy()
            frame["customer_id"] = frame["customer_id"].astype(str)
            for column in DATE_COLUMNS[field.name]:
                frame[column] = pd.to_datetime(frame[column]).dt.normalize()
            object.__setattr__(self, field.name, frame)
        orders = self.orders
        orders["amount_cny"] = pd.to_numeric(orders["amount_cny"]).astype(float)
        orders["is_credit_note"] = orders["is_credit_note"].astype(bool)
        if "score_of_max_pct" not in self.survey_answers:
            raise ValueError("Sources.survey_answers lacks the column score_of_max_pct")
        if self.as_of is None:
            latest = [getattr(self, name)[column].max() for name, column in EVENT_DATES.items()]
            latest = [day for day in latest if pd.notna(day)]
            if not latest:
                raise ValueError("the sources hold no dated rows: nothing to learn from")
            object.__setattr__(self, "as_of", max(latest))
        else:
            object.__setattr__(self, "as_of", as_day(self.as_of))


QUERIES = {
    "customers": "select customer_id, acquired_on from dim_customers",
    "orders": (
        "select customer_id, ordered_on, cast(amount_cny as double) as amount_cny, "
        "is_credit_note from features_orders"
    ),
    "complaints": "select customer_id, opened_at from features_complaints",
    "interactions": "select customer_id, occurred_at from features_interactions",
    "contracts": "select customer_id, start_on, end_on, status from features_contracts",
    "assignments": (
        "select customer_id, manager_id, assigned_from from features_account_assignments"
    ),
    "churn_records": "select customer_id, churned_on from features_churn_records",
    "survey_answers": (
        "select customer_id, response_id, survey_kind, submitted_on, score_of_max_pct "
        "from fct_survey_answers"
    ),
    "customer_months": (
        "select customer_id, month_start_on, month_end_on, is_active, is_churned "
        "from features_customer_months"
    ),
}


# What the labels read of the spine: its churned months, and its last month (the check
# that the spine reaches the end of a label window). A tenth of the rows or less.
LABEL_MONTHS = (
    " where is_churned or month_end_on = (select max(month_end_on) from features_customer_months)"
)


def load_sources(
    con,
    as_of: DateLike | None = None,
    whole_spine: bool = False,
    activity_window_days: int | None = None,
) -> Sources:
    """Read the model's inputs from a DuckDB connection to the warehouse (any schema on the
    search path holding the dbt relations). Only the listed columns are read: no names,
    phones or e-mails. Of the spine only the months the labels read (`LABEL_MONTHS`), unless
    `whole_spine` (36 million rows at a million customers)."""
    frames = {
        name: con.execute(
            query + (LABEL_MONTHS if name == "customer_months" and not whole_spine else "")
        ).df()
        for name, query in QUERIES.items()
    }
    return Sources(**frames, as_of=as_of, activity_window_days=activity_window_days)


def _last_on_or_before(
    frame: pd.DataFrame, column: str, day: pd.Timestamp, mask: pd.Series | None = None
) -> pd.Series:
    """Per customer, the latest `column` on or before `day`."""
    keep = frame[column] <= day
    if mask is not None:
        keep &= mask
    return frame.loc[keep].groupby("customer_id")[column].max()


def is_active_on(
    sources: Sources, day: DateLike, activity_window_days: int | None = None
) -> pd.Series:
    """The spine's status at the end of `day`, from rows dated on or before `day` only.

    Active: acquired by `day`, and a contract open on `day` (start_on <= day <= end_on) or
    an invoice (not a credit note) in the `activity_window_days` days up to `day` (default:
    the sources' window) — unless a churn record is the latest event (on or after the last
    invoice and the last contract start, or the acquisition where there is none). Returns a
    boolean Series indexed by customer_id over the customers acquired by `day`.
    """
    day = as_day(day)
    if activity_window_days is None:
        activity_window_days = sources.activity_window_days
    customers = sources.customers.loc[sources.customers["acquired_on"] <= day]
    acquired = customers.set_index("customer_id")["acquired_on"]
    orders = sources.orders
    last_order = _last_on_or_before(orders, "ordered_on", day, ~orders["is_credit_note"])
    last_order = last_order.reindex(acquired.index)
    last_start = _last_on_or_before(sources.contracts, "start_on", day).reindex(acquired.index)
    last_churn = _last_on_or_before(sources.churn_records, "churned_on", day).reindex(
        acquired.index
    )
    contracts = sources.contracts
    open_on_day = contracts.loc[(contracts["start_on"] <= day) & (contracts["end_on"] >= day)]
    has_contract = acquired.index.isin(open_on_day["customer_id"])
    recent_order = last_order > day - pd.Timedelta(days=activity_window_days)
    churn_is_latest = (
        last_churn.notna()
        & (last_churn >= last_order.fillna(acquired))
        & (last_churn >= last_start.fillna(acquired))
    )
    active = (has_contract | recent_order.to_numpy()) & ~churn_is_latest.to_numpy()
    return pd.Series(active, index=acquired.index, name="is_active")


def lapses_on(sources: Sources, day: DateLike) -> pd.Series:
    """Per customer active at the end of `day`, the first day the activity rule calls them
    lost if nothing new happens: the later of (last invoice + activity window) and (the day
    after the latest end of a contract started by `day`). From rows dated on or before `day`;
    a Series of Timestamps indexed by customer_id."""
    day = as_day(day)
    active = is_active_on(sources, day)
    index = active.index[active.to_numpy()]
    orders = sources.orders
    last_order = _last_on_or_before(orders, "ordered_on", day, ~orders["is_credit_note"])
    by_order = last_order.reindex(index) + pd.Timedelta(days=sources.activity_window_days)
    contracts = sources.contracts.loc[sources.contracts["start_on"] <= day]
    last_end = contracts.groupby("customer_id")["end_on"].max().reindex(index)
    by_contract = last_end + pd.Timedelta(days=1)
    lapse = pd.concat([by_order, by_contract], axis=1).max(axis=1)
    return lapse.rename("lapses_on").rename_axis("customer_id")


def lost_by_activity_rule(sources: Sources, day: DateLike) -> pd.Series:
    """Per customer active at the end of `day`: True when the activity rule calls them lost
    by the spine's next month close (the last day of the month of `day` + 1 day) unless they
    order or sign before it (`lapses_on` on or before that close). Such a customer is lost in
    practice (an invoice nearly a whole activity window old, no contract to carry them):
    a win-back case rather than an early warning."""
    close = as_day(day) + pd.Timedelta(days=1) + pd.offsets.MonthEnd(0)
    return (lapses_on(sources, day) <= close).rename("is_lost_by_activity_rule")


def month_ends(first: DateLike, last: DateLike) -> list[pd.Timestamp]:
    """The last days of the months from `first`'s month to `last`'s month."""
    ends = pd.date_range(as_day(first), as_day(last) + pd.offsets.MonthEnd(0), freq="ME")
    return list(ends)


def customer_months(
    sources: Sources,
    first_month: DateLike,
    last_month: DateLike,
    activity_window_days: int | None = None,
) -> pd.DataFrame:
    """The spine's rows from `first_month` to `last_month` rebuilt in pandas: customer_id,
    month_start_on, month_end_on (capped at `sources.as_of`), is_active, is_churned (active
    at the end of the previous month, not at the end of this one)."""
    ends = month_ends(first_month, last_month)
    if not ends:
        raise ValueError(f"no month between {first_month} and {last_month}")
    previous = ends[0] - pd.offsets.MonthEnd(1)
    status = {previous: is_active_on(sources, previous, activity_window_days)}
    rows = []
    for end in ends:
        measured = min(end, sources.as_of)
        status[end] = is_active_on(sources, measured, activity_window_days)
        before = status[previous].reindex(status[end].index, fill_value=False)
        rows.append(
            pd.DataFrame(
                {
                    "customer_id": status[end].index,
                    "month_start_on": end - pd.offsets.MonthBegin(1),
                    "month_end_on": measured,
                    "is_active": status[end].to_numpy(),
                    "is_churned": (before & ~status[end]).to_numpy(),
                }
            )
        )
        previous = end
    return pd.concat(rows, ignore_index=True)
