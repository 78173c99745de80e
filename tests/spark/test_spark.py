"""The same dbt models on Spark: load with DuckDB, build on Spark, compare the marts.

The session's small firm (`built`, tests/conftest.py: 300 customers after the full job on
DuckDB) is the source. Its raw, raw_quarantine and raw_meta tables go to Parquet (DuckDB
`COPY`) and into Spark tables of the same names (`dbt run-operation load_raw_from_parquet`,
macros/spark_compat.sql). Then `dbt build --target spark` runs every seed, model, data test
and unit test on Spark (dbt-spark, session method, local[2] on 127.0.0.1), and the seeds and
models are rebuilt on a copy of the DuckDB warehouse with the same as_of. Every mart of
models/marts/** and every seed must hold the same rows on both engines: the row count, and per
column the non-null count plus a checksum that does not depend on row order (numbers: sum, min
and max; text: distinct count and the sum of the first 32 bits of each value's MD5; dates and
timestamps: min, max and distinct count; booleans: the count of true).

dbt runs on Spark inside this process (dbtRunner): the session method keeps one SparkSession
per process, so the load, the build and the reads share one JVM (about 15 s to start), and a
second process could not open the embedded (Derby) metastore anyway. On DuckDB dbt runs as a
subprocess, so that this process can open the DuckDB file itself afterwards.
Run with `make test-spark` (WH_TEST_SPARK=1, see conftest.py).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

ROOT = Path(__file__).resolve().parents[2]
DBT = Path(sys.executable).with_name("dbt")
MARTS = sorted(path.stem for path in (ROOT / "models" / "marts").rglob("*.sql"))
SEEDS = sorted(path.stem for path in (ROOT / "seeds").glob("*.csv"))
RAW_SCHEMAS = ("raw", "raw_meta", "raw_quarantine")
DUCKDB_SCHEMA, SPARK_SCHEMA = "main", "analytics"  # the `dev` and `spark` targets' schemas
# Sums of doubles in another order, and Spark's decimal division (to 12 places, DuckDB
# divides as doubles), differ in the last digits only.
ABS_TOLERANCE, REL_TOLERANCE = 1e-6, 1e-9

# dbt.datediff counts the boundaries crossed, on every engine. Hand-computed:
# 23:59:30 -> 00:00:10 next day is 40 s and crosses one minute, hour, day and month boundary;
# 10:00:00 -> 10:00:30 crosses no minute; 10:01:00 -> 10:00:59 crosses one minute backwards;
# 2024-12-31 -> 2025-01-01 crosses a quarter and a year; 2025-01-01 -> 2025-04-01 is three
# months, and `datediff / 3` must divide all of it (dbt-spark 1.11 divided only a part).
DATEDIFF_CASES = {
    "seconds_over_midnight": ("second", "'2024-01-31 23:59:30'", "'2024-02-01 00:00:10'", 40),
    "minutes_over_midnight": ("minute", "'2024-01-31 23:59:30'", "'2024-02-01 00:00:10'", 1),
    "hours_over_midnight": ("hour", "'2024-01-31 23:59:30'", "'2024-02-01 00:00:10'", 1),
    "days_over_midnight": ("day", "'2024-01-31 23:59:30'", "'2024-02-01 00:00:10'", 1),
    "months_over_midnight": ("month", "'2024-01-31 23:59:30'", "'2024-02-01 00:00:10'", 1),
    "minutes_within_a_minute": ("minute", "'2024-03-01 10:00:00'", "'2024-03-01 10:00:30'", 0),
    "minutes_backwards": ("minute", "'2024-03-01 10:01:00'", "'2024-03-01 10:00:59'", -1),
    "quarters_over_new_year": ("quarter", "'2024-12-31 00:00:00'", "'2025-01-01 00:00:00'", 1),
    "years_over_new_year": ("year", "'2024-12-31 00:00:00'", "'2025-01-01 00:00:00'", 1),
}
DATEDIFF_SQL = (
    "select "
    + ", ".join(
        f'{{{{ dbt.datediff("cast({first} as timestamp)", "cast({second} as timestamp)", '
        f"'{part}') }}}} as {name}"
        for name, (part, first, second, _) in DATEDIFF_CASES.items()
    )
    + ", {{ dbt.datediff(\"cast('2025-01-01' as date)\", \"cast('2025-04-01' as date)\", "
    "'month') }} / 3 as quarter_of_months"
)
DATEDIFF_EXPECTED = {name: case[3] for name, case in DATEDIFF_CASES.items()} | {
    "quarter_of_months": 1
}


# -- helpers --------------------------------------------------------------------------------


def export_raw(database: Path, folder: Path) -> dict[str, int]:
    """Every table of the raw schemas as <folder>/<schema>.<table>.parquet; their row counts."""
    folder.mkdir(parents=True, exist_ok=True)
    counts = {}
    with duckdb.connect(str(database), read_only=True) as con:
        tables = con.execute(
            "select schema_name, table_name from duckdb_tables() "
            f"where schema_name in {RAW_SCHEMAS} order by 1, 2"
        ).fetchall()
        for schema, table in tables:
            name = f"{schema}.{table}"
            con.execute(f"copy {name} to '{folder / name}.parquet' (format parquet)")
            counts[name] = con.execute(f"select count(*) from {name}").fetchone()[0]
    return counts


def kind(values: list) -> str:
    """number, text, date, timestamp, boolean or empty, from the Python values of a column."""
    if not values:
        return "empty"
    value = values[0]
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float | Decimal):
        return "number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, datetime):
        return "timestamp"
    if isinstance(value, date):
        return "date"
    raise TypeError(f"no checksum for {type(value).__name__} values")


def table_profile(columns: list[str], rows: list[tuple]) -> dict:
    """{'rows': n, 'columns': {column: (kind, {stat: value})}}: order-free checksums."""
    profile: dict = {"rows": len(rows), "columns": {}}
    for position, column in enumerate(columns):
        values = [row[position] for row in rows if row[position] is not None]
        column_kind = kind(values)
        stats: dict = {"non_null": len(values)}
        if column_kind == "number":
            numbers = [float(value) for value in values]
            stats |= {"sum": math.fsum(numbers), "min": min(numbers), "max": max(numbers)}
        elif column_kind == "text":
            prefixes = (int(hashlib.md5(value.encode()).hexdigest()[:8], 16) for value in values)
            stats |= {"distinct": len(set(values)), "md5_sum": sum(prefixes)}
        elif column_kind in ("date", "timestamp"):
            stats |= {
                "min": min(values).isoformat(),
                "max": max(values).isoformat(),
                "distinct": len(set(values)),
            }
        elif column_kind == "boolean":
            stats |= {"true": sum(values)}
        profile["columns"][column.lower()] = (column_kind, stats)
    return profile


def same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return math.isclose(a, b, rel_tol=REL_TOLERANCE, abs_tol=ABS_TOLERANCE)
    return a == b


def differences(name: str, duck: dict | None, spark: dict | None) -> list[str]:
    """What differs between the two profiles of one table, one line each."""
    if duck is None or spark is None:
        return [f"{name}: no such table in {'DuckDB' if duck is None else 'Spark'}"]
    found = []
    if duck["rows"] != spark["rows"]:
        found.append(f"{name}: {duck['rows']} rows in DuckDB, {spark['rows']} in Spark")
    for column in sorted(set(duck["columns"]) | set(spark["columns"])):
        if column not in duck["columns"] or column not in spark["columns"]:
            where = "DuckDB" if column not in duck["columns"] else "Spark"
            found.append(f"{name}.{column}: missing in {where}")
            continue
        (duck_kind, duck_stats), (spark_kind, spark_stats) = (
            duck["columns"][column],
            spark["columns"][column],
        )
        if duck_kind != spark_kind and "empty" not in (duck_kind, spark_kind):
            found.append(f"{name}.{column}: {duck_kind} in DuckDB, {spark_kind} in Spark")
            continue
        for stat, value in duck_stats.items():
            other = spark_stats.get(stat)
            if not same(value, other):
                found.append(f"{name}.{column}: {stat} {value!r} in DuckDB, {other!r} in Spark")
    return found


def shown_row(result) -> dict:
    """The single row an in-process `dbt show` returned, as {column: int}."""
    table = result.result.results[0].agate_table
    return {name: int(value) for name, value in zip(table.column_names, table.rows[0], strict=True)}


# -- fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def engines(built, tmp_path_factory):
    """Build on both engines, read every mart and seed back; yields what the tests compare."""
    from dbt.cli.main import dbtRunner
    from pyspark.sql import SparkSession

    tmp = tmp_path_factory.mktemp("spark")
    database = tmp / "warehouse.duckdb"  # the catalog name of the default warehouse
    shutil.copyfile(built["database"], database)
    raw_counts = export_raw(database, tmp / "parquet")
    dbt_vars = json.dumps({"as_of": date.today().isoformat()})
    runner = dbtRunner()

    def options(target: str) -> list[str]:
        return [
            *("--project-dir", str(ROOT), "--profiles-dir", str(ROOT), "--target", target),
            *("--target-path", str(tmp / f"target_{target}")),
            *("--log-path", str(tmp / f"logs_{target}")),
        ]

    def duck_dbt(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(DBT), *args, *options("dev")], capture_output=True, text=True, check=False
        )

    def spark_dbt(*args: str):
        return runner.invoke([*args, *options("spark")])

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WH_DUCKDB_PATH", str(database))
        mp.setenv("WH_SPARK_DIR", str(tmp / "spark"))  # metastore and tables of this run
        mp.setenv("SPARK_LOCAL_IP", "127.0.0.1")  # else Spark binds to the first interface
        mp.setenv("WH_PII_SALT", os.environ.get("WH_PII_SALT") or "spark-test-salt")
        duck_build = duck_dbt(
            "build", "--full-refresh", "--resource-type", "seed", "--resource-type", "model",
            "--vars", dbt_vars,
        )  # fmt: skip
        duck_datediff = duck_dbt("show", "--inline", DATEDIFF_SQL, "--output", "json", "--quiet")
        load = spark_dbt(
            "run-operation", "load_raw_from_parquet",
            "--args", json.dumps({"path": str(tmp / "parquet"), "tables": sorted(raw_counts)}),
        )  # fmt: skip
        spark_build = spark_dbt("build", "--threads", "2", "--vars", dbt_vars)
        target = tmp / "target_spark"  # read before `dbt show` rewrites run_results.json
        spark_results = json.loads((target / "run_results.json").read_text())["results"]
        spark_manifest = json.loads((target / "manifest.json").read_text())
        spark_datediff = spark_dbt("show", "--inline", DATEDIFF_SQL)

        spark = SparkSession.builder.getOrCreate()  # the session dbt started
        catalog = {
            f"{row.namespace}.{row.tableName}"
            for schema in (*RAW_SCHEMAS, SPARK_SCHEMA)
            for row in spark.sql(f"show tables in {schema}").collect()
            if not row.isTemporary
        }

        def spark_profile(table: str) -> dict | None:
            if f"{SPARK_SCHEMA}.{table}" not in catalog:
                return None
            frame = spark.table(f"{SPARK_SCHEMA}.{table}")
            return table_profile(frame.columns, [tuple(row) for row in frame.collect()])

        def duck_profile(table: str) -> dict | None:
            with duckdb.connect(str(database), read_only=True) as con:
                try:
                    cursor = con.execute(f'select * from {DUCKDB_SCHEMA}."{table}"')
                except duckdb.CatalogException:
                    return None
                rows = cursor.fetchall()
                return table_profile([c[0] for c in cursor.description], rows)

        # what a Python asset reads: a per-customer summary, as pandas, from either engine
        clv_inputs = "select * from {}.customer_clv_inputs order by customer_id"
        with duckdb.connect(str(database), read_only=True) as con:
            duck_clv_inputs = con.execute(clv_inputs.format(DUCKDB_SCHEMA)).df()
        spark_clv_inputs = spark.sql(clv_inputs.format(SPARK_SCHEMA)).toPandas()

        tables = MARTS + SEEDS
        yield {
            "clv_inputs": {"DuckDB": duck_clv_inputs, "Spark": spark_clv_inputs},
            "raw_counts": raw_counts,
            "spark_raw_counts": {
                name: spark.table(name).count() for name in raw_counts if name in catalog
            },
            "duck_build": duck_build,
            "load": load,
            "spark_build": spark_build,
            "spark_results": spark_results,
            "spark_manifest": spark_manifest,
            "datediff": {
                "DuckDB": json.loads(duck_datediff.stdout)["show"][0]
                if duck_datediff.returncode == 0
                else duck_datediff.stdout + duck_datediff.stderr,
                "Spark": shown_row(spark_datediff)
                if spark_datediff.success
                else str(spark_datediff.exception),
            },
            "duck": {table: duck_profile(table) for table in tables},
            "spark": {table: spark_profile(table) for table in tables},
        }
        spark.stop()


# -- tests ----------------------------------------------------------------------------------


def test_raw_tables_arrive_whole(engines):
    assert engines["load"].success, engines["load"].exception
    assert len(engines["raw_counts"]) > 40  # 21 raw tables, their quarantines and the ledger
    assert engines["spark_raw_counts"] == engines["raw_counts"]


def test_every_node_builds_and_passes_on_spark(engines):
    """`dbt build` on Spark: every seed and model builds, every data and unit test passes."""
    duck_build = engines["duck_build"]
    assert duck_build.returncode == 0, duck_build.stdout[-3000:] + duck_build.stderr
    results = engines["spark_results"]
    failed = [f"{r['unique_id']}: {r['status']} {r['message']}" for r in results
              if r["status"] not in ("success", "pass")]  # fmt: skip
    assert not failed, "\n".join(failed)
    models = {
        node_id
        for node_id, node in engines["spark_manifest"]["nodes"].items()
        if node["resource_type"] == "model" and node["config"]["enabled"]
    }
    built_models = {r["unique_id"] for r in results if r["unique_id"].startswith("model.")}
    assert built_models == models
    assert {f"model.loyalty_warehouse.{mart}" for mart in MARTS} <= models
    assert engines["spark_build"].success


@pytest.mark.parametrize("engine", ["DuckDB", "Spark"])
def test_datediff_counts_boundaries_as_on_duckdb(engines, engine):
    """macros/spark_compat.sql's spark__datediff against hand-computed boundary counts."""
    assert engines["datediff"][engine] == DATEDIFF_EXPECTED


