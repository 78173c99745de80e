"""The daily run equals a full rebuild, scenario by scenario, on every table dbt builds.

A small generated firm arrives as an initial drop (every order and interaction up to a day
in July, everything else whole, less one churn record and one order held back; one
suggestion is answered two months after it arrived, so that a move of as_of adopts it in a
closed month), then one
warehouse moves through seven scenarios, each from the state the previous one left:

1. the next day: that day's orders and interactions arrive, as_of moves a day;
2. a late order in a closed month (weeks before the first day, of a customer with later
   invoices, which are renumbered);
3. a replaced (corrected) drop: the initial orders file again under the same name, one
   amount of a closed month changed and one order of another customer removed;
4. an account-manager reassignment: a new assignment of a customer to another manager;
5. churn records: the one held back (a closed month) and a new one dated that day;
6. as_of one month back;
7. as_of three months forward, with the orders and interactions of those months.

After each step the incremental warehouse takes the daily path (the ingestion of the new
files, then `dbt build` as the `incremental_refresh` job decides it), and a second,
separate warehouse is rebuilt from scratch from the same raw tables (`dbt build
--full-refresh` on a fresh file holding a copy of the raw schemas). Every table dbt builds
(the published marts and seeds, the Python assets' inputs `features_*`, the intermediate
tables) must then hold the same rows in both: counts, an order-free checksum and
`EXCEPT ALL` both ways, floats rounded (benchmarks/compare.py). The Python assets read only
those marts, so they are left out: each would double the cost of a step. The window of the
marts stored by period (macros/rewrite_window.sql) is checked at each step against the
dates and the customer the step changed.

dbt's data tests are left out too (they read the tables, never write them); the full jobs
run them.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from benchmarks.compare import compare_warehouses
from orchestration.assets.dbt import BuildFingerprint, BuildPlan, plan_build, record_build
from orchestration.contract import load_order
from orchestration.ingest import load_table
from orchestration.project import dbt_project
from orchestration.synthetic import generate

CUSTOMERS = 80
YEARS = 2
SEED = 5
# The initial as_of: the first day from here with two orders on the next day.
FIRST_DAY = dt.date(2026, 7, 14)
# Tables cut by date: rows dated after the initial as_of arrive with later steps.
DATED_TABLES = {"orders": "ordered_on", "interactions": "occurred_at"}
RAW_SCHEMAS = ("raw", "raw_quarantine", "raw_meta")
MATERIALISED = ("table", "incremental")


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


def write_csv(path: Path, header: list[str], rows: list[dict[str, str]]) -> None:
    assert rows, f"{path}: a drop without rows is rejected by the ingestion"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)


def add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    return dt.date(day.year + month // 12, month % 12 + 1, min(day.day, 28))


class Firm:
    """The generated firm's files, cut into the drops of the scenarios."""

    def __init__(self, generated: Path) -> None:
        self.tables = {
            folder.name: read_csv(next(folder.glob("*.csv"))) for folder in generated.iterdir()
        }
        orders = self.tables["orders"][1]
        by_day = defaultdict(list)
        for row in orders:
            by_day[row["ordered_on"]].append(row)
        day = FIRST_DAY
        while len(by_day[(day + dt.timedelta(days=1)).isoformat()]) < 2:
            day += dt.timedelta(days=1)
        self.first_day = day
        self.sent: dict[str, set[str]] = defaultdict(set)  # keys already dropped, per table
        # The late order: an invoice at least two months before the first day, of a customer
        # with later invoices.
        last = defaultdict(str)
        for row in orders:
            last[row["customer_id"]] = max(last[row["customer_id"]], row["ordered_on"])
        self.late_order = next(
            row
            for row in orders
            if row["is_credit_note"] == "false"
            and row["ordered_on"] < add_months(day, -2).isoformat()
            and last[row["customer_id"]] > row["ordered_on"]
        )
        # The held-back churn record: the latest one of a closed month.
        churn = sorted(self.tables["churn_records"][1], key=lambda r: r["churned_on"])
        self.late_churn = [r for r in churn if r["churned_on"] < add_months(day, -1).isoformat()][
            -1
        ]
        # A suggestion answered late: received two months before the first day, answered
        # (adopted) on the first day. As of "one month back" it is pending; three months
        # forward it is adopted and answered, and its month of receipt, closed at the stored
        # as_of, must change with it (C5 suggestion_adoption, A5 addressed).
        received = add_months(day, -2).isoformat()
        suggestion = next(
            row
            for row in self.tables["feedback"][1]
            if row["received_at"][:10] < received and row["is_valid"] == "true"
        )
        suggestion.update(
            received_at=f"{received} 10:00:00",
            category="suggestion",
            is_suggestion="true",
            is_adopted="true",
            responded_at=f"{day.isoformat()} 09:00:00",
            followed_up_at="",
        )
        # A variant first seen on the next day (C2 consultations by channel, zero-filled into
        # every period): every consultation on the forum becomes a visit, and one on the
        # forum is added on the next day. The daily runs that bring it (the next day, and
        # three months forward after as_of moved back before it) must rewrite every period.
        interactions = self.tables["interactions"][1]
        for row in interactions:
            if row["kind"] == "consultation" and row["channel"] == "forum":
                row["channel"] = "visit"
        template = max(
            (row for row in interactions if row["occurred_at"][:10] <= day.isoformat()),
            key=lambda row: row["occurred_at"],
        )
        self.new_variant_on = day + dt.timedelta(days=1)
        interactions.append(
            {
                **template,
                "interaction_id": "N99999999",
                "occurred_at": f"{self.new_variant_on.isoformat()} 10:00:00",
                "channel": "forum",
                "kind": "consultation",
            }
        )
        # The same day, a complaint category (D5) and a feedback channel (A5) first seen: the
        # billing complaints become 'other' and the portal feedback e-mail, and one of each
        # arrives that day (both files come whole in the first drop, the facts read them up
        # to as_of).
        self.first_seen("complaints", "category", "billing", "other", "opened_at")
        self.first_seen("feedback", "channel", "portal", "email", "received_at")

    def first_seen(self, table: str, column: str, value: str, instead: str, dated: str) -> None:
        """Every row of `table` whose `column` is `value` gets `instead`, and a copy of its
        earliest row with `value`, dated `new_variant_on`, is added (a variant first seen)."""
        header, rows = self.tables[table]
        for row in rows:
            if row[column] == value:
                row[column] = instead
        template = min(rows, key=lambda row: row[dated])
        on = f"{self.new_variant_on.isoformat()} 10:00:00"
        added = {**template, header[0]: f"N{table[:3].upper()}9999", dated: on, column: value}
        for stamp in ("resolved_at", "responded_at", "followed_up_at"):
            if stamp in added:  # closed or answered after as_of: not yet
                added[stamp] = ""
        if table == "complaints":
            added |= {"outcome": "", "satisfaction_after": ""}
        rows.append(added)

    def key(self, table: str, row: dict[str, str]) -> str:
        return row[next(iter(self.tables[table][1][0]))]

    def rows(self, table: str, up_to: dt.date) -> list[dict[str, str]]:
        """The rows of a dated table up to `up_to` not sent yet (held-back rows excluded)."""
        column = DATED_TABLES[table]
        held = {self.late_order["order_id"]}
        return [
            row
            for row in self.tables[table][1]
            if row[column][:10] <= up_to.isoformat()
            and self.key(table, row) not in self.sent[table] | held
        ]

    def drop(self, landing: Path, day: dt.date, table: str, rows: list[dict[str, str]]) -> None:
        """Write `rows` as the drop file of `table` for `day`; remember their keys."""
        write_csv(landing / table / f"{day.isoformat()}.csv", self.tables[table][0], rows)
        self.sent[table] |= {self.key(table, row) for row in rows}

    def initial(self, landing: Path) -> None:
        for table, (_, rows) in self.tables.items():
            if table in DATED_TABLES:
                rows = self.rows(table, self.first_day)
            elif table == "churn_records":
                rows = [r for r in rows if r is not self.late_churn]
            if rows:
                self.drop(landing, self.first_day, table, rows)

    def dated(self, landing: Path, day: dt.date) -> None:
        """Every order and interaction up to `day` not sent yet, in `day`'s drop files."""
        for table in DATED_TABLES:
            rows = self.rows(table, day)
            if rows:
                self.drop(landing, day, table, rows)


