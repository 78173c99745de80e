"""Incremental facts: after a sequence of daily drops, the warehouse equals a full refresh.

A small generated firm is cut into an initial drop and four daily drops of orders,
interactions and survey responses with their answers; one daily drop also brings a
late-arriving order dated weeks earlier, and a later one a corrected copy of an earlier
day's orders file (one amount changed, one row removed), which the ingestion loads as a
replacement. One warehouse runs the `incremental_refresh` job after every drop, with as_of
the drop's day, so `fct_orders`, `fct_interactions`, `fct_survey_answers` and the spine
`int_customer_months` grow incrementally; a fresh warehouse runs the `full_refresh` job once
on the final landing directory. Every table and view that dbt builds must then hold the same
rows in both, and so must the raw orders.

The daily runs between the first and the last materialise the incremental models and their
upstream only (which holds the raw tables of the daily drops): every other dbt model
is rebuilt from scratch on every run, so its state between runs cannot matter, and the first
and last runs build everything but the Python assets. The load history (the ledger and the
I2 data-quality indicators) differs by design and is left out.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
from collections import defaultdict
from pathlib import Path

import duckdb
import pytest
from dagster import AssetSelection
from dagster_dbt import get_asset_key_for_model

from orchestration.synthetic import DEFAULT_END_DATE, generate

CUSTOMERS = 200
YEARS = 2
SEED = 11
DAILY_DROPS = 4
INCREMENTAL_FACTS = ("fct_orders", "fct_interactions", "fct_survey_answers")
# The incremental models: the facts and the customer-month spine, with their SQL's path.
INCREMENTAL_MODELS = {
    **{fact: "marts/core" for fact in INCREMENTAL_FACTS},
    "int_customer_months": "intermediate/customers",
}
# The tables cut into daily drops; every other table arrives whole in the initial drop.
DAILY_TABLES = ("orders", "interactions", "survey_responses", "survey_answers")
# The load history differs by design: the incremental warehouse also loaded the first copy
# of the corrected file. These rows describe the loads (METRICS I2, the change record), not
# the business.
LOAD_HISTORY = {
    "stg_meta__load_ledger": "true",
    "stg_meta__load_changes": "true",
    "int_data_quality_indicators": "true",
    "loyalty_indicators": "indicator_code = 'I2'",
}
# Doubles are compared to 9 decimals: a sum over the same rows in another physical order
# may differ in its last bits.
DOUBLE_TYPES = ("DOUBLE", "FLOAT", "REAL")


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


def write_csv(path: Path, header: list[str], rows: list[dict[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)


def plan_drops(generated: Path) -> dict:
    """Cut the generated files into drops: {day: {table: (header, rows)}}, plus the
    corrected re-drop of the first daily orders file and what it changes."""
    end = DEFAULT_END_DATE
    days = [end - dt.timedelta(days=DAILY_DROPS - 1 - i) for i in range(DAILY_DROPS)]
    initial_day = days[0] - dt.timedelta(days=1)
    tables = {p.name: read_csv(p / f"{end.isoformat()}.csv") for p in generated.iterdir()}
    drops: dict[dt.date, dict[str, tuple[list[str], list[dict[str, str]]]]] = defaultdict(dict)

    def put(day: dt.date, table: str, rows: list[dict[str, str]]) -> None:
        if rows:  # a file with a header and no rows is rejected by the ingestion
            drops[day][table] = (tables[table][0], rows)

    # Orders and interactions: the rows of each of the last days in that day's drop.
    for table, column in (("orders", "ordered_on"), ("interactions", "occurred_at")):
        by_day = defaultdict(list)
        for row in tables[table][1]:
            day = dt.date.fromisoformat(row[column][:10])
            by_day[max(day, initial_day)].append(row)
        for day, rows in by_day.items():
            put(day, table, rows)
    # A late-arriving order: an invoice dated weeks before the first daily drop, of a
    # customer with later invoices, arrives with the second daily drop (its customer's later
    # invoices are renumbered).
    initial_orders = drops[initial_day]["orders"][1]
    last_ordered = defaultdict(str)
    for row in initial_orders:
        last_ordered[row["customer_id"]] = max(last_ordered[row["customer_id"]], row["ordered_on"])
    late = next(
        row
        for row in initial_orders
        if row["is_credit_note"].lower() == "false"
        and row["ordered_on"] < (initial_day - dt.timedelta(days=30)).isoformat()
        and last_ordered[row["customer_id"]] > row["ordered_on"]
    )
    initial_orders.remove(late)
    drops[days[1]].setdefault("orders", (tables["orders"][0], []))[1].append(late)
    # Survey responses with their answers: the responses of the last submission days, one
    # day a drop (the survey tool exports late), the rest in the initial drop.
    responses = tables["survey_responses"][1]
    submitted_days = sorted({r["submitted_at"][:10] for r in responses})[-DAILY_DROPS:]
    drop_of_response = {
        r["response_id"]: days[submitted_days.index(r["submitted_at"][:10])]
        if r["submitted_at"][:10] in submitted_days
        else initial_day
        for r in responses
    }
    for table in ("survey_responses", "survey_answers"):
        by_day = defaultdict(list)
        for row in tables[table][1]:
            by_day[drop_of_response[row["response_id"]]].append(row)
        for day, rows in by_day.items():
            put(day, table, rows)
    # Every other table arrives whole in the initial drop.
    for table, (_, rows) in tables.items():
        if table not in DAILY_TABLES:
            put(initial_day, table, rows)

    # The corrected re-drop of the first daily orders file: one amount changed, and one row
    # removed, of a customer with a later invoice if there is one (to be renumbered).
    original = drops[days[0]]["orders"][1]
    assert len(original) >= 2, "the first daily drop needs two orders"
    later_customers = {
        row["customer_id"] for day in days[1:] for row in drops[day].get("orders", (None, []))[1]
    }
    removed = next((r for r in original if r["customer_id"] in later_customers), original[0])
    corrected = [dict(r) for r in original if r is not removed]
    corrected[0]["amount"] = f"{float(corrected[0]['amount']) + 1000:.2f}"
    return {
        "days": [initial_day, *days],
        "drops": drops,
        "corrected_orders": (tables["orders"][0], corrected),
        "removed_order_id": removed["order_id"],
        "changed_order_id": corrected[0]["order_id"],
        "late_order_id": late["order_id"],
    }


def write_drop(landing: Path, day: dt.date, drop: dict) -> None:
    for table, (header, rows) in drop.items():
        write_csv(landing / table / f"{day.isoformat()}.csv", header, rows)


def run_job(database: Path, job: str, keys, as_of: dt.date, monkeypatch) -> None:
    """A job on the given assets, as of the given day: the definitions are loaded again, as
    a new day's process loads them, for the settings are resolved once when they load."""
    monkeypatch.setenv("WH_AS_OF", as_of.isoformat())
    from orchestration.definitions import build_definitions

    defs = build_definitions(str(database))
    result = defs.resolve_job_def(job).execute_in_process(
        asset_selection=list(keys), raise_on_error=False
    )
    failures = [
        f"{event.step_key}: {event.step_failure_data.error.message.strip()[:2000]}"
        for event in result.all_events
        if event.is_step_failure
    ]
    assert result.success, f"{job} failed as of {as_of}: {failures}"


