"""The weekly action list of each account manager, and whether past actions saved the customer.

Pure functions on small per-customer frames (the asset reads them from the marts and from
`analytics.churn_early_warning`). Five kinds of action, each with a documented setting:

    value_at_risk       active customers whose churn risk is at least `min_risk`, the `top_at_risk`
                        largest values at risk of each manager; value = value at risk (CNY);
    renewal_due         open contracts ending within `renewal_days` of as_of, not yet renewed;
                        value = contract value (CNY); due on the contract's end date;
    detractor_callback  active customers whose latest NPS answer (0-10) is a detractor's, given
                        within the last `detractor_days` and with no contact since; value =
                        trailing-12-month revenue;
    complaint_overdue   complaints still open `complaint_target_days` or more after they were
                        opened; value = trailing-12-month revenue;
    no_contact          active customers with no interaction for `no_contact_days` (or never);
                        value = trailing-12-month revenue.

Every action but `renewal_due` is due `due_days` after as_of (the working week). A customer
with no current manager is listed under `UNASSIGNED`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

import pandas as pd

from ..settings import Settings

UNASSIGNED = "unassigned"
ACTION_TYPES = (
    "value_at_risk",
    "renewal_due",
    "detractor_callback",
    "complaint_overdue",
    "no_contact",
)
# Value-at-risk columns the early-warning table may carry, in order of preference; without
# any of them the value at risk is risk x CLV.
VALUE_AT_RISK_COLUMNS = ("expected_value_lost_cny", "value_at_risk_cny", "value_at_risk")
CLV_COLUMNS = ("clv_cny", "value_cny", "value")
RISK_COLUMNS = ("risk", "churn_risk", "risk_rate")
# Flags of a customer the early warning already counts as lost (no save call for them).
LOST_COLUMNS = (
    "is_lost_by_activity_rule",
    "is_lost",
    "is_already_lost",
    "already_lost",
    "is_churned",
)
REASON_COLUMNS = ("reason_1", "reason_2", "reason_3")

ACTION_COLUMNS = {
    "action_id": str,
    "week": str,
    "week_start_on": "datetime64[ns]",
    "as_of_on": "datetime64[ns]",
    "manager_id": str,
    "customer_id": str,
    "customer_name": str,
    "action_type": str,
    "subject_id": str,
    "value_cny": float,
    "priority_rank": "int64",
    "reason": str,
    "due_on": "datetime64[ns]",
}
OUTCOME_COLUMNS = {
    **{
        c: t
        for c, t in ACTION_COLUMNS.items()
        if c not in ("customer_name", "reason", "priority_rank")
    },
    "evaluated_on": "datetime64[ns]",
    "is_saved": "boolean",
    "outcome": str,
}


@dataclass(frozen=True)
class ActionSettings:
    """The thresholds of the action list (docs/actions.md); the variables in brackets set
    them through `Settings` (`from_settings`)."""

    renewal_days: int = 90  # WH_ACTIONS_RENEWAL_DAYS
    detractor_days: int = 90  # WH_ACTIONS_DETRACTOR_DAYS
    complaint_target_days: int = 14  # WH_ACTIONS_COMPLAINT_TARGET_DAYS
    no_contact_days: int = 90  # WH_ACTIONS_NO_CONTACT_DAYS
    min_risk: float = 0.5  # WH_ACTIONS_MIN_RISK
    top_at_risk: int = 10  # WH_ACTIONS_TOP_AT_RISK
    due_days: int = 7  # WH_ACTIONS_DUE_DAYS

    @classmethod
    def from_settings(cls, settings: Settings) -> ActionSettings:
        """The thresholds of the warehouse settings (their `actions_*` fields)."""
        return cls(
            renewal_days=settings.actions_renewal_days,
            detractor_days=settings.actions_detractor_days,
            complaint_target_days=settings.actions_complaint_target_days,
            no_contact_days=settings.actions_no_contact_days,
            min_risk=settings.actions_min_risk,
            top_at_risk=settings.actions_top_at_risk,
            due_days=settings.actions_due_days,
        )


def for_table(frame: pd.DataFrame, columns: dict) -> pd.DataFrame:
    """`frame` typed for the warehouse: text as pandas strings (VARCHAR even when every value
    is null), dates (`datetime64[ns]` in `columns`) as DATE and times (`datetime64[us]`) as
    TIMESTAMP."""
    typed = frame.copy()
    for column, kind in columns.items():
        if kind is str:
            typed[column] = typed[column].astype("string")
        elif kind == "datetime64[ns]":
            typed[column] = pd.Series(
                [None if pd.isna(v) else pd.Timestamp(v).date() for v in typed[column]],
                index=typed.index,
                dtype=object,
            )
        elif kind == "datetime64[us]":  # a time: TIMESTAMP (microseconds, as on every engine)
            typed[column] = pd.to_datetime(typed[column]).astype("datetime64[us]")
    return typed


def iso_week(day: dt.date) -> str:
    """`2026-W49`: the ISO year and week of a date (the week a list belongs to)."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def action_id(week: str, manager_id: str, customer_id: str, action_type: str, subject: str) -> str:
    """A stable id: the same action in the same week has the same id on every rerun."""
    key = "|".join((week, manager_id, customer_id, action_type, subject))
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def _first_column(frame: pd.DataFrame, names: tuple[str, ...]) -> str | None:
    return next((name for name in names if name in frame.columns), None)


