"""Alerts and playbooks: the weekly action list of every account manager (docs/actions.md).

Reads customer_facts, dim_customers, fct_contracts, fct_complaints and
`analytics.churn_early_warning`; writes three analytics tables (published with the others)
and one HTML and one CSV file per manager under `WH_ACTIONS_DIR` (default `actions/` beside
the warehouse file: `warehouse/actions/<week>/<manager_id>.html|csv`); e-mails them when
`WH_SMTP_HOST` is set. Run by the `weekly_actions` job on its schedule, not by the daily
refresh, so a manager gets one list a week.
"""

from pathlib import Path

import pandas as pd
from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    MaterializeResult,
    ResourceParam,
    TableColumn,
    TableSchema,
    multi_asset,
)
from dagster_dbt import get_asset_key_for_model
from dagster_duckdb import DuckDBResource

from ..actions import (
    ActionSettings,
    SmtpSettings,
    build_actions,
    deliver,
    evaluate_outcomes,
    iso_week,
    read_recipients,
    write_manager_files,
)
from ..actions.mail import DELIVERY_COLUMNS, merge_deliveries, sent_managers
from ..actions.rules import ACTION_COLUMNS, OUTCOME_COLUMNS, for_table
from ..relations import table_exists
from ..settings import Settings
from ._io import ANALYTICS_SCHEMA, write_analytics_table
from .dbt import built_as_of, relation_name, warehouse_dbt_assets
from .publish import bi_metadata

GROUP = "actions"
TABLES = {
    "customer_actions": "This week's action list, one row per action: account manager, "
    "customer (id and firm name), action type (value_at_risk, renewal_due, detractor_callback, "
    "complaint_overdue, no_contact), value in CNY, priority within the manager's list, reason, "
    "due date, as_of and ISO week. Rewritten by each run of the weekly_actions job.",
    "action_outcomes": "Every action ever listed, with its outcome filled by the first run "
    "after its due date: was the customer saved (still active, contract renewed, complaint "
    "closed, contacted after the list)?",
    "action_deliveries": "What each run e-mailed: week, manager, masked recipient, files, "
    "time, status (sent, failed, not_sent) and error.",
}
INPUT_MODELS = ("customer_facts", "dim_customers", "fct_contracts", "fct_complaints")
_ACTION_DOCS = {
    "action_id": "Id of the action: the same action (week, manager, customer, type, contract "
    "or complaint) has the same id on every rerun of the week.",
    "week": "ISO week of the list (YYYY-Www), the week of as_of.",
    "week_start_on": "Monday of that week.",
    "as_of_on": "The date the list was made as of (the marts' as_of).",
    "manager_id": "The customer's current account manager; 'unassigned' when none.",
    "customer_id": "The customer.",
    "customer_name": "The customer's firm name (no person's name).",
    "action_type": "value_at_risk, renewal_due, detractor_callback, complaint_overdue or "
    "no_contact (docs/actions.md).",
    "subject_id": "The contract (renewal_due) or complaint (complaint_overdue) concerned; "
    "empty for the other types.",
    "value_cny": "What is at stake in CNY: value at risk, contract value, or the customer's "
    "trailing-12-month revenue (detractor, complaint, no contact).",
    "priority_rank": "Rank within the manager's list, 1 = largest value_cny.",
    "reason": "Why the customer is listed, in words with the numbers that triggered it.",
    "due_on": "When the action is due: the contract's end date for renewals, else as_of plus "
    "WH_ACTIONS_DUE_DAYS (7).",
}
COLUMN_DOCS: dict[str, dict[str, str]] = {
    "customer_actions": _ACTION_DOCS,
    "action_outcomes": {
        **{c: _ACTION_DOCS[c] for c in OUTCOME_COLUMNS if c in _ACTION_DOCS},
        "evaluated_on": "as_of of the run that judged the action: the first run after its due "
        "date; empty until then.",
        "is_saved": "Whether the customer was saved: still active (value_at_risk), contract "
        "renewed (renewal_due), complaint closed (complaint_overdue), contacted after the "
        "list's as_of (detractor_callback, no_contact); empty until judged.",
        "outcome": "The judgement in words (still active / lost, renewed / not renewed, "
        "complaint closed / still open, contacted / not contacted).",
    },
    "action_deliveries": {
        "week": "ISO week of the list sent.",
        "manager_id": "The account manager the message was for.",
        "recipient_masked": "The address it went to, masked (first letter and domain).",
        "files": "The files attached.",
        "sent_at": "When the run tried to send it (UTC).",
        "status": "sent, failed, or not_sent (e-mail off, or no address for the manager).",
        "error": "Why it failed or was not sent; empty when sent.",
    },
}
# Why a table may be empty; the publish step refuses an empty table without one.
EMPTY_REASONS = {
    "customer_actions": "no customer meets an action rule this week (docs/actions.md).",
    "action_outcomes": "no action has been listed yet.",
    "action_deliveries": "no action list has been sent or tried yet.",
}
TYPE_NAMES = {str: "string", float: "double", "int64": "bigint", "boolean": "boolean"}


