"""Dagster definitions: ingestion → dbt → Python assets, run serially on one DuckDB file.

The settings are resolved once per load of the definitions (`Settings.from_env()` in
orchestration/project.py, `SETTINGS`, which `defs` is built with), and reach every asset as
the `settings` resource; the dbt and DuckDB resources, the
schedules and the sensors are built from the same object."""

import shutil
import sys
from pathlib import Path

from dagster import AssetSelection, Definitions, define_asset_job, in_process_executor
from dagster_dbt import DbtCliResource, get_asset_key_for_model
from dagster_duckdb import DuckDBResource

from .assets.actions import action_assets
from .assets.churn import churn_assets
from .assets.clv import clv_assets, customer_clv_is_sane, customer_equity_is_plausible
from .assets.dbt import FULL_REFRESH_TAG, warehouse_dbt_assets
from .assets.indices import INDEX_ASSETS
from .assets.ingestion import RAW_ASSETS
from .assets.publish import build_published_warehouse
from .assets.renewal import renewal_book_asset
from .assets.report import build_report_asset
from .assets.value import customer_concentration
from .automation import (
    build_daily_schedule,
    build_landing_sensor,
    build_mart_freshness,
    build_weekly_actions_schedule,
)
from .fitcache import REFIT_TAG
from .project import SETTINGS, dbt_project
from .settings import Settings, export_environment

# Every Python asset that writes the analytics schema: the publish waits for all of them.
ANALYTICS_ASSETS = [
    customer_concentration,
    clv_assets,
    churn_assets,
    renewal_book_asset,
    *INDEX_ASSETS,
]
# The weekly action lists run on their own schedule (one list a week), not in the refreshes;
# the publish follows them in the weekly job.
published_warehouse = build_published_warehouse(
    warehouse_dbt_assets, [*ANALYTICS_ASSETS, action_assets]
)
REFRESH_SELECTION = AssetSelection.all() - AssetSelection.assets(action_assets)
loyalty_report = build_report_asset(published_warehouse)
FRESHNESS_CHECKED = [
    published_warehouse,
    loyalty_report,
    get_asset_key_for_model([warehouse_dbt_assets], "loyalty_indicators"),
    get_asset_key_for_model([warehouse_dbt_assets], "customer_facts"),
]

# DuckDB allows one writer process per file: every step runs in this one process, in order.
# A failed scheduled run is retried once by the daemon (run_retries in dagster.yaml), from
# the failed step: a refresh blocked by a transient file lock recovers without a person.
RETRY_TAGS = {"dagster/max_retries": "1", "dagster/retry_strategy": "FROM_FAILURE"}

full_refresh_job = define_asset_job(
    "full_refresh",
    selection=REFRESH_SELECTION,
    description="Load new landing files, rebuild every dbt model from scratch (the "
    "incremental facts included: dbt --full-refresh) and run its tests, fit every model "
    "again and compute the Python assets, publish the BI copy and write the report.",
    tags={**RETRY_TAGS, FULL_REFRESH_TAG: "true", REFIT_TAG: "true"},
)
incremental_refresh_job = define_asset_job(
    "incremental_refresh",
    selection=REFRESH_SELECTION,
    description="The daily run: load new landing files, rewrite only the changed rows of the "
    "incremental models (orders, interactions, survey answers, the customer-month spine), "
    "rebuild the other models and run every test, compute the Python assets (scored from the "
    "cached fits, refitted on their cadence), publish the BI copy and write the report.",
    tags=RETRY_TAGS,
)
report_only_job = define_asset_job(
    "report_only",
    selection=[loyalty_report.key],
    description="Write the report again from the current published copy (e.g. after a "
    "language or as_of change), without refreshing anything.",
)
weekly_actions_job = define_asset_job(
    "weekly_actions",
    selection=AssetSelection.assets(action_assets, published_warehouse),
    description="Each account manager's action list for the week from the current warehouse "
    "(docs/actions.md): the analytics tables, one HTML and one CSV file per manager, the "
    "optional e-mail and the outcomes of past actions; then publish the BI copy again.",
    tags=RETRY_TAGS,
)


def dbt_executable() -> str:
    """dbt from this interpreter's environment (the venv may not be on PATH), else PATH's."""
    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else (shutil.which("dbt") or "dbt")


def build_definitions(database: str | None = None, settings: Settings | None = None) -> Definitions:
    """The definitions with `settings` against a given warehouse file (default
    `settings.duckdb_path`; tests pass a temporary one). Without `settings`, they are read
    from the environment again, checked, and exported for the dbt subprocess (profiles.yml),
    for tests that change the environment between builds; given settings are the caller's
    to export (`project.SETTINGS` are, on import), so building the module-level `defs` never
    overwrites an environment a test set after that import."""
    if settings is None:
        settings = Settings.from_env()
        export_environment(settings)  # what the dbt subprocess reads (profiles.yml)
    database = database or str(settings.duckdb_path)
    freshness_checks, mart_freshness_sensor = build_mart_freshness(FRESHNESS_CHECKED, settings)
    downstream = [
        *warehouse_dbt_assets.keys,
        *(key for assets_def in ANALYTICS_ASSETS for key in assets_def.keys),
        published_warehouse.key,
        loyalty_report.key,
    ]
    return Definitions(
        assets=[
            *RAW_ASSETS,
            warehouse_dbt_assets,
            *ANALYTICS_ASSETS,
            action_assets,
            published_warehouse,
            loyalty_report,
        ],
        asset_checks=[customer_clv_is_sane, customer_equity_is_plausible, *freshness_checks],
        jobs=[full_refresh_job, incremental_refresh_job, report_only_job, weekly_actions_job],
        schedules=[
            build_daily_schedule(incremental_refresh_job.name, settings),
            build_weekly_actions_schedule(weekly_actions_job.name, settings),
        ],
        sensors=[
            build_landing_sensor(incremental_refresh_job.name, downstream, settings),
            mart_freshness_sensor,
        ],
        executor=in_process_executor,
        resources={
            "settings": settings,
            "dbt": DbtCliResource(
                project_dir=dbt_project,
                dbt_executable=dbt_executable(),
                target=settings.dbt_target,
            ),
            "duckdb": DuckDBResource(database=database, connection_config=settings.duckdb_config()),
        },
    )


defs = build_definitions(settings=SETTINGS)