def value_at_risk(warning: pd.DataFrame) -> pd.DataFrame:
    """customer_id, risk, value_cny (value at risk), reasons, is_lost from the early-warning
    table, whatever its version calls them (see the *_COLUMNS constants)."""
    out = pd.DataFrame({"customer_id": warning["customer_id"].astype(str)})
    risk_column = _first_column(warning, RISK_COLUMNS)
    if risk_column is None:
        raise ValueError(f"the early-warning table has none of the risk columns {RISK_COLUMNS}")
    out["risk"] = pd.to_numeric(warning[risk_column], errors="coerce").to_numpy()
    var_column = _first_column(warning, VALUE_AT_RISK_COLUMNS)
    if var_column:
        out["value_cny"] = pd.to_numeric(warning[var_column], errors="coerce").to_numpy()
    else:
        clv_column = _first_column(warning, CLV_COLUMNS)
        clv = warning[clv_column] if clv_column else pd.Series(float("nan"), index=warning.index)
        out["value_cny"] = (out["risk"] * pd.to_numeric(clv, errors="coerce")).to_numpy()
    reason_columns = [c for c in REASON_COLUMNS if c in warning.columns]
    if not reason_columns:
        reasons = warning["reasons"] if "reasons" in warning.columns else ""
        out["reasons"] = pd.Series(reasons, index=warning.index).fillna("").astype(str).to_numpy()
    else:
        out["reasons"] = [
            "; ".join(str(v) for v in row if pd.notna(v) and str(v))
            for row in warning[reason_columns].itertuples(index=False)
        ]
    lost_column = _first_column(warning, LOST_COLUMNS)
    out["is_lost"] = (
        warning[lost_column].fillna(False).astype(bool).to_numpy() if lost_column else False
    )
    return out


def _money(value: float) -> str:
    return f"{value:,.0f} CNY"