def ingest(database: Path, landing: Path) -> None:
    """The ingestion assets' work: every new drop file of every table, in dependency order."""
    with duckdb.connect(str(database)) as con:
        for tbl in load_order():
            results = load_table(con, landing, tbl.name, run_date=dt.date.today())
            rejected = [r.error for r in results if r.status == "rejected"]
            assert not rejected, rejected
            quarantined = [r.file for r in results if r.rows_quarantined]
            assert not quarantined, f"rows quarantined in {quarantined}"


def copy_raw(source: Path, target: Path) -> None:
    """A fresh warehouse file holding a copy of the raw schemas of `source` only."""
    target.unlink(missing_ok=True)
    with duckdb.connect(str(target)) as con:
        con.execute(f"attach '{source}' as source (read_only)")
        tables = con.execute(
            "select schema_name, table_name from duckdb_tables() "
            f"where database_name = 'source' and schema_name in {RAW_SCHEMAS}"
        ).fetchall()
        for schema in RAW_SCHEMAS:
            con.execute(f"create schema if not exists {schema}")
        for schema, table in tables:
            con.execute(
                f'create table {schema}."{table}" as select * from source.{schema}."{table}"'
            )


def built_tables(manifest: dict) -> list[tuple[str, str]]:
    """(schema, name) of every dbt model stored as a table, and of every seed."""
    return sorted(
        (node["schema"], node["alias"])
        for node in manifest["nodes"].values()
        if node["resource_type"] == "seed"
        or (node["resource_type"] == "model" and node["config"].get("materialized") in MATERIALISED)
    )


