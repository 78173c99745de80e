"""The early-warning model's inputs: the contracted dbt model `features_churn`, read as is.

`features_churn` (models/marts/features/, every column defined in _features__models.yml)
holds one row per cutoff and customer: the backtest cutoffs (month starts
`churn_cutoff_spacing_months` apart whose `churn_window_days` label window has closed by
as_of, at most `churn_cutoffs`) and as_of + 1 day, the scoring cutoff. Features, the
population (the spine's activity rule the day before the cutoff), the labels and the
activity rule's "about to be lost" flag are computed there, in SQL; Python only trains and
scores. Customers are integer keys (`customer_key`, in the order of `customer_id`); the
text id is read for the scored customers only, to write the published tables.

`ChurnData` can also be built from a DataFrame with the model's columns (tests, notebooks).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .features import FEATURE_NAMES, KEYS

DateLike = str | dt.date | pd.Timestamp
LABEL = "churned"

# The model's rows the assets read: the population at every cutoff (features, labels, the
# lost flag), the scored customers' ids, and every buyer's invoice days (Pareto/NBD).
POPULATION_QUERY = (
    "select cutoff_on, customer_key, as_of_on, is_scoring_cutoff, is_lost_by_activity_rule, "
    f"label_window_end_on, is_churned_in_window, {', '.join(FEATURE_NAMES)} "
    "from features_churn where is_active_at_cutoff order by cutoff_on, customer_key"
)
IDS_QUERY = (
    "select customer_key, customer_id from features_churn "
    "where is_scoring_cutoff and is_active_at_cutoff order by customer_key"
)
BUYERS_QUERY = (
    "select cutoff_on, customer_key, invoice_day_count, first_invoiced_on, last_invoiced_on "
    "from features_churn where not is_scoring_cutoff and invoice_day_count > 0 "
    "order by cutoff_on, customer_key"
)


def as_day(value: DateLike) -> pd.Timestamp:
    """A date as a midnight Timestamp (the unit every comparison here uses)."""
    return pd.Timestamp(value).normalize()


def _days(column: pd.Series) -> pd.Series:
    return pd.to_datetime(column).dt.normalize().astype("datetime64[ns]")


@dataclass(frozen=True)
class ChurnData:
    """`features_churn` split the way the model uses it.

    - population: the rows with is_active_at_cutoff, ordered by cutoff and customer_key:
      customer_key, cutoff (datetime64), is_scoring_cutoff, is_lost_by_activity_rule,
      label_window_end_on, churned (None at the scoring cutoff) and the features;
    - customer_ids: customer_id by customer_key, for the scored customers;
    - buyers: per backtest cutoff and customer with an invoice before it: invoice_day_count,
      first_invoiced_on, last_invoiced_on (the Pareto/NBD benchmark's x, t_x and T);
    - as_of: the reporting date the model was built for.
    """

    population: pd.DataFrame
    customer_ids: pd.Series
    buyers: pd.DataFrame
    as_of: pd.Timestamp

    @property
    def features(self) -> tuple[str, ...]:
        """The features the model may use: those not NULL in every row. The SQL leaves a
        feature NULL when its source table has no row up to as_of (a firm that exports
        orders only), so "no touch for long" is never said of a firm without interactions."""
        known = self.population[list(FEATURE_NAMES)].notna().any()
        return tuple(name for name in FEATURE_NAMES if known[name])

    @property
    def cutoffs(self) -> list[pd.Timestamp]:
        """The backtest cutoffs, oldest first."""
        rows = self.population.loc[~self.population["is_scoring_cutoff"], "cutoff"]
        return sorted(pd.Timestamp(c) for c in rows.unique())

    @property
    def scoring_cutoff(self) -> pd.Timestamp:
        """as_of + 1 day: the scored features read the rows dated up to as_of."""
        return self.as_of + pd.Timedelta(days=1)

    def window_days(self) -> int | None:
        """The label window the model was built with (None without a backtest cutoff)."""
        rows = self.population.loc[~self.population["is_scoring_cutoff"]]
        if rows.empty:
            return None
        days = (_days(rows["label_window_end_on"]) - rows["cutoff"]).dt.days.unique()
        if days.size != 1:
            raise ValueError(f"features_churn has label windows of {sorted(days)} days")
        return int(days[0])

    def frame(self, cutoff: DateLike) -> pd.DataFrame:
        """A backtest cutoff's rows: customer_key, cutoff, the features, churned."""
        cutoff = as_day(cutoff)
        rows = self.population.loc[
            (self.population["cutoff"] == cutoff) & ~self.population["is_scoring_cutoff"]
        ]
        if rows.empty:
            raise ValueError(
                f"no customer is active at cutoff {cutoff.date()}, or it is not a backtest "
                f"cutoff of features_churn ({[str(c.date()) for c in self.cutoffs]})"
            )
        out = rows[[*KEYS, *self.features]].reset_index(drop=True)
        out[LABEL] = rows[LABEL].astype(bool).to_numpy()
        return out

    def scoring(self) -> pd.DataFrame:
        """The customers active at as_of: customer_key, cutoff (as_of + 1 day), the features."""
        rows = self.population.loc[self.population["is_scoring_cutoff"]]
        if rows.empty:
            raise ValueError(f"no customer is active at as_of {self.as_of.date()}")
        return rows[[*KEYS, *self.features]].reset_index(drop=True)

    def lost(self) -> pd.Series:
        """Per customer active at as_of (by customer_key): the activity rule calls them lost
        by the spine's next month close unless they order or sign before it."""
        rows = self.population.loc[self.population["is_scoring_cutoff"]]
        flags = rows.set_index("customer_key")["is_lost_by_activity_rule"].astype(bool)
        return flags.rename("is_lost_by_activity_rule")


def _default_index(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with a 0..n-1 index: itself when it has one (reset_index would copy it)."""
    if isinstance(frame.index, pd.RangeIndex) and frame.index.equals(pd.RangeIndex(len(frame))):
        return frame
    return frame.reset_index(drop=True)


def churn_data(
    population: pd.DataFrame,
    customer_ids: pd.DataFrame,
    buyers: pd.DataFrame,
    as_of: DateLike | None = None,
    *,
    own: bool = False,
) -> ChurnData:
    """A `ChurnData` from the three queries' frames (the model's column names), typed:
    dates as midnight datetime64, features as float, keys as int64. `own`: the frames are
    this call's to change (`load_churn_data`'s fresh query results), so they are typed in
    place instead of copied first: at 1,000,000 customers that keeps about 700 MiB less at
    the peak of the read."""
    columns = {"cutoff_on": "cutoff", "is_churned_in_window": LABEL}
    if own:
        population.rename(columns=columns, inplace=True)
    else:
        population = population.rename(columns=columns)  # a copy: the caller's is kept
    population["cutoff"] = _days(population["cutoff"])
    population["customer_key"] = population["customer_key"].astype(np.int64)
    for name in ("is_scoring_cutoff", "is_lost_by_activity_rule"):
        population[name] = population[name].astype(bool)
    for name in FEATURE_NAMES:
        population[name] = pd.to_numeric(population[name]).astype(float)
    if as_of is None:
        if population.empty:
            raise ValueError("features_churn is empty: no customer at any cutoff")
        as_of = population["as_of_on"].iloc[0]
    if own:
        buyers.rename(columns={"cutoff_on": "cutoff"}, inplace=True)
    else:
        buyers = buyers.rename(columns={"cutoff_on": "cutoff"})
    for name in ("cutoff", "first_invoiced_on", "last_invoiced_on"):
        buyers[name] = _days(buyers[name])
    ids = customer_ids.set_index(customer_ids["customer_key"].astype(np.int64))["customer_id"]
    return ChurnData(
        population=_default_index(population),
        customer_ids=ids.astype(str),
        buyers=_default_index(buyers),
        as_of=as_day(as_of),
    )


def load_churn_data(con) -> ChurnData:
    """Read `features_churn` from a DuckDB connection to the warehouse (any schema on the
    search path holding the dbt relations): no personal data, ids of the scored only."""
    population = con.execute(POPULATION_QUERY).df()
    ids = con.execute(IDS_QUERY).df()
    buyers = con.execute(BUYERS_QUERY).df()
    as_of = None
    if population.empty:
        as_of = con.execute("select max(as_of_on) from features_churn").fetchone()[0]
    return churn_data(population, ids, buyers, as_of, own=True)