def build_actions(
    customers: pd.DataFrame,
    contracts: pd.DataFrame,
    complaints: pd.DataFrame,
    warning: pd.DataFrame | None,
    as_of: dt.date,
    settings: ActionSettings,
) -> pd.DataFrame:
    """One row per action (columns `ACTION_COLUMNS`), sorted by manager and priority.

    customers  : customer_id, customer_name, manager_id, is_active, nps_category,
                 nps_answer_value, nps_answered_on, last_touched_on, revenue_trailing_12m_cny
                 (customer_facts with the firm name of dim_customers), as of `as_of`;
    contracts  : contract_id, customer_id, product_line, end_on, contract_value_cny, is_open,
                 is_renewed, status (fct_contracts);
    complaints : complaint_id, customer_id, category, opened_at, is_open (fct_complaints);
    warning    : analytics.churn_early_warning, or None when it is not there.
    """
    as_of_ts = pd.Timestamp(as_of)
    due = as_of_ts + pd.Timedelta(days=settings.due_days)
    people = customers.assign(
        customer_id=customers["customer_id"].astype(str),
        manager_id=customers["manager_id"].fillna(UNASSIGNED).astype(str),
        revenue=pd.to_numeric(customers["revenue_trailing_12m_cny"], errors="coerce").fillna(0.0),
        is_active=customers["is_active"].fillna(False).astype(bool),
    ).set_index("customer_id")
    parts: list[pd.DataFrame] = []

    def add(frame: pd.DataFrame, action_type: str) -> None:
        if not frame.empty:
            parts.append(frame.assign(action_type=action_type))

    # value at risk: active, not already lost, risk >= min_risk, the manager's top N
    if warning is not None and not warning.empty:
        risk = value_at_risk(warning)
        risk = risk[(~risk["is_lost"]) & (risk["risk"] >= settings.min_risk)]
        risk = risk[risk["value_cny"].notna() & (risk["value_cny"] > 0)]
        risk = risk.join(people[["manager_id", "is_active"]], on="customer_id", how="inner")
        risk = risk[risk["is_active"]].sort_values(
            ["manager_id", "value_cny", "customer_id"], ascending=[True, False, True]
        )
        risk = risk.groupby("manager_id", sort=False).head(settings.top_at_risk)
        add(
            pd.DataFrame(
                {
                    "customer_id": risk["customer_id"],
                    "subject_id": "",
                    "value_cny": risk["value_cny"],
                    "reason": [
                        f"churn risk {r:.0%}, value at risk {_money(v)}"
                        + (f"; reasons: {why}" if why else "")
                        for r, v, why in zip(
                            risk["risk"], risk["value_cny"], risk["reasons"], strict=True
                        )
                    ],
                    "due_on": due,
                }
            ),
            "value_at_risk",
        )

    # renewals: open, not renewed, ending within renewal_days of as_of
    end_on = pd.to_datetime(contracts["end_on"])
    renewals = contracts[
        contracts["is_open"].fillna(False).astype(bool)
        & ~contracts["is_renewed"].fillna(False).astype(bool)
        & (contracts["status"] != "cancelled")
        & (end_on >= as_of_ts)
        & (end_on <= as_of_ts + pd.Timedelta(days=settings.renewal_days))
    ].assign(end_on=lambda f: pd.to_datetime(f["end_on"]))
    add(
        pd.DataFrame(
            {
                "customer_id": renewals["customer_id"].astype(str),
                "subject_id": renewals["contract_id"].astype(str),
                "value_cny": pd.to_numeric(renewals["contract_value_cny"], errors="coerce"),
                "reason": [
                    f"contract {c} ({p}) ends {e.date()} in {(e - as_of_ts).days} days, "
                    f"not renewed; value {_money(v)}"
                    for c, p, e, v in zip(
                        renewals["contract_id"],
                        renewals["product_line"],
                        renewals["end_on"],
                        renewals["contract_value_cny"],
                        strict=True,
                    )
                ],
                "due_on": renewals["end_on"],
            }
        ),
        "renewal_due",
    )

    # detractors: latest NPS answer a detractor's, within detractor_days, still active, and
    # not contacted since they answered (a call back closes the action)
    answered = pd.to_datetime(people["nps_answered_on"])
    touched = pd.to_datetime(people["last_touched_on"])
    detractors = people[
        people["is_active"]
        & (people["nps_category"] == "detractor")
        & (answered >= as_of_ts - pd.Timedelta(days=settings.detractor_days))
        & (answered <= as_of_ts)
        & ~(touched > answered)
    ]
    add(
        pd.DataFrame(
            {
                "customer_id": detractors.index,
                "subject_id": "",
                "value_cny": detractors["revenue"].to_numpy(),
                "reason": [
                    f"NPS answer {s:.0f} of 10 on {d.date()} (detractor)"
                    for s, d in zip(
                        detractors["nps_answer_value"],
                        pd.to_datetime(detractors["nps_answered_on"]),
                        strict=True,
                    )
                ],
                "due_on": due,
            }
        ),
        "detractor_callback",
    )

    # complaints open past target
    opened = pd.to_datetime(complaints["opened_at"]).dt.normalize()
    age = (as_of_ts - opened).dt.days
    late = complaints[
        complaints["is_open"].fillna(False).astype(bool) & (age >= settings.complaint_target_days)
    ].assign(age=age)
    late_revenue = people["revenue"].reindex(late["customer_id"].astype(str)).fillna(0.0)
    add(
        pd.DataFrame(
            {
                "customer_id": late["customer_id"].astype(str),
                "subject_id": late["complaint_id"].astype(str),
                "value_cny": late_revenue.to_numpy(),
                "reason": [
                    f"complaint {c} ({k}) open {a} days (target {settings.complaint_target_days})"
                    for c, k, a in zip(
                        late["complaint_id"], late["category"], late["age"], strict=True
                    )
                ],
                "due_on": due,
            }
        ),
        "complaint_overdue",
    )

    # active customers not contacted for no_contact_days
    silent_days = (as_of_ts - touched).dt.days
    silent = people[
        people["is_active"] & (touched.isna() | (silent_days >= settings.no_contact_days))
    ]
    add(
        pd.DataFrame(
            {
                "customer_id": silent.index,
                "subject_id": "",
                "value_cny": silent["revenue"].to_numpy(),
                "reason": [
                    "never contacted"
                    if pd.isna(t)
                    else f"last contact {t.date()}, {d:.0f} days ago "
                    f"(limit {settings.no_contact_days})"
                    for t, d in zip(touched[silent.index], silent_days[silent.index], strict=True)
                ],
                "due_on": due,
            }
        ),
        "no_contact",
    )

    empty = pd.DataFrame({c: pd.Series(dtype=t) for c, t in ACTION_COLUMNS.items()})
    if not parts:
        return empty
    actions = pd.concat(parts, ignore_index=True)
    actions = actions[actions["customer_id"].isin(people.index)]
    actions = actions.join(people[["manager_id", "customer_name"]], on="customer_id")
    actions["customer_name"] = actions["customer_name"].fillna("")
    actions["subject_id"] = actions["subject_id"].fillna("")
    week = iso_week(as_of)
    actions["week"] = week
    actions["week_start_on"] = as_of_ts - pd.Timedelta(days=as_of.weekday())
    actions["as_of_on"] = as_of_ts
    actions["value_cny"] = actions["value_cny"].astype(float).fillna(0.0)
    actions["due_on"] = pd.to_datetime(actions["due_on"])
    actions["action_id"] = [
        action_id(week, m, c, t, s)
        for m, c, t, s in zip(
            actions["manager_id"],
            actions["customer_id"],
            actions["action_type"],
            actions["subject_id"],
            strict=True,
        )
    ]
    actions["type_order"] = actions["action_type"].map(ACTION_TYPES.index)
    actions = actions.sort_values(
        ["manager_id", "value_cny", "type_order", "customer_id", "subject_id"],
        ascending=[True, False, True, True, True],
    )
    actions["priority_rank"] = actions.groupby("manager_id").cumcount().astype("int64") + 1
    return (
        actions[list(ACTION_COLUMNS)]
        .reset_index(drop=True)
        .astype({c: t for c, t in ACTION_COLUMNS.items() if t is str})
    )