Step = tuple[str, dt.date, Callable[[dt.date], None] | None]


def scenario_steps(firm: Firm, landing: Path) -> tuple[list[Step], dict[str, str]]:
    """The seven scenarios after the initial drop: (name, as_of, the change of the landing
    folder or None); and a dict that the corrected drop fills with the customers of the
    order it changed ("changed") and of the one it removed ("removed")."""
    first = firm.first_day
    next_day = first + dt.timedelta(days=1)
    reassigned = firm.tables["account_assignments"][1][0]
    other_manager = next(
        row["manager_id"]
        for row in firm.tables["account_managers"][1]
        if row["manager_id"] != reassigned["manager_id"] and not row["left_on"]
    )
    active_customer = max(
        (row for row in firm.tables["orders"][1] if row["ordered_on"] <= first.isoformat()),
        key=lambda row: row["ordered_on"],
    )["customer_id"]

    def late_order(day: dt.date) -> None:
        firm.drop(landing, day, "orders", [firm.late_order])

    corrections: dict[str, str] = {}

    def replaced_drop(day: dt.date) -> None:
        header, rows = read_csv(landing / "orders" / f"{first.isoformat()}.csv")
        closed = add_months(first, -3).isoformat()
        changed = next(
            r for r in rows if r["ordered_on"] < closed and r["is_credit_note"] == "false"
        )
        removed = next(
            r
            for r in rows
            if r["customer_id"] != changed["customer_id"]
            and r["ordered_on"] < closed
            and r["is_credit_note"] == "false"
        )
        corrections["changed"] = changed["customer_id"]
        corrections["removed"] = removed["customer_id"]
        corrections["earliest_on"] = min(changed["ordered_on"], removed["ordered_on"])
        corrected = [dict(r) for r in rows if r is not removed]
        for row in corrected:
            if row["order_id"] == changed["order_id"]:
                row["amount"] = f"{float(row['amount']) + 1000:.2f}"
        write_csv(landing / "orders" / f"{first.isoformat()}.csv", header, corrected)

    def reassignment(day: dt.date) -> None:
        corrections["other_manager"] = other_manager
        row = {
            **reassigned,
            "assignment_id": "G99999999",
            "manager_id": other_manager,
            "assigned_from": day.isoformat(),
            "assigned_to": "",
        }
        firm.drop(landing, day, "account_assignments", [row])

    def churn(day: dt.date) -> None:
        today = {
            **firm.late_churn,
            "churn_id": "X99999999",
            "customer_id": active_customer,
            "churned_on": day.isoformat(),
        }
        firm.drop(landing, day, "churn_records", [firm.late_churn, today])

    def new_rows(day: dt.date) -> None:
        firm.dated(landing, day)

    month_back = add_months(next_day + dt.timedelta(days=4), -1)
    steps = [
        ("the next day", next_day, new_rows),
        ("a late order in a closed month", next_day + dt.timedelta(days=1), late_order),
        ("a replaced drop", next_day + dt.timedelta(days=2), replaced_drop),
        ("an account-manager reassignment", next_day + dt.timedelta(days=3), reassignment),
        ("churn records", next_day + dt.timedelta(days=4), churn),
        ("as_of one month back", month_back, None),
        ("as_of three months forward", add_months(month_back, 3), new_rows),
    ]

    return steps, corrections