def column_schema(name: str, columns: dict) -> TableSchema:
    """The table's columns with their descriptions (Dagster's column schema)."""
    return TableSchema(
        columns=[
            TableColumn(
                column,
                type=TYPE_NAMES.get(kind, "date" if kind == "datetime64[ns]" else "timestamp"),
                description=COLUMN_DOCS[name][column],
            )
            for column, kind in columns.items()
        ]
    )


def actions_dir(settings: Settings, database: Path) -> Path:
    """`settings.actions_dir` (WH_ACTIONS_DIR), else `actions/` beside the warehouse file."""
    return settings.actions_dir or database.resolve().parent / "actions"


def _analytics_table(con, name: str) -> pd.DataFrame | None:
    relation = f"{ANALYTICS_SCHEMA}.{name}"
    return con.execute(f"select * from {relation}").df() if table_exists(con, relation) else None


def _empty(columns: dict) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in columns.items()})


@multi_asset(
    specs=[
        AssetSpec(
            [ANALYTICS_SCHEMA, name],
            group_name=GROUP,
            kinds={"python", "duckdb", "html"},
            description=description,
            metadata=bi_metadata(COLUMN_DOCS[name], EMPTY_REASONS.get(name)),
            deps=[
                *(get_asset_key_for_model([warehouse_dbt_assets], m) for m in INPUT_MODELS),
                AssetKey([ANALYTICS_SCHEMA, "churn_early_warning"]),
            ],
        )
        for name, description in TABLES.items()
    ],
)
def action_assets(
    context: AssetExecutionContext, duckdb: DuckDBResource, settings: ResourceParam[Settings]
):
    thresholds = ActionSettings.from_settings(settings)
    with duckdb.get_connection() as con:
        as_of_day = built_as_of(con)  # dbt's as_of, so the list and the facts agree
        customers = con.execute(
            f"""
            select
                facts.customer_id,
                customers.customer_name,
                facts.current_manager_id as manager_id,
                facts.is_active,
                facts.nps_category,
                facts.nps_answer_value,
                facts.nps_answered_on,
                facts.last_touched_on,
                facts.revenue_trailing_12m_cny,
                facts.as_of_on
            from {relation_name("customer_facts")} as facts
            left join {relation_name("dim_customers")} as customers
                on facts.customer_id = customers.customer_id
            """
        ).df()
        contracts = con.execute(
            f"""
            select contract_id, customer_id, product_line, end_on, contract_value_cny,
                is_open, is_renewed, status
            from {relation_name("fct_contracts")}
            """
        ).df()
        complaints = con.execute(
            f"""
            select complaint_id, customer_id, category, opened_at, is_open
            from {relation_name("fct_complaints")}
            """
        ).df()
        warning = _analytics_table(con, "churn_early_warning")
        history = _analytics_table(con, "action_outcomes")
        deliveries = _analytics_table(con, "action_deliveries")
    if warning is None:
        context.log.warning("no analytics.churn_early_warning: no value-at-risk actions")
    actions = build_actions(customers, contracts, complaints, warning, as_of_day, thresholds)
    week = iso_week(as_of_day)
    outcomes = evaluate_outcomes(
        history if history is not None else _empty(OUTCOME_COLUMNS),
        actions,
        customers,
        contracts,
        complaints,
        as_of_day,
    )
    files = write_manager_files(actions, actions_dir(settings, Path(duckdb.database)))
    deliveries = deliveries if deliveries is not None else _empty(DELIVERY_COLUMNS)
    sent = sent_managers(deliveries, week)
    new_deliveries = deliver(
        files,
        actions.groupby("manager_id").size().to_dict(),
        week,
        SmtpSettings.from_settings(settings),
        read_recipients(settings.actions_recipients),
        already_sent=sent,
    )
    deliveries = merge_deliveries(deliveries, new_deliveries, week)
    context.log.info(
        f"week {week} (as of {as_of_day}): {len(actions)} actions for {len(files)} managers; "
        f"{int((new_deliveries['status'] == 'sent').sum())} e-mails sent"
    )
    with duckdb.get_connection() as con:
        for name, frame, columns in (
            ("customer_actions", actions, ACTION_COLUMNS),
            ("action_outcomes", outcomes, OUTCOME_COLUMNS),
            ("action_deliveries", deliveries, DELIVERY_COLUMNS),
        ):
            rows = write_analytics_table(con, name, for_table(frame, columns))
            yield MaterializeResult(
                asset_key=[ANALYTICS_SCHEMA, name],
                metadata={
                    "rows": rows,
                    "week": week,
                    "as_of": str(as_of_day),
                    "dagster/column_schema": column_schema(name, columns),
                },
            )
