"""The refresh benchmark's machinery (benchmarks/refresh.py): rows written per node, step and
phase, the fair floor's copy of the published tables, the process tree's peak memory, and, end
to end on a 300-customer firm, a report with every phase, dbt node times, both floor ratios
and the daily run. No test asserts a wall-clock time."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from benchmarks import refresh

MIB = 1024 * 1024


def make_database(path: Path, tables: dict[str, int]) -> None:
    """A DuckDB file with `rows` rows in each "schema.table"."""
    con = duckdb.connect(str(path))
    for name, rows in tables.items():
        schema, table = name.split(".")
        con.execute(f"create schema if not exists {schema}")
        con.execute(
            f"create or replace table {schema}.{table} as select range as id from range({rows})"
        )
    con.close()


def result_row(uid: str, seconds: float, relation: str | None, status: str = "success") -> dict:
    """One entry of dbt's run_results.json, with the fields the benchmark reads."""
    return {
        "unique_id": uid,
        "execution_time": seconds,
        "status": status,
        "relation_name": relation,
    }


RUN_RESULTS = {
    "results": [
        result_row("model.p.stg_orders", 0.1, '"wh"."main"."stg_orders"'),
        result_row("model.p.fct_orders", 2.0, '"wh"."main"."fct_orders"'),
        result_row("model.p.loyalty_indicators", 5.0, '"wh"."main"."loyalty_indicators"'),
        result_row("test.p.unique_fct_orders_order_id.abc", 0.5, None, "pass"),
        result_row("seed.p.fx_rates", 0.2, '"wh"."main"."fx_rates"'),
    ]
}
MATERIALIZED = {
    "model.p.stg_orders": "view",
    "model.p.fct_orders": "incremental",
    "model.p.loyalty_indicators": "table",
    "test.p.unique_fct_orders_order_id.abc": "test",
    "seed.p.fx_rates": "seed",
}


def test_dbt_nodes_rows_written_by_materialization(tmp_path):
    database = tmp_path / "wh.duckdb"
    make_database(
        database, {"main.fct_orders": 10, "main.loyalty_indicators": 40, "main.fx_rates": 4}
    )
    after = refresh.table_counts(database)
    assert after == {"main.fct_orders": 10, "main.loyalty_indicators": 40, "main.fx_rates": 4}
    before = {"main.fct_orders": 7, "main.loyalty_indicators": 38, "main.fx_rates": 4}

    full = {n["node"]: n for n in refresh.dbt_nodes(RUN_RESULTS, MATERIALIZED, {}, after, True)}
    # slowest first; a view and a test write nothing; a table and a seed all their rows
    assert list(full) == [
        "loyalty_indicators",
        "fct_orders",
        "unique_fct_orders_order_id.abc",
        "fx_rates",
        "stg_orders",
    ]
    assert {k: v["rows_written"] for k, v in full.items()} == {
        "loyalty_indicators": 40,
        "fct_orders": 10,
        "unique_fct_orders_order_id.abc": 0,
        "fx_rates": 4,
        "stg_orders": 0,
    }
    # the daily run: the incremental model wrote at least the 3 rows it added
    daily = {
        n["node"]: n for n in refresh.dbt_nodes(RUN_RESULTS, MATERIALIZED, before, after, False)
    }
    assert (daily["fct_orders"]["rows_written"], daily["fct_orders"]["rows_net"]) == (3, True)
    assert daily["loyalty_indicators"]["rows_written"] == 40
    # a model stored by period: the rows its window rewrote, counted in the warehouse
    stored = {**MATERIALIZED, "model.p.loyalty_indicators": "incremental"}
    rewritten = {"main.loyalty_indicators": 25}
    daily = {
        n["node"]: n
        for n in refresh.dbt_nodes(RUN_RESULTS, stored, before, after, False, rewritten)
    }
    assert (
        daily["loyalty_indicators"]["rows_written"],
        daily["loyalty_indicators"]["rows_net"],
    ) == (
        25,
        False,
    )
    assert (daily["fct_orders"]["rows_written"], daily["fct_orders"]["rows_net"]) == (3, True)
    assert refresh.rewritten_rows({"main.fct_orders": 10}, tmp_path, tmp_path) == {}
    assert (
        refresh.relation_key('"warehouse"."analytics"."customer_clv"') == "analytics.customer_clv"
    )