# the models stored by period whose window moves a manager's slices only (by_slice)
STORED_BY_SLICE = (
    "loyalty_indicators",
    "int_value_indicators",
    "int_distribution_indicators",
    "int_survey_indicators",
    "int_engagement_indicators",
    "int_service_indicators",
    "int_complaint_indicators",
    "int_cohort_retention_curves",
    "loyalty_revenue_retention",
    "int_retention_bridges",
)
# those of them that zero-fill variants, or copy them: a variant first seen or gone
# rewrites every period (indicator_variants_moved)
WITH_VARIANTS = (
    "loyalty_indicators",
    "int_engagement_indicators",
    "int_service_indicators",
    "int_complaint_indicators",
)


@pytest.mark.slow
def test_each_scenario_equals_a_full_rebuild(tmp_path, dbt_subprocess):
    generated = tmp_path / "generated"
    generate(
        generated, tmp_path / "truth", customers=CUSTOMERS, years=YEARS, seed=SEED, progress=False
    )
    firm = Firm(generated)
    landing = tmp_path / "landing"
    inc, full = tmp_path / "inc.duckdb", tmp_path / "full.duckdb"

    def daily_build(as_of: dt.date) -> tuple[dict, BuildPlan]:
        """The dbt asset's work on the incremental warehouse: plan (a full rebuild when the
        last recorded build cannot be carried forward), build, record the build."""
        build_vars = {"as_of": as_of.isoformat()}
        with duckdb.connect(str(inc)) as con:
            plan = plan_build(con, json.loads(dbt_project.manifest_path.read_text()), build_vars)
        manifest = dbt_build(inc, as_of, plan.full_refresh, "inc")
        with duckdb.connect(str(inc)) as con:
            record_build(
                con, BuildFingerprint.of(manifest, build_vars), plan.full_refresh, plan.reasons
            )
        return manifest, plan

    def dbt_build(database: Path, as_of: dt.date, full_refresh: bool, work_name: str) -> dict:
        args = [
            "build",
            "--quiet",
            "--vars",
            json.dumps({"as_of": as_of.isoformat()}),
            "--exclude-resource-type",
            "test",
            "unit_test",
        ]
        work = tmp_path / work_name
        result = dbt_subprocess(
            [*args, "--full-refresh"] if full_refresh else args, database, work, timeout=900
        )
        assert result.returncode == 0, f"as of {as_of}: {result.stdout[-3000:]}"
        return json.loads((work / "target" / "manifest.json").read_text())

    steps, corrections = scenario_steps(firm, landing)
    first = firm.first_day
    month_back = steps[5][1]

    firm.initial(landing)
    ingest(inc, landing)
    _, plan = daily_build(first)
    assert plan.reasons == ["no earlier build is recorded (raw_meta.dbt_builds)"]
    differing, plans, windows, variant_windows = {}, {}, {}, {}
    for name, as_of, change in steps:
        if change:
            change(as_of)
        ingest(inc, landing)
        manifest, plan = daily_build(as_of)
        plans[name] = plan.reasons
        with duckdb.connect(str(inc), read_only=True) as con:
            model_windows = {}
            for model in STORED_BY_SLICE:
                rows = con.execute(
                    f"select slice_value, rewrite_from_on from main.{model}__window"
                ).fetchall()
                model_windows[model] = (
                    dict(rows).pop(None),
                    {value: on for value, on in rows if value is not None},
                )
            # the models stored by period with by_slice rewrite the same periods and slices,
            # those with variants every period where a variant moved
            windows[name] = model_windows["int_value_indicators"]
            variant_windows[name] = model_windows["loyalty_indicators"]
            assert all(
                window == (variant_windows if model in WITH_VARIANTS else windows)[name]
                for model, window in model_windows.items()
            ), model_windows
        copy_raw(inc, full)
        dbt_build(full, as_of, True, "full")
        tables = built_tables(manifest)
        results, missing, _ = compare_warehouses(inc, full, tables)
        assert not missing and len(results) == len(tables), f"{name}: missing {missing}"
        differing[name] = {
            f"{r.schema}.{r.table}": (r.left_rows, r.right_rows, r.left_only, r.right_only)
            for r in results
            if not r.is_equal
        }
        print(f"{name}, as of {as_of}: {plan.message}; differing {differing[name]}")
    # table: (rows incremental, rows full, rows only incremental, rows only full)
    assert differing == {name: {} for name, _, _ in steps}
    # every step ran incrementally but the one that moved as_of back, which said why
    back = month_back.isoformat()
    assert plans == {
        name: [f"as_of moved back, from {steps[4][1].isoformat()} to {back}"]
        if as_of == month_back
        else []
        for name, as_of, _ in steps
    }
    # the rows the models stored by period rewrote (macros/rewrite_window.sql): the periods
    # from the last as_of on, on a day that brings only later rows, or from the earliest date
    # a load touched (the late order, the corrected and the removed order, the late churn record);
    # every period after the rebuild that moved as_of back; and the account-manager slices of
    # every manager a customer whose manager moved ever had (reassigned by a load, or an
    # assignment starting or ending between the two as_of dates), from its acquisition
    day = dt.date.fromisoformat
    acquired = {row["customer_id"]: day(row["acquired_on"]) for row in firm.tables["customers"][1]}
    assignments = [
        (row["customer_id"], row["manager_id"], row["assigned_from"], row["assigned_to"])
        for row in firm.tables["account_assignments"][1]
    ]
    reassigned = assignments[0][0]

    def managers_moved(before: dt.date, after: dt.date) -> set[str]:
        return {
            customer
            for customer, _, start, end in assignments
            if before < day(start) <= after or (end and before <= day(end) < after)
        }

    def slice_windows(customers: set[str]) -> dict[str, dt.date]:
        managers = defaultdict(set)
        for customer, manager, _, _ in assignments:
            if customer in customers:
                managers[manager].add(customer)
        managers["unassigned"] |= customers
        return {m: min(acquired[c] for c in moved) for m, moved in managers.items() if moved}

    touched = {
        "a late order in a closed month": [day(firm.late_order["ordered_on"])],
        "a replaced drop": [day(corrections["earliest_on"])],
        "churn records": [day(firm.late_churn["churned_on"])],
    }
    expected, before = {}, first
    for name, as_of, _ in steps:
        if as_of < before:
            expected[name] = (None, {})
        else:
            moved = managers_moved(before, as_of)
            if name == "an account-manager reassignment":
                moved.add(reassigned)
                assignments.append(
                    (reassigned, corrections["other_manager"], as_of.isoformat(), "")
                )
            expected[name] = (min([before, *touched.get(name, [])]), slice_windows(moved))
        before = as_of
    assert windows == expected
    # the forum consultation, the billing complaint and the portal feedback of the next day
    # are variants first seen by the daily run of that day, and again three months forward
    # (as_of one month back, a full rebuild, is before it)
    variants_moved = {"the next day", "as_of three months forward"}
    assert {name for name, as_of, _ in steps if as_of < firm.new_variant_on} == {
        "as_of one month back"
    }
    assert variant_windows == {
        name: (None, slices) if name in variants_moved else (start, slices)
        for name, (start, slices) in expected.items()
    }
    # the change record of the corrected drop: the customers of the row it removed and of
    # the row it changed (the old row removed, the new one added), not the unchanged rows'
    with duckdb.connect(str(inc), read_only=True) as con:
        recorded = con.execute(
            "select change_kind, customer_id from raw_meta.load_changes where file = ? "
            "and load_seq = (select max(load_seq) from raw_meta.load_changes where file = ?) "
            "order by 1, 2",
            [f"orders/{first.isoformat()}.csv"] * 2,
        ).fetchall()
    assert recorded == sorted(
        [
            ("added", corrections["changed"]),
            *(("removed", c) for c in {corrections["changed"], corrections["removed"]}),
        ]
    )


