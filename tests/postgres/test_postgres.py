"""The same dbt models on PostgreSQL: load with DuckDB, build on PostgreSQL, compare the marts.

The session's small firm (`built`, tests/conftest.py: 300 customers after the full job on
DuckDB, run twice) is copied raw into a private PostgreSQL cluster (scripts/pg_cluster.sh,
orchestration/warehouse_copy.py), `dbt build` runs there twice too with the same as_of (the
second run takes the incremental path), and every mart of models/marts/** and every seed is
compared with DuckDB's: the row count, and per column the non-null count plus a checksum that
does not depend on row order (numbers: sum, min and max of the values rounded to 6 decimals;
text: distinct count and the sum of the first 32 bits of each value's MD5; dates: min, max,
distinct count and the sum of day numbers; booleans: the count of true).
Run with `make test-postgres` (WH_TEST_POSTGRES=1, see conftest.py).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import duckdb
import pytest

from orchestration.settings import Settings
from orchestration.warehouse_copy import RAW_SCHEMAS, copy_raw, pg_type, raw_tables

ROOT = Path(__file__).resolve().parents[2]
CLUSTER_SCRIPT = ROOT / "scripts" / "pg_cluster.sh"
MARTS = sorted(path.stem for path in (ROOT / "models" / "marts").rglob("*.sql"))
SEEDS = sorted(path.stem for path in (ROOT / "seeds").glob("*.csv"))
FEATURES_PREFIX = "features_"  # models/marts/features: built and compared, never published
DUCKDB_SCHEMA, PG_SCHEMA = "main", "public"  # the `dev` and `pg` targets' schemas
# Sums of values rounded to 6 decimals: two engines may round a value that sits on a
# half-unit differently after float arithmetic in another order, so allow a few units.
ABS_TOLERANCE, REL_TOLERANCE = 1e-5, 1e-9
DBT_TIMEOUT_S = 3600


# -- helpers --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def pg_connect(env: dict[str, str]):
    import psycopg2

    return psycopg2.connect(
        host=env["WH_PG_HOST"],
        port=env["WH_PG_PORT"],
        user=env["WH_PG_USER"],
        password=env["WH_PG_PASSWORD"],
        dbname=env["WH_PG_DB"],
    )


def pg_dsn(env: dict[str, str]) -> str:
    from psycopg2.extensions import make_dsn

    return make_dsn(
        host=env["WH_PG_HOST"],
        port=env["WH_PG_PORT"],
        user=env["WH_PG_USER"],
        password=env["WH_PG_PASSWORD"],
        dbname=env["WH_PG_DB"],
    )


def category(data_type: str) -> str:
    """number, text, date, timestamp or boolean, from either engine's type name."""
    name = data_type.lower()
    if name == "boolean":
        return "boolean"
    if name == "date":
        return "date"
    if name.startswith("timestamp"):
        return "timestamp"
    if name.startswith(("varchar", "text", "character")):
        return "text"
    numbers = ("bigint", "integer", "smallint", "tinyint", "hugeint", "double", "real", "float")
    if name.startswith((*numbers, "decimal", "numeric")):
        return "number"
    raise ValueError(f"no checksum for type {data_type!r}")


def checksum_sql(engine: str, column: str, kind: str) -> dict[str, str]:
    """The order-free aggregates of one column, as SQL for `engine` (duckdb or postgres)."""
    col = '"' + column.replace('"', '""') + '"'
    stats = {"non_null": f"count({col})"}
    if kind == "number":
        rounded = (
            f"round(cast({col} as double), 6)"
            if engine == "duckdb"
            else f"round(cast({col} as numeric), 6)"
        )
        stats |= {"sum": f"sum({rounded})", "min": f"min({rounded})", "max": f"max({rounded})"}
    elif kind == "text":
        md5_32 = (
            f"cast(('0x' || left(md5({col}), 8)) as bigint)"
            if engine == "duckdb"
            else f"cast(cast(('x' || left(md5({col}), 8)) as bit(32)) as bigint)"
        )
        stats |= {"distinct": f"count(distinct {col})", "md5_sum": f"sum({md5_32})"}
    elif kind == "date":
        stats |= {
            "min": f"min({col})",
            "max": f"max({col})",
            "distinct": f"count(distinct {col})",
            "day_sum": f"sum({col} - date '1970-01-01')",
        }
    elif kind == "timestamp":
        stats |= {
            "min": f"min({col})",
            "max": f"max({col})",
            "distinct": f"count(distinct {col})",
        }
    else:
        stats |= {"true": f"sum(case when {col} then 1 else 0 end)"}
    return stats