def test_step_rows_and_phases():
    steps = [
        "raw__orders",
        "warehouse_dbt_assets",
        "churn_assets",
        "analytics__customer_clv_is_sane",
    ]
    materialized = {
        "raw__orders": [(["raw", "orders"], {"rows_accepted": 95, "rows_quarantined": 5})],
        "warehouse_dbt_assets": [(["fct_orders"], {})],
        "churn_assets": [
            (["analytics", "churn_scores"], {"rows": 300}),
            (["analytics", "churn_backtest"], {}),
        ],
        "analytics__customer_clv_is_sane": [],
        "published_warehouse": [(["published_warehouse"], {})],
        "loyalty_report": [(["loyalty_report"], {})],
    }
    phases = {
        step: refresh.phase_of(step, bool(materialized[step]))
        for step in [*steps, "published_warehouse", "loyalty_report"]
    }
    assert list(phases.values()) == [
        "ingestion",
        "dbt build",
        "python: churn_assets",
        "asset checks",
        "publish",
        "report",
    ]
    nodes = [{"rows_written": 40}, {"rows_written": 10}, {"rows_written": 0}]
    after = {"analytics.churn_scores": 300, "analytics.churn_backtest": 12, "raw.orders": 100}
    rows = refresh.step_rows(materialized, nodes, {}, after, published=1234, phases=phases)
    assert rows == {
        "raw__orders": 100,  # accepted + quarantined
        "warehouse_dbt_assets": 50,
        "churn_assets": 312,
        "analytics__customer_clv_is_sane": 0,
        "published_warehouse": 1234,
        "loyalty_report": 0,
    }
    seconds = {"raw__orders": 1.5, "warehouse_dbt_assets": 20.0, "churn_assets": 3.0}
    assert refresh.phase_totals(seconds, phases) == {
        "ingestion": 1.5,
        "dbt build": 20.0,
        "python: churn_assets": 3.0,
    }


def test_copy_published_writes_every_table_of_the_manifest(tmp_path):
    make_database(
        tmp_path / "bi.duckdb", {"main.loyalty_retention": 3, "analytics.customer_clv": 2}
    )
    con = duckdb.connect(str(tmp_path / "bi.duckdb"))
    con.execute("create schema publish_meta")
    con.execute("create table publish_meta.columns as select 1 as x")  # not in the manifest
    con.close()
    manifest = {
        "tables": {"main.loyalty_retention": {"rows": 3}, "analytics.customer_clv": {"rows": 2}}
    }
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    assert refresh.published_rows(tmp_path) == 5
    # rows written: not those of a linked table, nor of a linked part
    later = {"tables": dict(manifest["tables"])}
    later["tables"]["main.dim_customers"] = {"rows": 7, "published": "linked"}
    later["tables"]["main.fct_orders"] = {
        "rows": 11,
        "published": "written",
        "partitions": {
            "2025": {"rows": 4, "published": "linked"},
            "2026": {"rows": 7, "published": "written"},
        },
    }
    (tmp_path / "later").mkdir()
    (tmp_path / "later" / "manifest.json").write_text(json.dumps(later))
    assert refresh.published_rows(tmp_path / "later") == 5 + 7

    floor = duckdb.connect(str(tmp_path / "floor.duckdb"))
    copied = refresh.copy_published(floor, tmp_path)
    assert copied == {"analytics.customer_clv": 2, "main.loyalty_retention": 3}
    written = floor.execute(
        "select schema_name || '.' || table_name from duckdb_tables() "
        "where database_name = 'floor' order by 1"
    ).fetchall()
    assert [name for (name,) in written] == [
        "fair_analytics.customer_clv",
        "fair_main.loyalty_retention",
    ]
    assert floor.execute("select count(*) from fair_main.loyalty_retention").fetchall() == [(3,)]
    floor.close()


