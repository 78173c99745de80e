"""The dbt project as Dagster assets: staging views, intermediate models and marts."""

import datetime as dt
import json
from collections.abc import Mapping
from functools import cache
from typing import Any

from dagster import AssetExecutionContext, ResourceParam
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets
from dagster_duckdb import DuckDBResource

from ..project import dbt_project
from ..settings import Settings

# Run tag of the `full_refresh` job: its dbt build runs with --full-refresh.
FULL_REFRESH_TAG = "warehouse/dbt_full_refresh"


class WarehouseTranslator(DagsterDbtTranslator):
    """Groups dbt models by their layer folder (staging, intermediate, marts)."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])
        if dbt_resource_props.get("resource_type") == "model" and len(fqn) > 2:
            return fqn[1]
        if dbt_resource_props.get("resource_type") == "seed":
            return "seeds"
        return super().get_group_name(dbt_resource_props)


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=WarehouseTranslator(),
)
def warehouse_dbt_assets(
    context: AssetExecutionContext,
    dbt: DbtCliResource,
    duckdb: DuckDBResource,
    settings: ResourceParam[Settings],
):
    """`dbt build`: seeds, models and their data and unit tests, in dependency order, with
    the arguments of `dbt_build_args()`; from scratch in a run tagged `FULL_REFRESH_TAG`
    (the `full_refresh` job).

    With PostgreSQL as the warehouse (`WH_DBT_TARGET=pg`): the raw tables the ingestion
    loaded into the DuckDB file go to PostgreSQL first, and after a successful build every
    model and seed it built comes back into the DuckDB file (same schema and name as on
    DuckDB), which the Python assets, publish and the report read."""
    full_refresh = context.run.tags.get(FULL_REFRESH_TAG, "") == "true"
    if settings.dbt_target not in ("dev", "pg"):
        raise ValueError(
            f"WH_DBT_TARGET={settings.dbt_target!r}: the Dagster jobs run on DuckDB (dev) or "
            "PostgreSQL (pg); build the dbt models on Spark with dbt itself (docs/engines.md)"
        )
    on_postgres = settings.dbt_target == "pg"
    if on_postgres:
        from ..warehouse_copy import copy_raw, copy_to_duckdb, pg_dsn

        copied = copy_raw(duckdb.database, pg_dsn(settings), duckdb_config=settings.duckdb_config())
        context.log.info(f"raw tables to PostgreSQL: {len(copied)}, {sum(copied.values())} rows")
    invocation = dbt.cli(dbt_build_args(settings, full_refresh), context=context)
    yield from invocation.stream()
    if on_postgres:
        relations = built_relations(
            invocation.get_artifact("run_results.json"),
            invocation.get_artifact("manifest.json"),
        )
        pulled = copy_to_duckdb(
            pg_dsn(settings), duckdb.database, relations, settings.duckdb_config()
        )
        context.log.info(f"models to DuckDB: {len(pulled)}, {sum(pulled.values())} rows")


def built_relations(
    run_results: Mapping[str, Any], run_manifest: Mapping[str, Any]
) -> list[tuple[str, str, str]]:
    """(schema in the built database, name, schema in the DuckDB file) of every model and
    seed the dbt run built: the DuckDB schema is the project manifest's (what
    `relation_name` and the publish read), the other the run's."""
    project_nodes = json.loads(dbt_project.manifest_path.read_text())["nodes"]
    relations = []
    for result in run_results["results"]:
        node = run_manifest["nodes"].get(result["unique_id"])
        if (
            node is None
            or node["resource_type"] not in ("model", "seed")
            or result["status"] != "success"
            or node["config"].get("materialized") == "ephemeral"
        ):
            continue
        project_node = project_nodes.get(result["unique_id"], node)
        relations.append((node["schema"], node["alias"], project_node["schema"]))
    return relations


def dbt_build_args(settings: Settings, full_refresh: bool = False) -> list[str]:
    """`dbt build` with the `--vars` of `settings` (`WH_AS_OF`, `WH_DBT_VARS`).

    Without `full_refresh` the incremental models (fct_orders, fct_interactions,
    fct_survey_answers, int_customer_months) rewrite only the rows whose inputs changed,
    whatever the as_of: the `incremental_refresh` job, the daily schedule and the landing
    sensor. With it (the `full_refresh` job, or `WH_DBT_FULL_REFRESH` for any job)
    `--full-refresh` rebuilds them from scratch: needed once after a change of their SQL (an
    incremental run keeps the rows it does not rewrite) or of their columns (an incremental
    run then fails, on_schema_change='fail').

    dbt's unit tests check the SQL of the models on fixed rows, not the data: they belong to
    the project's tests (`make test` runs them, tests/test_dbt_unit_tests.py), so the jobs
    leave them out (about a third of the build's time) unless `settings.dbt_unit_tests`
    (`WH_DBT_UNIT_TESTS`).
    Every data test still runs, as the asset checks of the models it tests.
    """
    args = ["build", *settings.dbt_vars_arg()]
    if full_refresh or settings.dbt_full_refresh:
        args.append("--full-refresh")
    if not settings.dbt_unit_tests:
        args += ["--exclude-resource-type", "unit_test"]
    return args


@cache
def relation_name(model_name: str) -> str:
    """`schema.table` of a dbt model or seed. The database part is left out on purpose: DuckDB names
    its catalog after the file, which differs between runs, tests and the published copy."""
    manifest = json.loads(dbt_project.manifest_path.read_text())
    for node in manifest["nodes"].values():
        if node["resource_type"] in ("model", "seed") and node["name"] == model_name:
            return f'"{node["schema"]}"."{node["alias"]}"'
    raise KeyError(f"no dbt model named {model_name!r} in {dbt_project.manifest_path}")


def built_as_of(con) -> dt.date:
    """The reporting date of the last dbt build: `customer_facts.as_of_on` (`as_of_date()` of
    macros/as_of.sql: `WH_AS_OF`, else the database's current_date). The one place the Python
    assets take as_of from after dbt, so they and the marts agree, whatever the clock says
    by the time they run."""
    day = con.execute(f"select max(as_of_on) from {relation_name('customer_facts')}").fetchone()
    if day is None or day[0] is None:
        raise ValueError("customer_facts is empty: no customer loaded, so no as_of to report")
    return day[0] if isinstance(day[0], dt.date) else dt.date.fromisoformat(str(day[0])[:10])