def dbt_relations(con: duckdb.DuckDBPyConnection, catalog: str) -> list[str]:
    """The relations dbt built, less the incremental models' state tables (`<model>__state`:
    the last load of the change record they saw, which is load history too) and the windows
    of the models stored by period (`<model>__window`: the periods the last run rewrote)."""
    return [
        name
        for (name,) in con.execute(
            "select table_name from information_schema.tables "
            "where table_catalog = ? and table_schema = 'main' order by 1",
            [catalog],
        ).fetchall()
        if not name.endswith(("__state", "__window"))
    ]


def differing_rows(con: duckdb.DuckDBPyConnection, relation: str) -> tuple[int, int, int, int]:
    """Row counts of `relation` in catalogs inc and full, and the rows of each that the
    other lacks (as multisets, order-independent), load-history rows left out."""
    columns = con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_catalog = 'inc' and table_schema = 'main' and table_name = ? "
        "order by ordinal_position",
        [relation],
    ).fetchall()
    select = ", ".join(
        f'round("{name}", 9)' if data_type in DOUBLE_TYPES else f'"{name}"'
        for name, data_type in columns
    )
    kept = f"not ({LOAD_HISTORY.get(relation, 'false')})"
    inc = f'select {select} from inc.main."{relation}" where {kept}'
    full = f'select {select} from "full".main."{relation}" where {kept}'
    return (
        con.execute(f"select count(*) from ({inc})").fetchone()[0],
        con.execute(f"select count(*) from ({full})").fetchone()[0],
        con.execute(f"select count(*) from ({inc} except all {full})").fetchone()[0],
        con.execute(f"select count(*) from ({full} except all {inc})").fetchone()[0],
    )