def test_tree_sampler_counts_the_children(tmp_path):
    """A child holding 200 MiB is in the peak of the parent's tree."""
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "b = b'x' * (200 * 1024 * 1024); print('ready', flush=True); input()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        with refresh.TreeSampler(os.getpid()) as sampler:
            assert child.stdout.readline().strip() == "ready"
            own = refresh.tree_rss_bytes(child.pid)
            deadline = time.monotonic() + 30
            while sampler.peak < own and time.monotonic() < deadline:
                time.sleep(refresh.SAMPLE_SECONDS)
        assert own >= 200 * MIB
        assert sampler.peak >= own
    finally:
        child.communicate("\n")


def test_peak_of_each_step_and_phase():
    """A step's peak is the largest sample during it (one interval of slack each side); a
    phase's peak is the largest of its steps'."""
    sampler = refresh.TreeSampler(os.getpid())
    sampler.samples = [(100.0, 5 * MIB), (101.0, 9 * MIB), (102.0, 7 * MIB), (110.0, 3 * MIB)]
    assert sampler.peak_between(100.5, 102.0) == 9 * MIB
    assert sampler.peak_between(101.5, 101.9) == 7 * MIB  # the sample 0.1 s after the step
    assert sampler.peak_between(105.0, 106.0) == 0  # no sample: nothing measured
    peaks = {"raw__a": 100.0, "raw__b": 300.0, "warehouse_dbt_assets": 200.0}
    phases = {"raw__a": "ingestion", "raw__b": "ingestion", "warehouse_dbt_assets": "dbt build"}
    assert refresh.phase_peaks(peaks, phases) == {"ingestion": 300.0, "dbt build": 200.0}


def test_progress_filter_echoes_phases_and_long_steps():
    echo = refresh.ProgressFilter("10,000 full")
    assert echo.status(0.0) == "start-up"
    line = (
        "2026-12-06 06:50:00 +0000 - dagster - DEBUG - full_refresh - 1a2b - {step} - {event} - x"
    )
    assert echo(line.format(step="raw__customers", event="STEP_START"), 0.0) == (
        "10,000 full: ingestion started (raw__customers)"
    )
    assert echo(line.format(step="raw__customers", event="STEP_SUCCESS"), 1.0) is None
    assert echo(line.format(step="raw__orders", event="STEP_START"), 1.0) is None  # same phase
    assert echo(line.format(step="warehouse_dbt_assets", event="STEP_START"), 2.0) == (
        "10,000 full: dbt build started (warehouse_dbt_assets)"
    )
    for event in ("ASSET_MATERIALIZATION", "ASSET_MATERIALIZATION", "ASSET_CHECK_EVALUATION"):
        assert echo(line.format(step="warehouse_dbt_assets", event=event), 3.0) is None
    assert echo.status(32.0) == (
        "in warehouse_dbt_assets for 30 s (2 assets materialized, 1 checks evaluated)"
    )
    assert echo(line.format(step="warehouse_dbt_assets", event="STEP_SUCCESS"), 62.0) == (
        "10,000 full: step warehouse_dbt_assets done in 60 s"
    )
    assert echo("bench: 3 tables before the run\n", 0.0) == "10,000 full: 3 tables before the run"
    assert echo("some other log line", 0.0) is None