def evaluate_outcomes(
    history: pd.DataFrame,
    actions: pd.DataFrame,
    customers: pd.DataFrame,
    contracts: pd.DataFrame,
    complaints: pd.DataFrame,
    as_of: dt.date,
) -> pd.DataFrame:
    """`analytics.action_outcomes` after this run (columns `OUTCOME_COLUMNS`).

    history : the table before this run (the actions of earlier weeks, some evaluated);
    actions : this run's list, which replaces any earlier list of the same week.

    An action not yet evaluated whose due date is before as_of is evaluated now, once, on the
    state at as_of: value_at_risk saved = the customer is still active; renewal_due = the
    contract was renewed; complaint_overdue = the complaint is closed; detractor_callback and
    no_contact = the customer was contacted after the list's as_of.
    """
    as_of_ts = pd.Timestamp(as_of)
    judged = ["evaluated_on", "is_saved", "outcome"]
    base = [c for c in OUTCOME_COLUMNS if c not in judged]
    weeks = set(actions["week"])
    earlier = history[~history["week"].isin(weeks)] if not history.empty else history
    parts = [frame[base] for frame in (earlier, actions) if not frame.empty]
    table = (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame({c: pd.Series(dtype=OUTCOME_COLUMNS[c]) for c in base})
    )
    fresh = [None] * len(actions)
    table["evaluated_on"] = pd.to_datetime(pd.Series([*earlier["evaluated_on"], *fresh]))
    table["is_saved"] = pd.Series([*earlier["is_saved"], *fresh], dtype="boolean")
    table["outcome"] = pd.Series([*earlier["outcome"], *fresh], dtype=object)
    pending = table["evaluated_on"].isna() & (pd.to_datetime(table["due_on"]) < as_of_ts)

    people = customers.assign(customer_id=customers["customer_id"].astype(str)).set_index(
        "customer_id"
    )
    active = people["is_active"].fillna(False).astype(bool)
    touched = pd.to_datetime(people["last_touched_on"])
    renewed = contracts.assign(contract_id=contracts["contract_id"].astype(str)).set_index(
        "contract_id"
    )["is_renewed"]
    still_open = complaints.assign(complaint_id=complaints["complaint_id"].astype(str)).set_index(
        "complaint_id"
    )["is_open"]

    def judge(row) -> tuple[bool, str]:
        kind = row.action_type
        if kind == "value_at_risk":
            saved = bool(active.get(row.customer_id, False))
            return saved, "still active" if saved else "lost"
        if kind == "renewal_due":
            saved = bool(renewed.get(row.subject_id, False))
            return saved, "renewed" if saved else "not renewed"
        if kind == "complaint_overdue":
            saved = not bool(still_open.get(row.subject_id, True))
            return saved, "complaint closed" if saved else "complaint still open"
        last = touched.get(row.customer_id, pd.NaT)
        saved = pd.notna(last) and last > pd.Timestamp(row.as_of_on)
        return saved, "contacted" if saved else "not contacted"

    for index in table.index[pending]:
        saved, outcome = judge(table.loc[index])
        table.loc[index, ["evaluated_on", "is_saved", "outcome"]] = [as_of_ts, saved, outcome]
    return table.sort_values(["week", "manager_id", "action_id"]).reset_index(drop=True)