@pytest.mark.parametrize("mart", MARTS)
def test_mart_matches_duckdb(engines, mart):
    found = differences(mart, engines["duck"][mart], engines["spark"][mart])
    assert not found, "\n".join(found)
    assert engines["duck"][mart]["rows"] > 0  # an empty mart would compare equal trivially


@pytest.mark.parametrize("seed", SEEDS)
def test_seed_matches_duckdb(engines, seed):
    """Seeds go through macros/spark_compat.sql's spark__load_csv_rows: an apostrophe
    (index_expert_weights) and empty cells (lifecycle_rules) must arrive as on DuckDB."""
    found = differences(seed, engines["duck"][seed], engines["spark"][seed])
    assert not found, "\n".join(found)


def test_clv_model_fits_the_same_from_spark(engines):
    """The Python assets read per-customer summaries into pandas; read from Spark
    (`spark.sql(...).toPandas()`, docs/engines.md), BG/NBD fits the same parameters."""
    from orchestration.clv import bgnbd

    fits = {}
    for engine, frame in engines["clv_inputs"].items():
        assert len(frame) > 100, engine  # one row per customer with a purchase
        fits[engine] = bgnbd.fit(
            frame["frequency_x"].astype(float),
            frame["recency_t_x"].astype(float),
            frame["age_t"].astype(float),
        ).params
    assert fits["Spark"] == pytest.approx(fits["DuckDB"], rel=1e-6)
