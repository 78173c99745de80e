"""The incremental customer-month spine (and the lifecycle months stored by customer beside it)
equals a full rebuild, and rebuilds only what changed.

On two copies of the session's end-to-end warehouse, `int_customer_months` is built from
scratch as of a day in September; then one copy takes the incremental path and the other is
rebuilt with --full-refresh after each step, from the same raw tables: a later day of the
same month; the next month with a late order of a closed month, a removed order and a new
churn record; an earlier as_of; a changed activity window and a removed customer. The raw
tables are changed in SQL here, each change recorded in the change record
(raw_meta.load_changes) as the ingestion records it, with its `record_changes`. After each
step both spines (and their state tables) must hold the same rows, and so must both
`int_customer_lifecycle_months` (built with its inputs fct_orders and fct_contracts).

A closed month of two customers is altered in the incremental copy before the second step:
the one whose late order arrives is rebuilt (the alteration is gone), the other keeps the
altered row, which shows that the incremental path left its closed months alone.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest

from orchestration.contract import table
from orchestration.ingest import record_changes

SPINE = "int_customer_months"
LIFECYCLE = "int_customer_lifecycle_months"
# the models each step builds: the spine, the lifecycle months and their facts
MODELS = ["fct_orders", "fct_contracts", SPINE, LIFECYCLE]
MARKER = 999_999  # an order count no real month has


def rows_only_in(con: duckdb.DuckDBPyConnection, table: str) -> tuple[int, int]:
    """Rows of `table` only in catalog inc, and only in catalog full (as multisets)."""
    inc, full = f"select * from inc.main.{table}", f'select * from "full".main.{table}'
    return con.execute(
        f"select (select count(*) from ({inc} except all {full})), "
        f"(select count(*) from ({full} except all {inc}))"
    ).fetchone()


def changed_raw(databases: list[Path], table_name: str, kind: str, sql: str) -> None:
    """In each database, the rows of raw.<table_name> that `sql` adds (an insert) or marks for
    removal (an update), with `_file` set to a name of this change, and their record in the
    change record, as the ingestion writes it; marked rows are then removed."""
    file = f"test/{table_name}-{kind}"
    for database in databases:
        with duckdb.connect(str(database)) as con:
            load_seq = con.execute(
                "select coalesce(max(load_seq), 0) + 1 from raw_meta.load_changes"
            ).fetchone()[0]
            con.execute(sql.replace("$file", f"'{file}'"))
            rows = f"select * from raw.{table_name} where _file = '{file}'"
            record_changes(con, table(table_name), kind, rows, load_seq, "test", file)
            if kind == "removed":
                con.execute(f"delete from raw.{table_name} where _file = ?", [file])


@pytest.mark.slow
def test_incremental_spine_equals_a_full_rebuild(built_warehouse, tmp_path, dbt_subprocess):
    inc, full = tmp_path / "inc" / "warehouse.duckdb", tmp_path / "full" / "warehouse.duckdb"
    for database in (inc, full):
        database.parent.mkdir()
        shutil.copy(built_warehouse, database)
    both = [inc, full]
    with duckdb.connect(str(inc), read_only=True) as con:
        # two customers with orders in a closed month; the second gets a late order there
        kept, rebuilt = (
            row[0]
            for row in con.execute(
                "select customer_id from stg_crm__orders where not is_credit_note "
                "and ordered_on between date '2025-03-01' and date '2025-03-31' "
                "group by customer_id order by customer_id limit 2"
            ).fetchall()
        )
        first_customer = con.execute("select min(customer_id) from raw.customers").fetchone()[0]

    def late_order_and_churn() -> None:
        changed_raw(
            both,
            "orders",
            "added",
            "insert into raw.orders select * replace ('LATE-ORDER' as order_id, "
            "date '2025-03-15' as ordered_on, false as is_credit_note, $file as _file) "
            f"from raw.orders where customer_id = '{rebuilt}' limit 1",
        )
        changed_raw(
            both,
            "orders",
            "removed",
            "update raw.orders set _file = $file where order_id = (select max(order_id) "
            "from raw.orders where ordered_on < date '2025-01-01')",
        )
        changed_raw(
            both,
            "churn_records",
            "added",
            "insert into raw.churn_records select * replace ('LATE-CHURN' as churn_id, "
            "date '2026-09-25' as churned_on, $file as _file) from raw.churn_records limit 1",
        )

    def remove_customer() -> None:
        changed_raw(
            both,
            "customers",
            "removed",
            f"update raw.customers set _file = $file where customer_id = '{first_customer}'",
        )

    steps = [
        ("2026-09-28", {}, None),
        ("2026-10-31", {}, late_order_and_churn),
        ("2026-08-15", {}, None),
        ("2026-10-31", {"activity_window_days": 180}, remove_customer),
    ]

    def dbt_run(database: Path, dbt_vars: dict, full: bool) -> None:
        """`dbt run` of the spine and the lifecycle months, from scratch or incrementally."""
        args = ["run", "--quiet", "--select", *MODELS, "--vars", json.dumps(dbt_vars)]
        result = dbt_subprocess(
            [*args, "--full-refresh"] if full else args, database, tmp_path, timeout=600
        )
        assert result.returncode == 0, f"{dbt_vars} full={full}: {result.stdout[-3000:]}"

    target = tmp_path / "target"
    dbt_run(inc, {"as_of": "2026-09-20"}, full=True)
    with duckdb.connect(str(inc)) as con:
        con.execute(
            f"update {SPINE} set order_count = {MARKER} where month_start_on = "
            f"date '2025-03-01' and customer_id in ('{kept}', '{rebuilt}')"
        )
    for step, (as_of, extra_vars, change) in enumerate(steps):
        if change:
            change()
        dbt_vars = {"as_of": as_of, **extra_vars}
        dbt_run(inc, dbt_vars, full=False)
        for model in (SPINE, LIFECYCLE):  # the incremental branch ran
            compiled = (target / "compiled" / "loyalty_warehouse").rglob(f"{model}.sql")
            assert "__state" in next(compiled).read_text(), model
        dbt_run(full, dbt_vars, full=True)
        with duckdb.connect() as con:
            con.execute(f"attach '{inc}' as inc (read_only)")
            con.execute(f"attach '{full}' as \"full\" (read_only)")
            marked = dict(
                con.execute(
                    f"select customer_id, count(*) from inc.main.{SPINE} "
                    f"where order_count = {MARKER} group by customer_id"
                ).fetchall()
            )
            only = rows_only_in(con, SPINE)
            assert rows_only_in(con, f"{SPINE}__state") == (0, 0), f"as of {as_of}"
            assert rows_only_in(con, LIFECYCLE) == (0, 0), f"as of {as_of} {extra_vars}"
            assert rows_only_in(con, f"{LIFECYCLE}__state") == (0, 0), f"as of {as_of}"
        if step == 0:  # a day later in the same month: closed months untouched
            assert marked == {kept: 1, rebuilt: 1}
            assert only == (2, 2)  # the two altered rows, unaltered in the full rebuild
            continue
        if step == 1:
            # the late order rebuilt one customer; the other's closed month was left alone
            assert marked == {kept: 1}
            assert only == (1, 1)
            with duckdb.connect(str(inc)) as con:  # put the row right for the next steps
                con.execute(f"attach '{full}' as \"full\" (read_only)")
                con.execute(
                    f"update {SPINE} set order_count = (select order_count "
                    f"from \"full\".main.{SPINE} as f where f.customer_id = '{kept}' "
                    "and f.month_start_on = date '2025-03-01') "
                    f"where order_count = {MARKER}"
                )
            continue
        assert marked == {}
        assert only == (0, 0), f"as of {as_of} {extra_vars}: rows only in inc, only in full"
