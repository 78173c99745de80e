"""Shared fixtures: one small generated firm built end to end, reused by every slow test."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from orchestration.contract import TABLES
from orchestration.settings import ROOT
from orchestration.synthetic import generate

CUSTOMERS = 300
YEARS = 2
SEED = 7


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    """Generate a small firm, materialise the whole graph twice (the `full_refresh` job, then
    the daily `incremental_refresh` on the same files), return the paths."""
    tmp = tmp_path_factory.mktemp("e2e")
    # named like the default warehouse: DuckDB names its catalog after the file, and the
    # semantic manifest (MetricFlow) carries the catalog name of `dbt parse`.
    landing, truth, database = tmp / "landing", tmp / "truth", tmp / "warehouse.duckdb"
    generate(landing, truth, customers=CUSTOMERS, years=YEARS, seed=SEED, progress=False)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WH_DUCKDB_PATH", str(database))
        mp.setenv("WH_LANDING_DIR", str(landing))
        from orchestration.definitions import build_definitions

        defs = build_definitions(str(database))
        first = defs.resolve_job_def("full_refresh").execute_in_process(raise_on_error=False)
        with duckdb.connect(str(database), read_only=True) as con:
            counts_after_first = {
                t.name: con.execute(f"select count(*) from raw.{t.name}").fetchone()[0]
                for t in TABLES
            }
        second = defs.resolve_job_def("incremental_refresh").execute_in_process(
            raise_on_error=False
        )
    return {
        "landing": landing,
        "database": str(database),
        "first": first,
        "second": second,
        "counts_after_first": counts_after_first,
    }


@pytest.fixture(scope="session")
def built_warehouse(built) -> str:
    """Path of the DuckDB warehouse the session's end-to-end build wrote."""
    return built["database"]


@pytest.fixture(scope="session")
def dbt_subprocess():
    """A function: run the project's dbt with `args` on a DuckDB file, its target and log
    folders under `work`, and return the finished process. A subprocess, because dbt-duckdb
    run in this process keeps the file open afterwards."""
    dbt = str(Path(sys.executable).with_name("dbt"))

    def run(
        args: list[str], database: Path, work: Path, timeout: int = 900
    ) -> subprocess.CompletedProcess:
        env = {
            **os.environ,
            "WH_DUCKDB_PATH": str(database),
            "DBT_PROFILES_DIR": str(ROOT),
            "DBT_TARGET_PATH": str(work / "target"),
            "DBT_LOG_PATH": str(work / "logs"),
        }
        env.setdefault("WH_PII_SALT", "test-salt")
        return subprocess.run(
            [dbt, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
        )

    return run


@pytest.fixture(scope="session")
def dbt_compiled(dbt_subprocess):
    """A function: the SQL that `dbt compile --inline sql` renders (the project's macros and
    vars; `extra` arguments such as `--vars` added) on a DuckDB file, its target and log
    folders under `work`."""

    def compiled(sql: str, database: Path, work: Path, extra: tuple[str, ...] = ()) -> str:
        result = dbt_subprocess(
            ["--quiet", "compile", "--inline", sql, "--output", "json", *extra], database, work
        )
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
        return json.loads(result.stdout[result.stdout.index("{") :])["compiled"]

    return compiled