def table_profile(engine: str, execute, schema: str, table: str) -> dict:
    """{'rows': n, 'columns': {column: (category, {stat: value})}} of one table; `execute`
    runs a query and returns its rows."""
    columns = execute(
        "select column_name, data_type from information_schema.columns "
        f"where table_schema = '{schema}' and table_name = '{table}' order by ordinal_position"
    )
    if not columns:
        return {"rows": None, "columns": {}}
    kinds = {name: category(data_type) for name, data_type in columns}
    selects, keys = ["count(*)"], [("rows", "rows")]
    for name, kind in kinds.items():
        for stat, sql in checksum_sql(engine, name, kind).items():
            selects.append(sql)
            keys.append((name, stat))
    [values] = execute(f'select {", ".join(selects)} from {schema}."{table}"')
    profile: dict = {"rows": values[0], "columns": {n: (k, {}) for n, k in kinds.items()}}
    for (name, stat), value in zip(keys[1:], values[1:], strict=True):
        profile["columns"][name][1][stat] = value
    return profile


def same(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, int | float) or hasattr(a, "as_integer_ratio"):
        a, b = float(a), float(b)
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return math.isclose(a, b, rel_tol=REL_TOLERANCE, abs_tol=ABS_TOLERANCE)
    return a == b


def differences(name: str, duck: dict, pg: dict) -> list[str]:
    """What differs between the two profiles of one table, one line each."""
    if duck["rows"] is None or pg["rows"] is None:
        where = "DuckDB" if duck["rows"] is None else "PostgreSQL"
        return [f"{name}: no such table in {where}"]
    found = []
    if duck["rows"] != pg["rows"]:
        found.append(f"{name}: {duck['rows']} rows in DuckDB, {pg['rows']} in PostgreSQL")
    for column in sorted(set(duck["columns"]) | set(pg["columns"])):
        if column not in duck["columns"] or column not in pg["columns"]:
            where = "DuckDB" if column not in duck["columns"] else "PostgreSQL"
            found.append(f"{name}.{column}: missing in {where}")
            continue
        (duck_kind, duck_stats), (pg_kind, pg_stats) = (
            duck["columns"][column],
            pg["columns"][column],
        )
        if duck_kind != pg_kind:
            found.append(f"{name}.{column}: {duck_kind} in DuckDB, {pg_kind} in PostgreSQL")
            continue
        for stat, value in duck_stats.items():
            if not same(value, pg_stats[stat]):
                found.append(
                    f"{name}.{column}: {stat} {value!r} in DuckDB, {pg_stats[stat]!r} in PostgreSQL"
                )
    return found


