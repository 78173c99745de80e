"""The dbt project as Dagster assets: staging views, intermediate models and marts."""

import json
from collections.abc import Mapping
from functools import cache
from typing import Any

from dagster import AssetExecutionContext
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets

from ..project import dbt_project
from ..settings import dbt_vars


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
    """`dbt build`: seeds, models and their data and unit tests, in dependency order, with the
    vars of `settings.dbt_vars()` (`WH_AS_OF`, `WH_DBT_VARS`)."""
    args = ["build"]
    if dbt_vars():
        args += ["--vars", json.dumps(dbt_vars())]
    yield from dbt.cli(args, context=context).stream()


@cache
def relation_name(model_name: str) -> str:
    """`schema.table` of a dbt model. The database part is left out on purpose: DuckDB names
    its catalog after the file, which differs between runs, tests and the published copy."""
    manifest = json.loads(dbt_project.manifest_path.read_text())
    for node in manifest["nodes"].values():
        if node["resource_type"] == "model" and node["name"] == model_name:
            return f'"{node["schema"]}"."{node["alias"]}"'
    raise KeyError(f"no dbt model named {model_name!r} in {dbt_project.manifest_path}")