def tiny_manifest(sql_checksum: str = "a", seed_checksum: str = "s") -> dict:
    """A manifest of one model, one seed and one macro, as `dbt parse` writes them."""
    return {
        "metadata": {"project_name": "loyalty_warehouse"},
        "nodes": {
            "model.loyalty_warehouse.fct_orders": {
                "resource_type": "model",
                "checksum": {"name": "sha256", "checksum": sql_checksum},
                "config": {"materialized": "incremental"},
                "columns": {"order_id": {"data_type": "varchar"}},
            },
            "seed.loyalty_warehouse.fx_rates": {
                "resource_type": "seed",
                "checksum": {"name": "sha256", "checksum": seed_checksum},
                "config": {},
            },
            "test.loyalty_warehouse.not_null_x": {"resource_type": "test"},
        },
        "macros": {
            "macro.loyalty_warehouse.as_of_date": {
                "package_name": "loyalty_warehouse",
                "macro_sql": "{% macro as_of_date() %}...{% endmacro %}",
            },
            "macro.dbt.current_timestamp": {"package_name": "dbt", "macro_sql": "..."},
        },
    }


def test_a_full_rebuild_is_planned_when_the_last_build_cannot_be_carried_forward():
    from orchestration.assets.dbt import last_build, plan_build, record_build

    con = duckdb.connect()
    manifest = tiny_manifest()
    july = {"as_of": "2026-07-15"}
    first = plan_build(con, manifest, july)
    assert first.full_refresh and first.reasons == [
        "no earlier build is recorded (raw_meta.dbt_builds)"
    ]
    record_build(con, last_fingerprint(manifest, july), True, first.reasons)
    assert last_build(con).as_of == "2026-07-15"
    # the same code a day later, or the same day again: incremental
    for as_of in ("2026-07-15", "2026-07-16"):
        plan = plan_build(con, manifest, {"as_of": as_of})
        assert (plan.full_refresh, plan.reasons) == (False, [])
        assert plan.message.startswith("incremental build")
    # each change gives its own reason, and a requested one comes first
    assert plan_build(con, manifest, {"as_of": "2026-06-15"}).reasons == [
        "as_of moved back, from 2026-07-15 to 2026-06-15"
    ]
    assert plan_build(con, tiny_manifest(sql_checksum="b"), july).reasons == [
        "models or macros changed since the last build: fct_orders"
    ]
    assert plan_build(con, tiny_manifest(seed_checksum="t"), july).reasons == [
        "seeds changed since the last build: fx_rates"
    ]
    window = {**july, "activity_window_days": 180}
    assert plan_build(con, manifest, window, ["the full_refresh job"]).reasons == [
        "the full_refresh job",
        "dbt vars changed since the last build: activity_window_days",
    ]
    changed_macro = tiny_manifest()
    changed_macro["macros"]["macro.loyalty_warehouse.as_of_date"]["macro_sql"] = "changed"
    assert plan_build(con, changed_macro, july).message == (
        "full rebuild (dbt --full-refresh): models or macros changed since the last build: "
        "as_of_date"
    )
    # dbt's own macros and the data tests are not part of the fingerprint
    other = tiny_manifest()
    other["macros"]["macro.dbt.current_timestamp"]["macro_sql"] = "changed"
    other["nodes"]["test.loyalty_warehouse.not_null_x"]["config"] = {"severity": "warn"}
    assert not plan_build(con, other, july).full_refresh