# -- fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def postgres():
    """A private cluster on 127.0.0.1 (scripts/pg_cluster.sh); yields the WH_PG_* settings."""
    folder = Path(tempfile.mkdtemp(prefix="wh-pg-"))
    try:
        started = subprocess.run(
            ["bash", str(CLUSTER_SCRIPT), "start", str(folder), str(free_port())],
            capture_output=True,
            text=True,
        )
        if started.returncode != 0:
            pytest.fail(f"could not start PostgreSQL:\n{started.stdout}\n{started.stderr}")
        env = {}
        for line in started.stdout.splitlines():
            key, _, value = line.removeprefix("export ").partition("=")
            env[key] = value
        yield env
    finally:
        subprocess.run(["bash", str(CLUSTER_SCRIPT), "stop", str(folder)], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


def duckdb_as_of(built) -> str:
    """The reporting date of the session's DuckDB build (`customer_facts.as_of_on`)."""
    from orchestration.assets.dbt import built_as_of

    with duckdb.connect(built["database"], read_only=True) as con:
        return built_as_of(con).isoformat()


@pytest.fixture(scope="module")
def pg_build(built, postgres, tmp_path_factory):
    """Raw tables copied from the session's DuckDB warehouse, then `dbt build` on PostgreSQL
    with the as_of of the DuckDB build (read back from its customer_facts, so a session that
    runs past midnight between the two builds still compares the same day)."""
    copied = copy_raw(built["database"], pg_dsn(postgres))
    work = tmp_path_factory.mktemp("pg_dbt")
    dbt_vars = {**Settings.from_env().dbt_vars, "as_of": duckdb_as_of(built)}
    env = {
        **os.environ,
        **postgres,
        "WH_DBT_TARGET": "pg",
        "DBT_PROFILES_DIR": str(ROOT),
        "DBT_TARGET_PATH": str(work / "target"),
        "DBT_LOG_PATH": str(work / "logs"),
    }
    from orchestration.definitions import dbt_executable

    def build() -> subprocess.CompletedProcess:
        return subprocess.run(
            [dbt_executable(), "build", "--vars", json.dumps(dbt_vars)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=DBT_TIMEOUT_S,
        )

    # Twice, as the `built` fixture materialises the graph twice on DuckDB: the second run
    # takes the incremental path of the incremental marts.
    first = build()
    second = build() if first.returncode == 0 else None
    return {
        "copied": copied,
        "runs": {
            "first": first,
            "second (incremental)": second,
        },
        "manifest": work / "target" / "manifest.json",
    }


@pytest.fixture(scope="module")
def profiles(built, postgres, pg_build):
    """A function: table name -> (DuckDB profile, PostgreSQL profile), one connection each."""
    duck = duckdb.connect(built["database"], read_only=True)
    pg = pg_connect(postgres)
    # no transaction left open between queries: its locks would block a later dbt build
    pg.autocommit = True
    cursor = pg.cursor()

    def pg_execute(sql: str):
        cursor.execute(sql)
        return cursor.fetchall()

    def both(name: str) -> tuple[dict, dict]:
        return (
            table_profile("duckdb", lambda sql: duck.execute(sql).fetchall(), DUCKDB_SCHEMA, name),
            table_profile("postgres", pg_execute, PG_SCHEMA, name),
        )

    yield both
    duck.close()
    pg.close()


# -- tests ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("duckdb_type", "expected"),
    [
        ("VARCHAR", "text"),
        ("BIGINT", "bigint"),
        ("DECIMAL(18,2)", "numeric(18, 2)"),
        ("DATE", "date"),
        ("TIMESTAMP", "timestamp"),
        ("BOOLEAN", "boolean"),
        ("DOUBLE", "double precision"),
    ],
)
def test_pg_type_maps_the_raw_types(duckdb_type, expected):
    assert pg_type(duckdb_type) == expected


def test_pg_type_refuses_an_unmapped_type():
    with pytest.raises(ValueError, match="INTEGER\\[\\]"):
        pg_type("INTEGER[]")


def test_copy_keeps_nulls_empty_strings_quotes_and_exact_decimals(postgres, tmp_path):
    """NULL and '' must stay apart through the CSV, quotes and line breaks survive, and a
    decimal arrives with its digits; into a schema of its own, beside the raw ones."""
    source = tmp_path / "tiny.duckdb"
    with duckdb.connect(str(source)) as con:
        con.execute("create schema copy_check")
        con.execute(
            "create table copy_check.t (id bigint, name varchar, amount decimal(18, 2), "
            "day date, seen_at timestamp, flag boolean)"
        )
        con.execute(
            """insert into copy_check.t values
            (1, '', 12.34, date '2024-02-29', timestamp '2024-02-29 23:59:59.5', true),
            (2, null, null, null, null, null),
            (3, 'say "hi",' || chr(10) || 'bye', -0.01, date '1999-12-31',
             timestamp '1999-12-31 00:00:00', false)"""
        )
    assert copy_raw(source, pg_dsn(postgres), schemas=("copy_check",)) == {"copy_check.t": 3}
    with pg_connect(postgres) as pg, pg.cursor() as cur:
        cur.execute(
            "select id, name, cast(amount as text), cast(day as text), cast(seen_at as text), flag "
            "from copy_check.t order by id"
        )
        rows = cur.fetchall()
        cur.execute("drop schema copy_check cascade")
    assert rows == [
        (1, "", "12.34", "2024-02-29", "2024-02-29 23:59:59.5", True),
        (2, None, None, None, None, None),
        (3, 'say "hi",\nbye', "-0.01", "1999-12-31", "1999-12-31 00:00:00", False),
    ]


def test_copy_raw_copies_every_raw_table(built, postgres, pg_build):
    with duckdb.connect(built["database"], read_only=True) as con:
        tables = raw_tables(con)
        expected = {
            f"{schema}.{table}": con.execute(f'select count(*) from {schema}."{table}"').fetchone()[
                0
            ]
            for schema, table in tables
        }
    assert {schema for schema, _ in tables} == set(RAW_SCHEMAS)
    assert pg_build["copied"] == expected
    with pg_connect(postgres) as pg, pg.cursor() as cur:
        for name, rows in expected.items():
            schema, table = name.split(".")
            cur.execute(f'select count(*) from {schema}."{table}"')
            assert cur.fetchone()[0] == rows, name


@pytest.mark.parametrize("run", ["first", "second (incremental)"])
def test_dbt_build_passes_on_postgres(pg_build, run):
    """Every model, seed, data test and unit test of the project passes on PostgreSQL, on an
    empty database and again on the built one."""
    result = pg_build["runs"][run]
    if result is None:
        pytest.fail("not run: the first dbt build failed")
    if result.returncode != 0:
        log = result.stdout + result.stderr
        failing = [
            line
            for line in log.splitlines()
            if " ERROR " in line or " FAIL " in line or "Error in" in line or "Failure in" in line
        ]
        pytest.fail(
            f"dbt build ({run}) failed on PostgreSQL:\n"
            + "\n".join(failing[:40])
            + "\n--- end of the log ---\n"
            + log[-4000:]
        )


def test_the_compared_marts_are_the_project_marts(pg_build):
    """The parametrised list below (files under models/marts, seeds/*.csv) is what dbt built."""
    manifest = json.loads(pg_build["manifest"].read_text())
    nodes = manifest["nodes"].values()
    marts = {
        n["alias"]
        for n in nodes
        if n["resource_type"] == "model" and n["original_file_path"].startswith("models/marts/")
    }
    seeds = {n["alias"] for n in nodes if n["resource_type"] == "seed"}
    assert sorted(marts) == MARTS
    assert sorted(seeds) == SEEDS


@pytest.mark.parametrize("name", MARTS + SEEDS)
def test_mart_equals_duckdb(name, profiles):
    duck, pg = profiles(name)
    found = differences(name, duck, pg)
    assert not found, "\n".join(found)
    assert duck["rows"] > 0 or name in SEEDS, f"{name} is empty on both engines: nothing compared"


# -- the whole pipeline with PostgreSQL as the warehouse --------------------------------------


def test_copy_to_duckdb_keeps_types_nulls_and_empty_strings(postgres, tmp_path):
    """PostgreSQL -> DuckDB, the way the models come back for the Python assets."""
    from orchestration.warehouse_copy import copy_to_duckdb

    with pg_connect(postgres) as pg, pg.cursor() as cur:
        cur.execute("create schema pull_check")
        cur.execute(
            "create table pull_check.t (id bigint, name text, amount numeric(18, 2), "
            "total numeric, share double precision, day date, flag boolean)"
        )
        cur.execute(
            "insert into pull_check.t values (1, '', 12.34, 1.5, 0.25, '2024-02-29', true), "
            "(2, null, null, null, null, null, null), "
            "(3, 'say \"hi\",' || chr(10) || 'bye', -0.01, 10, 1e-9, '1999-12-31', false)"
        )
    target = tmp_path / "pulled.duckdb"
    try:
        copied = copy_to_duckdb(pg_dsn(postgres), target, [("pull_check", "t", "main")])
    finally:
        with pg_connect(postgres) as pg, pg.cursor() as cur:
            cur.execute("drop schema pull_check cascade")
    assert copied == {"main.t": 3}
    with duckdb.connect(str(target), read_only=True) as con:
        types = con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_name = 't' order by ordinal_position"
        ).fetchall()
        rows = con.execute("select * from main.t order by id").fetchall()
    assert [t for _, t in types] == [
        "BIGINT", "VARCHAR", "DECIMAL(18,2)", "DOUBLE", "DOUBLE", "DATE", "BOOLEAN",
    ]  # fmt: skip
    assert rows[1] == (2, None, None, None, None, None, None)
    assert rows[0][1] == "" and rows[2][1] == 'say "hi",\nbye'
    assert str(rows[0][2]) == "12.34" and rows[2][4] == pytest.approx(1e-9)


