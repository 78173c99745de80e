"""Per-customer RFM summary (x, t_x, T, mean repeat spend, holdout) from transactions.

CDNOW conventions (Fader, Hardie & Lee 2005), which the published CDNOW summary follows:
- all purchases of one customer on one calendar day are one transaction (amounts summed);
- the first transaction is the customer's "birth"; x counts the *repeat* transactions up
  to and including the calibration end;
- t_x is the time from the first to the last repeat transaction (0 when x = 0) and T the
  time from the first transaction to the calibration end, in the chosen time unit
  (days; weeks = 7 days; months = 365.25/12 days);
- mean_spend is the mean value of the repeat transactions (the first purchase is left out,
  as in the Gamma-Gamma papers), 0 when x = 0;
- customers whose first transaction falls after the calibration end are left out;
- with an observation end, x_holdout counts the transactions in (calibration end,
  observation end], spend_holdout sums their values, and duration_holdout is that window
  in the time unit.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from ._common import time_unit_days

DateLike = str | dt.date | pd.Timestamp


def rfm_summary(
    transactions: pd.DataFrame,
    calibration_end: DateLike,
    observation_end: DateLike | None = None,
    time_unit: str = "weeks",
    customer_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str = "amount",
) -> pd.DataFrame:
    """One row per customer, indexed by customer id, with x, t_x, T, mean_spend (and the
    holdout columns when `observation_end` is given). Dates are cut to the calendar day."""
    missing = [c for c in (customer_col, date_col, amount_col) if c not in transactions]
    if missing:
        raise ValueError(f"transactions lack the columns {missing}")
    days = time_unit_days(time_unit)
    cal_end = pd.Timestamp(calibration_end).normalize()
    obs_end = None if observation_end is None else pd.Timestamp(observation_end).normalize()
    if obs_end is not None and obs_end < cal_end:
        raise ValueError(f"observation end {obs_end.date()} is before calibration end")

    frame = pd.DataFrame(
        {
            "customer": transactions[customer_col].to_numpy(),
            "day": pd.to_datetime(transactions[date_col]).dt.normalize().to_numpy(),
            "amount": pd.to_numeric(transactions[amount_col]).to_numpy(dtype=float),
        }
    )
    if frame["customer"].isna().any() or frame["day"].isna().any():
        raise ValueError("transactions have missing customer ids or dates")
    if frame["amount"].isna().any():
        raise ValueError("transactions have missing amounts")
    daily = frame.groupby(["customer", "day"], as_index=False, sort=True)["amount"].sum()
    first = daily.groupby("customer")["day"].transform("min")
    daily = daily[first <= cal_end]
    first = first[first <= cal_end]
    if daily.empty:
        raise ValueError(
            f"no customer made a first purchase by the calibration end {cal_end.date()}"
        )

    calibration = daily[daily["day"] <= cal_end].assign(age=(daily["day"] - first).dt.days / days)
    is_repeat = calibration["age"] > 0  # one transaction a day, so only the first has age 0
    repeats = (
        calibration[is_repeat]
        .groupby("customer")
        .agg(x=("age", "size"), t_x=("age", "max"), mean_spend=("amount", "mean"))
    )
    births = calibration.loc[~is_repeat].set_index("customer")["day"]
    summary = pd.DataFrame(index=births.index.rename(customer_col))
    summary["x"] = repeats["x"].reindex(summary.index, fill_value=0).astype(int)
    summary["t_x"] = repeats["t_x"].reindex(summary.index, fill_value=0.0)
    summary["T"] = (cal_end - births).dt.days.to_numpy() / days
    summary["mean_spend"] = repeats["mean_spend"].reindex(summary.index, fill_value=0.0)

    if obs_end is not None:
        holdout = daily[(daily["day"] > cal_end) & (daily["day"] <= obs_end)]
        grouped = holdout.groupby("customer")["amount"]
        summary["x_holdout"] = grouped.size().reindex(summary.index, fill_value=0).astype(int)
        summary["spend_holdout"] = grouped.sum().reindex(summary.index, fill_value=0.0)
        summary["duration_holdout"] = (obs_end - cal_end).days / days
    return summary


def rfm_summary_sql(
    relation: str,
    calibration_end: DateLike,
    observation_end: DateLike,
    time_unit: str = "weeks",
    customer_col: str = "customer_id",
    date_col: str = "date",
) -> str:
    """`rfm_summary` as one DuckDB query over `relation` (a table, view or parenthesised
    query with one row per transaction), for a warehouse too large to read its transactions
    into pandas: per customer, ordered by customer, the columns customer_id, x, t_x, T,
    x_holdout and duration_holdout, equal to `rfm_summary`'s (the same day counts divided by
    the same float). The spend columns are left out: what this serves (the purchase models'
    holdout comparison) reads counts and times only."""
    days = time_unit_days(time_unit)
    cal_end = pd.Timestamp(calibration_end).date().isoformat()
    obs_end = pd.Timestamp(observation_end).date().isoformat()
    if obs_end < cal_end:
        raise ValueError(f"observation end {obs_end} is before calibration end")
    return f"""
        with purchase_days as (
            select distinct
                {customer_col} as customer_id,
                cast({date_col} as date) as purchased_on
            from {relation}
            where cast({date_col} as date) <= date '{obs_end}'
        ),
        births as (
            select customer_id, min(purchased_on) as born_on
            from purchase_days
            group by customer_id
            having min(purchased_on) <= date '{cal_end}'
        )
        select
            births.customer_id,
            count(*) filter (
                where purchased_on > born_on and purchased_on <= date '{cal_end}'
            ) as x,
            coalesce(max(date_diff('day', born_on, purchased_on)) filter (
                where purchased_on <= date '{cal_end}'
            ), 0) / cast({days!r} as double) as t_x,
            date_diff('day', born_on, date '{cal_end}') / cast({days!r} as double) as "T",
            count(*) filter (where purchased_on > date '{cal_end}') as x_holdout,
            date_diff('day', date '{cal_end}', date '{obs_end}') / cast({days!r} as double)
                as duration_holdout
        from births
        inner join purchase_days on births.customer_id = purchase_days.customer_id
        group by births.customer_id, born_on
        order by births.customer_id
    """


def read_cdnow(path: str | Path) -> pd.DataFrame:
    """The CDNOW sample file (whitespace separated: master id, sample id, YYYYMMDD, CDs,
    dollar value) as transactions with customer_id (the sample id), date and amount."""
    raw = pd.read_csv(
        path,
        sep=r"\s+",
        header=None,
        names=["master_id", "customer_id", "date", "cds", "amount"],
        dtype={"master_id": str, "customer_id": int, "date": str},
    )
    raw["date"] = pd.to_datetime(raw["date"], format="%Y%m%d")
    return raw[["customer_id", "date", "amount"]]
