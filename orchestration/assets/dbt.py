"""The dbt project as Dagster assets: staging views, intermediate models and marts."""

import json
import os
from collections.abc import Mapping
from functools import cache
from typing import Any

from dagster import AssetExecutionContext
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets

from ..project import dbt_project
from ..settings import dbt_vars

# Set (1/true/yes) to rebuild the incremental models from scratch on the next run.
FULL_REFRESH_ENV = "WH_DBT_FULL_REFRESH"


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
def warehouse_dbt_assets(context: AssetExecutionContext, dbt: DbtCliResource):
    """`dbt build`: seeds, models and their data and unit tests, in dependency order, with
    the arguments of `dbt_build_args()`."""
    yield from dbt.cli(dbt_build_args(), context=context).stream()


def dbt_build_args() -> list[str]:
    """`dbt build` with the vars of `settings.dbt_vars()` (`WH_AS_OF`, `WH_DBT_VARS`).

    Every run is incremental for the incremental facts (fct_orders, fct_interactions,
    fct_survey_answers): they rewrite only the rows whose inputs changed, whatever the
    as_of. `WH_DBT_FULL_REFRESH` adds `--full-refresh`, which rebuilds them from scratch:
    needed once after a change of their SQL (an incremental run keeps the rows it does not
    rewrite) or of their columns (an incremental run then fails, on_schema_change='fail').
    """
    args = ["build"]
    if dbt_vars():
        args += ["--vars", json.dumps(dbt_vars())]
    if os.environ.get(FULL_REFRESH_ENV, "").strip().lower() in ("1", "true", "yes"):
        args.append("--full-refresh")
    return args


@cache
def relation_name(model_name: str) -> str:
    """`schema.table` of a dbt model. The database part is left out on purpose: DuckDB names
    its catalog after the file, which differs between runs, tests and the published copy."""
    manifest = json.loads(dbt_project.manifest_path.read_text())
    for node in manifest["nodes"].values():
        if node["resource_type"] == "model" and node["name"] == model_name:
            return f'"{node["schema"]}"."{node["alias"]}"'
    raise KeyError(f"no dbt model named {model_name!r} in {dbt_project.manifest_path}")