def test_the_whole_pipeline_runs_on_postgres(built, postgres, tmp_path, monkeypatch):
    """`WH_DBT_TARGET=pg`, one setting: the Dagster `full_refresh` job loads the landing
    files (validated in the local DuckDB file), copies them to PostgreSQL, builds every dbt
    model there, brings the models back for the Python assets, writes their tables to
    PostgreSQL's `analytics` schema too, publishes the BI copy and writes the report. Its
    marts and analytics tables hold the rows of the DuckDB-only build of the same files."""
    # The module's database, last in the module: the models are rebuilt from the same files
    # and as_of, after the comparisons above.
    env = {**postgres, "WH_DBT_TARGET": "pg"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    landing = tmp_path / "landing"
    shutil.copytree(built["landing"], landing)
    database = tmp_path / "warehouse" / "warehouse.duckdb"
    database.parent.mkdir()
    monkeypatch.setenv("WH_LANDING_DIR", str(landing))
    monkeypatch.setenv("WH_DUCKDB_PATH", str(database))
    monkeypatch.setenv("WH_AS_OF", duckdb_as_of(built))
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "dbt_target"))
    from orchestration.definitions import build_definitions

    result = (
        build_definitions(str(database))
        .resolve_job_def("full_refresh")
        .execute_in_process(raise_on_error=False)
    )
    failures = [
        f"{event.step_key}: {event.step_failure_data.error.message.strip()[:1500]}"
        for event in result.all_events
        if event.is_step_failure
    ]
    assert result.success, failures
    # dbt built on PostgreSQL: its one run was on the pg target
    run_results = list((tmp_path / "dbt_target").glob("*/run_results.json"))
    assert [json.loads(p.read_text())["args"]["target"] for p in run_results] == ["pg"]
    with duckdb.connect(built["database"], read_only=True) as duck:
        analytics = [
            name
            for (name,) in duck.execute(
                "select table_name from information_schema.tables "
                "where table_schema = 'analytics' order by 1"
            ).fetchall()
        ]
        expected = {
            name: duck.execute(f'select count(*) from {DUCKDB_SCHEMA}."{name}"').fetchone()[0]
            for name in MARTS
        } | {
            f"analytics.{name}": duck.execute(
                f'select count(*) from analytics."{name}"'
            ).fetchone()[0]
            for name in analytics
        }
    assert len(analytics) >= 5
    with pg_connect(postgres) as pg, pg.cursor() as cur:
        on_postgres = {}
        for name in expected:
            schema, _, table = name.rpartition(".")
            cur.execute(f'select count(*) from {schema or PG_SCHEMA}."{table}"')
            on_postgres[name] = cur.fetchone()[0]
    assert on_postgres == expected
    published = database.parent / "published" / "bi.duckdb"
    with duckdb.connect(str(published), read_only=True) as bi:
        for name, rows in expected.items():
            if name.startswith(FEATURES_PREFIX):
                continue  # the Python assets' inputs stay in the working warehouse
            schema, _, table = name.rpartition(".")
            relation = f'{schema or DUCKDB_SCHEMA}."{table}"'
            assert bi.execute(f"select count(*) from {relation}").fetchone()[0] == rows, name
    assert list((database.parent / "reports").glob("loyalty_report_*.html"))
