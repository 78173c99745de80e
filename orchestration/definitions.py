"""Dagster definitions: ingestion → dbt → Python assets, run serially on one DuckDB file."""

import shutil
import sys
from pathlib import Path

from dagster import Definitions, define_asset_job, in_process_executor
from dagster_dbt import DbtCliResource
from dagster_duckdb import DuckDBResource

from .assets.clv import clv_assets
from .assets.dbt import warehouse_dbt_assets
from .assets.ingestion import RAW_ASSETS
from .assets.publish import build_published_warehouse
from .assets.value import customer_concentration
from .automation import build_daily_schedule, build_landing_sensor
from .project import dbt_project
from .settings import duckdb_path

# Every Python asset that writes the analytics schema: the publish waits for all of them.
ANALYTICS_ASSETS = [customer_concentration, clv_assets]
published_warehouse = build_published_warehouse(warehouse_dbt_assets, ANALYTICS_ASSETS)

# DuckDB allows one writer process per file: every step runs in this one process, in order.
full_refresh_job = define_asset_job(
    "full_refresh",
    selection="*",
    description="Load new landing files, build every dbt model and test, compute Python assets.",
)


def dbt_executable() -> str:
    """dbt from this interpreter's environment (the venv may not be on PATH), else PATH's."""
    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else (shutil.which("dbt") or "dbt")


def build_definitions(database: str | None = None) -> Definitions:
    """The definitions against a given warehouse file (tests pass a temporary one)."""
    database = database or str(duckdb_path())
    downstream = [
        *warehouse_dbt_assets.keys,
        *(key for assets_def in ANALYTICS_ASSETS for key in assets_def.keys),
        published_warehouse.key,
    ]
    return Definitions(
        assets=[*RAW_ASSETS, warehouse_dbt_assets, *ANALYTICS_ASSETS, published_warehouse],
        jobs=[full_refresh_job],
        schedules=[build_daily_schedule(full_refresh_job.name)],
        sensors=[build_landing_sensor(full_refresh_job.name, downstream)],
        executor=in_process_executor,
        resources={
            "dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=dbt_executable()),
            "duckdb": DuckDBResource(database=database),
        },
    )


defs = build_definitions()