@pytest.mark.slow
def test_daily_incremental_runs_equal_a_full_refresh(tmp_path, monkeypatch):
    generated = tmp_path / "generated"
    generate(
        generated, tmp_path / "truth", customers=CUSTOMERS, years=YEARS, seed=SEED, progress=False
    )
    plan = plan_drops(generated)
    days = plan["days"]
    # dbt's per-run target folders go to the temporary directory, not the project's target/.
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "dbt_target"))

    from orchestration.assets.dbt import warehouse_dbt_assets
    from orchestration.assets.ingestion import RAW_ASSETS, raw_key
    from orchestration.definitions import build_definitions

    raw_keys = [key for assets_def in RAW_ASSETS for key in assets_def.keys]
    dbt_keys = list(warehouse_dbt_assets.keys)
    fact_keys = [get_asset_key_for_model([warehouse_dbt_assets], m) for m in INCREMENTAL_MODELS]

    # Incremental path: one warehouse, the job after every drop, as of the drop's day.
    landing = tmp_path / "inc" / "landing"
    database = tmp_path / "inc" / "warehouse.duckdb"
    monkeypatch.setenv("WH_LANDING_DIR", str(landing))
    monkeypatch.setenv("WH_DUCKDB_PATH", str(database))
    defs = build_definitions(str(database))
    # Daily runs: the incremental models and their upstream, which holds the raw tables of
    # the daily drops. The first run builds everything (the facts' tests read the
    # dimensions), and so does the last.
    daily_keys = AssetSelection.assets(*fact_keys).upstream().resolve(defs.resolve_asset_graph())
    assert {raw_key(t) for t in DAILY_TABLES} <= daily_keys
    for i, day in enumerate(days):
        write_drop(landing, day, plan["drops"][day])
        if i == 3:  # with the third daily drop, the corrected first daily orders file
            header, rows = plan["corrected_orders"]
            write_csv(landing / "orders" / f"{days[1].isoformat()}.csv", header, rows)
        whole = i in (0, len(days) - 1)
        keys = set(raw_keys) | set(dbt_keys) if whole else daily_keys
        run_job(database, "incremental_refresh", keys, day, monkeypatch)
        if i == 0:
            with duckdb.connect(str(database), read_only=True) as con:
                first_count = con.execute("select count(*) from fct_orders").fetchone()[0]

    # Full path: a fresh warehouse, the final landing directory, one run.
    full_landing = tmp_path / "full" / "landing"
    full_database = tmp_path / "full" / "warehouse.duckdb"
    shutil.copytree(landing, full_landing)
    monkeypatch.setenv("WH_LANDING_DIR", str(full_landing))
    monkeypatch.setenv("WH_DUCKDB_PATH", str(full_database))
    run_job(full_database, "full_refresh", set(raw_keys) | set(dbt_keys), days[-1], monkeypatch)

    with duckdb.connect(str(database), read_only=True) as con:
        # The sequence did what it claims: the corrected file replaced the first daily one,
        # and the facts grew after the initial drop.
        statuses = con.execute(
            "select status from raw_meta.load_ledger where file = ? order by started_at",
            [f"orders/{days[1].isoformat()}.csv"],
        ).fetchall()
        assert statuses == [("loaded",), ("replaced",)]
        orders = dict(con.execute("select order_id, amount from fct_orders").fetchall())
        assert plan["removed_order_id"] not in orders
        assert plan["late_order_id"] in orders
        assert len(orders) > first_count
    # Every run after the first took the models' is_incremental() branch, the only one whose
    # compiled SQL reads the model's state table (dbt keeps each run's SQL in its own target
    # folder).
    for model, folder in INCREMENTAL_MODELS.items():
        compiled = (tmp_path / "dbt_target").glob(f"*/compiled/*/models/{folder}/{model}.sql")
        incremental_runs = sum(f'."{model}__state"' in path.read_text() for path in compiled)
        assert incremental_runs == len(days) - 1, model
    # --full-refresh ran in the full_refresh job, and in the first daily run, which found no
    # build recorded (orchestration/assets/dbt.py, plan_build); the other daily runs were
    # incremental.
    flags = [
        json.loads(path.read_text())["args"].get("full_refresh", False)
        for path in (tmp_path / "dbt_target").glob("*/run_results.json")
    ]
    assert sorted(flags) == [False] * (len(days) - 1) + [True, True]
    with duckdb.connect(str(database), read_only=True) as con:
        recorded = con.execute(
            "select is_full_refresh, full_refresh_reason from raw_meta.dbt_builds order by built_at"
        ).fetchall()
    assert recorded == [(True, "no earlier build is recorded (raw_meta.dbt_builds)")] + [
        (False, None)
    ] * (len(days) - 1)
    expected_amount = float(plan["corrected_orders"][1][0]["amount"])
    assert float(orders[plan["changed_order_id"]]) == pytest.approx(expected_amount)

    with duckdb.connect() as con:
        con.execute(f"attach '{database}' as inc (read_only)")
        con.execute(f"attach '{full_database}' as \"full\" (read_only)")
        relations = dbt_relations(con, "inc")
        assert relations == dbt_relations(con, "full")
        assert set(INCREMENTAL_MODELS) <= set(relations)
        differences = {}
        for relation in relations:
            inc_count, full_count, only_inc, only_full = differing_rows(con, relation)
            if (inc_count, only_inc, only_full) != (full_count, 0, 0):
                differences[relation] = (inc_count, full_count, only_inc, only_full)
        assert differences == {}, "relation: (rows inc, rows full, only in inc, only in full)"
        # Both landing directories ended the same: so did the raw orders, metadata aside.
        columns = "order_id, customer_id, ordered_on, amount, currency, is_credit_note"
        inc_raw = f"select {columns} from inc.raw.orders"
        full_raw = f'select {columns} from "full".raw.orders'
        assert con.execute(
            f"select (select count(*) from ({inc_raw} except all {full_raw})), "
            f"(select count(*) from ({full_raw} except all {inc_raw}))"
        ).fetchone() == (0, 0)


