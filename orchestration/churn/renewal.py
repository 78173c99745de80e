"""The renewal book (METRICS H4 with F6, for due diligence): the contracts that end in the
next 365 days, with their value, owner, churn risk and CLV.

A buyer reads it as "how much contracted revenue comes up for renewal, when, who owns it,
and how likely the customer is to leave". Rows:

- every contract not terminated, started on or before as_of, whose `end_on` falls in
  as_of + 1 .. as_of + 365 days (a contract ending on as_of itself is no longer ahead);
- `days_to_end` = end_on − as_of, and `renewal_bucket`: `0-90`, `91-180` or `181-365`
  (the next 90 / 180 / 365 days, each bucket the days after the one before);
- `is_renewed`: a follow-up contract is already signed (`fct_contracts.is_renewed`); kept in
  the book, so the value coming up is complete, and marked, so it is not chased twice;
- owner: the customer's current account manager (`dim_customers.current_manager_id`, an id:
  no personal data);
- churn risk and risk band of the early-warning list (empty for a customer it did not score,
  e.g. one already lost by the activity rule), CLV from `customer_clv` (the margin-based
  column where there is one, `clv_basis` names it), and `contract_value_at_risk_cny` = risk ×
  contract value: the contract value expected to be lost.

Sorted by end date, then contract id. Pure pandas on per-contract rows; the asset reads the
inputs and writes `analytics.renewal_book`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .sources import DateLike, as_day

HORIZON_DAYS = 365
# (last day of the bucket, its name), nearest first.
BUCKETS: tuple[tuple[int, str], ...] = ((90, "0-90"), (180, "91-180"), (365, "181-365"))
COLUMNS = (
    "contract_id",
    "customer_id",
    "product_line",
    "start_on",
    "end_on",
    "days_to_end",
    "renewal_bucket",
    "contract_value_cny",
    "is_renewed",
    "account_manager_id",
    "churn_risk",
    "risk_band",
    "clv_cny",
    "clv_basis",
    "contract_value_at_risk_cny",
    "as_of",
)


def renewal_bucket(days_to_end: pd.Series) -> pd.Series:
    """`0-90` for 1..90 days, `91-180` for 91..180, `181-365` for 181..365; else missing."""
    days = days_to_end.to_numpy()
    conditions, first = [], 1
    for last, _ in BUCKETS:
        conditions.append((days >= first) & (days <= last))
        first = last + 1
    names = np.select(conditions, [name for _, name in BUCKETS], default="")
    return pd.Series(names, index=days_to_end.index, dtype=object).replace("", None)


def renewal_book(
    contracts: pd.DataFrame,
    owners: pd.DataFrame,
    warning: pd.DataFrame,
    clv: pd.DataFrame,
    as_of: DateLike,
    clv_basis: str,
) -> pd.DataFrame:
    """The renewal book (module docstring).

    - contracts: contract_id, customer_id, product_line, start_on, end_on, status,
      contract_value_cny, is_renewed (`fct_contracts`);
    - owners: customer_id, account_manager_id (`dim_customers.current_manager_id`);
    - warning: customer_id, risk, risk_band (`churn_early_warning`), may be empty;
    - clv: customer_id, clv_cny (the column named by `clv_basis`).
    """
    day = as_day(as_of)
    frame = contracts.copy()
    frame["customer_id"] = frame["customer_id"].astype(str)
    for column in ("start_on", "end_on"):
        frame[column] = pd.to_datetime(frame[column]).dt.normalize()
    frame["days_to_end"] = (frame["end_on"] - day).dt.days
    terminated = frame["status"].astype(str).str.lower().eq("terminated")
    ahead = frame["days_to_end"].between(1, HORIZON_DAYS) & (frame["start_on"] <= day)
    book = frame.loc[ahead & ~terminated].copy()
    book["renewal_bucket"] = renewal_bucket(book["days_to_end"])
    book["contract_value_cny"] = pd.to_numeric(book["contract_value_cny"]).astype(float)
    book["is_renewed"] = book["is_renewed"].fillna(False).astype(bool)

    def per_customer(table: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
        table = table[["customer_id", *columns]].copy()
        table["customer_id"] = table["customer_id"].astype(str)
        if table["customer_id"].duplicated().any():
            raise ValueError(f"{columns} repeat customers")
        return table

    book = book.merge(per_customer(owners, ["account_manager_id"]), on="customer_id", how="left")
    scored = per_customer(warning, ["risk", "risk_band"]).rename(columns={"risk": "churn_risk"})
    book = book.merge(scored, on="customer_id", how="left")
    book = book.merge(per_customer(clv, ["clv_cny"]), on="customer_id", how="left")
    book["churn_risk"] = book["churn_risk"].astype(float)
    book["clv_cny"] = book["clv_cny"].astype(float)
    book["clv_basis"] = clv_basis
    book["contract_value_at_risk_cny"] = book["churn_risk"] * book["contract_value_cny"]
    book["as_of"] = day
    book["days_to_end"] = book["days_to_end"].astype(np.int64)
    book = book.sort_values(["end_on", "contract_id"], kind="stable").reset_index(drop=True)
    return book[list(COLUMNS)]