def test_a_full_rebuild_is_planned_when_the_change_record_lost_what_the_last_build_saw():
    """raw_meta.load_changes must be append-only: the incremental models' state tables keep
    the last load they saw and read only later ones, so a record emptied or renumbered
    would hide changes from them. The last build's load (3, its time) and the lines up to it
    (4) are recorded; a later load appended keeps the daily path; the record emptied, cut
    back to load 2, or refilled with as many lines and a load 3 of another time does not."""
    from orchestration.assets.dbt import plan_build, record_build
    from orchestration.raw_schema import create_raw_tables

    july = {"as_of": "2026-07-15"}
    manifest = tiny_manifest()

    def warehouse(loads: list[tuple[int, str]]) -> duckdb.DuckDBPyConnection:
        con = duckdb.connect()
        create_raw_tables(con)
        add(con, loads)
        return con

    def add(con: duckdb.DuckDBPyConnection, loads: list[tuple[int, str]], day: int = 1) -> None:
        for load_seq, customer in loads:
            con.execute(
                "insert into raw_meta.load_changes (load_seq, table_name, change_kind, "
                "customer_id, recorded_at) values (?, 'orders', 'added', ?, ?)",
                [load_seq, customer, dt.datetime(2026, 7, day, load_seq)],
            )

    seen = [(1, "C1"), (2, "C1"), (2, "C2"), (3, "C3")]
    con = warehouse(seen)
    record_build(con, last_fingerprint(manifest, july), True, ["first"])
    assert con.execute(
        "select last_load_seq, last_load_recorded_at, change_lines from raw_meta.dbt_builds"
    ).fetchall() == [(3, dt.datetime(2026, 7, 1, 3), 4)]
    assert plan_build(con, manifest, july).reasons == []
    add(con, [(4, "C4")])
    assert plan_build(con, manifest, july).reasons == []

    lost = (
        "the change record (raw_meta.load_changes) no longer holds what the last build saw: "
        "4 lines up to load 3, now {} (last load {}); it was emptied or its load numbers "
        "went back"
    )
    con.execute("delete from raw_meta.load_changes")
    assert plan_build(con, manifest, july).reasons == [lost.format(0, 0)]
    add(con, [(1, "C5")])
    plan = plan_build(con, manifest, july, ["the full_refresh job"])
    assert plan.reasons == ["the full_refresh job", lost.format(1, 1)]
    assert plan.full_refresh
    con.execute("delete from raw_meta.load_changes where load_seq >= 1")
    add(con, seen[:3])  # cut back to load 2
    assert plan_build(con, manifest, july).reasons == [lost.format(3, 2)]
    add(con, [(3, "C6")], day=2)  # as many lines up to load 3, but another load 3
    assert plan_build(con, manifest, july).reasons == [lost.format(4, 3)]
    # after the full rebuild the record is the new reference
    record_build(con, last_fingerprint(manifest, july), True, [lost.format(4, 3)])
    assert plan_build(con, manifest, july).reasons == []
    # a build recorded before the change record was checked has nothing to compare
    old = duckdb.connect()
    old.execute("create schema raw_meta")
    old.execute(
        "create table raw_meta.dbt_builds (built_at timestamp, as_of date, "
        "is_full_refresh boolean, full_refresh_reason varchar, fingerprint varchar)"
    )
    old.execute(
        "insert into raw_meta.dbt_builds values (current_timestamp, '2026-07-15', true, null, ?)",
        [last_fingerprint(manifest, july).to_json()],
    )
    assert plan_build(old, manifest, july).reasons == []