def test_only_the_full_refresh_job_rebuilds_from_scratch():
    from orchestration.assets.dbt import FULL_REFRESH_TAG
    from orchestration.definitions import defs

    assert defs.resolve_job_def("full_refresh").tags[FULL_REFRESH_TAG] == "true"
    for job in ("incremental_refresh", "report_only"):
        assert FULL_REFRESH_TAG not in defs.resolve_job_def(job).tags
    # The schedule and the landing sensor run the incremental job.
    assert defs.resolve_schedule_def("daily_refresh").job_name == "incremental_refresh"
    assert defs.resolve_sensor_def("landing_sensor").job_name == "incremental_refresh"


def test_full_refresh_is_opt_in_and_unit_tests_are_left_to_make_test():
    from orchestration.assets.dbt import dbt_build_args
    from orchestration.settings import Settings

    def args(full_refresh: bool = False, **env: str) -> list[str]:
        return dbt_build_args(Settings.from_env(env), full_refresh)

    no_unit = ["--exclude-resource-type", "unit_test"]
    assert args() == ["build", *no_unit]
    assert args(full_refresh=True) == ["build", "--full-refresh", *no_unit]
    as_of = ["--vars", '{"as_of": "2026-06-30"}']
    assert args(WH_AS_OF="2026-06-30", WH_DBT_FULL_REFRESH="1") == [
        "build",
        *as_of,
        "--full-refresh",
        *no_unit,
    ]
    assert args(WH_AS_OF="2026-06-30", WH_DBT_FULL_REFRESH="0", WH_DBT_UNIT_TESTS="1") == [
        "build",
        *as_of,
    ]
