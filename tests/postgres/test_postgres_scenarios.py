"""The daily run equals a full rebuild on PostgreSQL too, scenario by scenario (light form).

The scenarios of tests/test_incremental_scenarios.py (the next day, a late order, a
corrected drop, a reassignment, churn records, as_of a month back and three months forward)
on a private PostgreSQL cluster: the ingestion loads each step's files into a DuckDB file,
as the jobs do with `WH_DBT_TARGET=pg`; its raw schemas go to two PostgreSQL databases; one
takes the daily path (`plan_build` on the DuckDB file's record of builds, then `dbt build`,
incremental unless the plan says otherwise), the other is rebuilt with `--full-refresh`.
Every table dbt builds must then have the same profile in both databases: row count and
per-column order-free checksums (test_postgres.py's `table_profile`; two databases cannot
be joined for an `EXCEPT ALL`). dbt's data tests are left out, as on DuckDB.
Run with `WH_TEST_POSTGRES_SCENARIOS=1 make test-postgres` (WH_TEST_POSTGRES=1, see conftest.py);
left out of `make test-postgres` otherwise: about fifteen dbt builds on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess

import duckdb
import pytest
from test_postgres import (  # the module beside this one
    DBT_TIMEOUT_S,
    PG_SCHEMA,
    ROOT,
    differences,
    pg_connect,
    pg_dsn,
    postgres,  # noqa: F401 (the module's cluster fixture)
    table_profile,
)

from orchestration.assets.dbt import BuildFingerprint, plan_build, record_build
from orchestration.project import dbt_project
from orchestration.synthetic import generate
from orchestration.warehouse_copy import copy_raw
from tests.test_incremental_scenarios import (
    CUSTOMERS,
    SEED,
    YEARS,
    Firm,
    built_tables,
    ingest,
    scenario_steps,
)

FULL_DB = "wh_full"


@pytest.mark.skipif(
    os.environ.get("WH_TEST_POSTGRES_SCENARIOS") != "1",
    reason="about fifteen dbt builds on PostgreSQL: set WH_TEST_POSTGRES_SCENARIOS=1",
)
def test_each_scenario_equals_a_full_rebuild_on_postgres(postgres, tmp_path):  # noqa: F811
    pg = pg_connect(postgres)
    try:
        # psycopg2's `with connection` opens a transaction even in autocommit mode, and
        # CREATE DATABASE cannot run inside one
        pg.autocommit = True
        with pg.cursor() as cur:
            cur.execute(f"create database {FULL_DB}")
    finally:
        pg.close()
    envs = {"inc": dict(postgres), "full": {**postgres, "WH_PG_DB": FULL_DB}}

    def dbt_build(side: str, as_of: dt.date, full_refresh: bool) -> dict:
        work = tmp_path / side
        env = {
            **os.environ,
            **envs[side],
            "WH_DBT_TARGET": "pg",
            "DBT_PROFILES_DIR": str(ROOT),
            "DBT_TARGET_PATH": str(work / "target"),
            "DBT_LOG_PATH": str(work / "logs"),
        }
        from orchestration.definitions import dbt_executable

        args = ["build", "--quiet", "--vars", json.dumps({"as_of": as_of.isoformat()})]
        args += ["--exclude-resource-type", "test", "unit_test"]
        result = subprocess.run(
            [dbt_executable(), *args, *(["--full-refresh"] if full_refresh else [])],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=DBT_TIMEOUT_S,
        )
        assert result.returncode == 0, f"{side} as of {as_of}: {result.stdout[-3000:]}"
        return json.loads((work / "target" / "manifest.json").read_text())

    generated = tmp_path / "generated"
    generate(
        generated, tmp_path / "truth", customers=CUSTOMERS, years=YEARS, seed=SEED, progress=False
    )
    firm, landing, loaded = Firm(generated), tmp_path / "landing", tmp_path / "loaded.duckdb"
    steps, _ = scenario_steps(firm, landing)
    firm.initial(landing)
    plans, differing = {}, {}
    for name, as_of, change in [("initial", firm.first_day, None), *steps]:
        if change:
            change(as_of)
        ingest(loaded, landing)
        for side in envs:
            copy_raw(loaded, pg_dsn(envs[side]))
        build_vars = {"as_of": as_of.isoformat()}
        with duckdb.connect(str(loaded)) as con:
            plan = plan_build(con, json.loads(dbt_project.manifest_path.read_text()), build_vars)
        manifest = dbt_build("inc", as_of, plan.full_refresh)
        with duckdb.connect(str(loaded)) as con:
            record_build(
                con, BuildFingerprint.of(manifest, build_vars), plan.full_refresh, plan.reasons
            )
        plans[name] = plan.full_refresh
        dbt_build("full", as_of, True)
        found = []
        with pg_connect(envs["inc"]) as inc, pg_connect(envs["full"]) as full:
            for _, table in built_tables(manifest):
                profiles = []
                for pg in (inc, full):
                    with pg.cursor() as cur:

                        def execute(sql: str, cur=cur) -> list:
                            cur.execute(sql)
                            return cur.fetchall()

                        profiles.append(table_profile("postgres", execute, PG_SCHEMA, table))
                found += differences(table, *profiles)
        differing[name] = found
    assert differing == {name: [] for name in differing}
    # the first build and the one that moved as_of back were full rebuilds, the others not
    assert [name for name, full_refresh in plans.items() if full_refresh] == [
        "initial",
        "as_of one month back",
    ]