@pytest.mark.slow
def test_benchmark_end_to_end(tmp_path):
    """The real benchmark on a 300-customer firm: both jobs, the floors, the report."""
    out = tmp_path / "out"
    code = refresh.main(
        [
            "--customers", "300",
            "--cache", str(tmp_path / "cache"),
            "--work", str(tmp_path / "work"),
            "--out", str(out),
            "--top", "5",
        ]
    )  # fmt: skip
    assert code == 0
    result = json.loads((out / "result-300.json").read_text())
    full, floor, daily = result["full"], result["floor"], result["incremental"]
    assert full["success"] and daily["success"]
    generated = json.loads((tmp_path / "cache" / "customers-300" / "rows.json").read_text())
    for report in (full, daily):
        phases = set(report["phases_s"])
        assert {
            "startup (imports, definitions)",
            "ingestion",
            "dbt build",
            "python: churn_assets",
            "python: clv_assets",
            "python: index_assets",
            "asset checks",
            "publish",
            "report",
            "other (Dagster overhead)",
        } <= phases
        assert report["tree_peak_mib"] > 0
        assert 0 < report["phase_peak_mib"]["python: churn_assets"] <= report["tree_peak_mib"]
        assert report["rss_largest_child_mib"] > 0  # the dbt subprocess
    # ingestion wrote every generated row on the first day, the appended rows on the next
    assert full["phase_rows"]["ingestion"] == sum(generated.values())
    assert daily["phase_rows"]["ingestion"] == sum(result["appended"].values())
    # the fair floor wrote what the full refresh published
    assert floor["copied_rows"] == full["phase_rows"]["publish"] > 0
    assert floor["fair_wall_s"] > floor["wall_s"] > 0
    assert all(check[0] == 0 for check in result["floor_check"].values())
    # every dbt node, with its rows: loyalty_indicators (stored by period) as the warehouse
    # holds it after the full refresh; on the daily run the rows its window rewrote: at least
    # the rows it added, at most what it holds
    for run, report in (("full", full), ("daily", daily)):
        with (out / f"dbt-nodes-300-{run}.csv").open() as fh:
            nodes = {row["node"]: row for row in csv.DictReader(fh)}
        assert len(nodes) == len(report["dbt"]["nodes"]) > 100
        indicators = nodes["loyalty_indicators"]
        held = report["tables_after"]["main.loyalty_indicators"]
        assert indicators["materialized"] == "incremental"
        assert float(indicators["seconds"]) > 0
        if run == "full":
            assert int(indicators["rows_written"]) == held and indicators["rows_net"] == "False"
        else:
            added = held - full["tables_after"]["main.loyalty_indicators"]
            assert max(added, 1) <= int(indicators["rows_written"]) <= held
            assert indicators["rows_net"] == "False"
    report = (out / "report.md").read_text()
    for header in ("full / headline floor", "full / fair floor", "daily / full", "dbt node"):
        assert header in report
    ratio = full["wall_s"] / floor["fair_wall_s"]
    assert f"{ratio:.1f}×" in report


def test_ingest_memory_loads_the_tables_and_only_reads_the_landing(tmp_path, monkeypatch):
    """benchmarks/ingest_memory.py: the rows each table loaded and quarantined, a peak per
    table, and with --trace the steps of the load; the landing folder is left as it was."""
    from benchmarks import ingest_memory
    from orchestration import ingest
    from tests.test_ingest import CUSTOMERS_HEADER, GOOD_CUSTOMER, ORDERS_HEADER, write

    monkeypatch.setenv("WH_PII_SALT", "bench-salt")
    # the script sets these for its own process: restored after the test
    monkeypatch.setenv("WH_DUCKDB_TEMP_DIR", str(tmp_path / "unused"))
    monkeypatch.delenv("WH_DAGSTER_DUCKDB_MEMORY_LIMIT", raising=False)
    scan = ingest._scan_csv
    landing = tmp_path / "landing"
    write(landing, "customers", "2026-10-01.csv", [CUSTOMERS_HEADER, GOOD_CUSTOMER])
    write(
        landing,
        "orders",
        "2026-10-01.csv",
        [
            ORDERS_HEADER,
            "O1,C1,2025-01-01,100.00,CNY,consulting,false,",
            "O2,C9,2025-01-02,50.00,CNY,consulting,false,",  # unknown customer
        ],
    )
    before = {p: p.stat().st_mtime_ns for p in landing.rglob("*")}
    out = tmp_path / "result.json"
    argv = [str(landing), "--work", str(tmp_path / "work"), "--tables", "orders", "customers"]
    assert ingest_memory.main([*argv, "--trace", "--trace-min", "0", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert list(report["tables"]) == ["customers", "orders"]  # in load order
    orders = report["tables"]["orders"]
    assert (orders["rows_in"], orders["rows_quarantined"], orders["statuses"]) == (2, 1, ["loaded"])
    assert report["config"]["temp_directory"] == str(tmp_path / "work" / "spill")
    assert all(t["peak_mib"] > 0 for t in report["tables"].values())
    steps = [row["step"] for row in report["trace"]]
    assert "python: _scan_csv" in steps
    assert any(step.startswith("sql: insert into raw.orders") for step in steps)
    assert {p: p.stat().st_mtime_ns for p in landing.rglob("*")} == before
    assert ingest._scan_csv is scan  # --trace put the traced functions back
    with duckdb.connect(str(tmp_path / "work" / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("select order_id from raw.orders").fetchall() == [("O1",)]