def last_fingerprint(manifest: dict, build_vars: dict):
    from orchestration.assets.dbt import BuildFingerprint

    return BuildFingerprint.of(manifest, build_vars)


def test_the_change_record_names_the_customers_a_load_touched(tmp_path):
    """Hand-made drops: a new drop records each customer with its earliest date; a corrected
    drop records the customers of the rows it removed or changed, not of those it kept."""
    customers = (
        "customer_id,customer_name,industry,province,region,city,size_band,acquired_on,"
        "acquisition_channel,acquisition_cost"
    )
    orders = (
        "order_id,customer_id,ordered_on,amount,currency,product_line,is_credit_note,contract_id"
    )

    def drop(table: str, name: str, lines: list[str]) -> None:
        path = tmp_path / table / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    drop(
        "customers",
        "2026-06-01.csv",
        [customers]
        + [
            f"C{i},Firm {i},manufacturing,江苏,east,苏州,small,2024-0{i}-05,referral,"
            for i in (1, 2, 3)
        ],
    )
    first = [
        orders,
        "O1,C1,2026-03-01,100.00,CNY,consulting,false,",
        "O2,C2,2026-04-02,200.00,CNY,consulting,false,",
        "O3,C2,2026-04-20,300.00,CNY,consulting,false,",
        "O4,C3,2026-05-03,400.00,CNY,consulting,false,",
    ]
    drop("orders", "2026-06-01.csv", first)

    def changes(con: duckdb.DuckDBPyConnection, after: int = 0) -> list[tuple]:
        return con.execute(
            "select load_seq, table_name, change_kind, customer_id, cast(earliest_on as varchar), "
            "row_count from raw_meta.load_changes where load_seq > ? order by 1, 2, 3, 4",
            [after],
        ).fetchall()

    with duckdb.connect() as con:
        for table in ("customers", "orders"):
            load_table(con, tmp_path, table, run_id="t", run_date=dt.date(2026, 6, 2))
        assert changes(con) == [
            (1, "customers", "added", "C1", "2024-01-05", 1),
            (1, "customers", "added", "C2", "2024-02-05", 1),
            (1, "customers", "added", "C3", "2024-03-05", 1),
            (2, "orders", "added", "C1", "2026-03-01", 1),
            (2, "orders", "added", "C2", "2026-04-02", 2),
            (2, "orders", "added", "C3", "2026-05-03", 1),
        ]
        # the corrected drop: O1's amount changed, O2 removed, O3 and O4 unchanged
        drop(
            "orders", "2026-06-01.csv", [first[0], first[1].replace("100.00", "150.00"), *first[3:]]
        )
        [result] = load_table(con, tmp_path, "orders", run_id="t", run_date=dt.date(2026, 6, 2))
        assert result.status == "replaced"
        assert changes(con, after=2) == [
            (3, "orders", "added", "C1", "2026-03-01", 1),
            (3, "orders", "removed", "C1", "2026-03-01", 1),
            (3, "orders", "removed", "C2", "2026-04-02", 1),
        ]
