"""The BI-facing copy of the warehouse, published after every refresh whose checks pass."""

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    MaterializeResult,
    MetadataValue,
    ResourceParam,
    asset,
)
from dagster_dbt import get_asset_key_for_model
from dagster_duckdb import DuckDBResource

from ..project import dbt_project
from ..publish import TableDocs, bi_dbt_nodes, publish
from ..settings import Settings
from ._io import ANALYTICS_SCHEMA
from .dbt import built_as_of

GROUP = "delivery"
# The AssetSpec metadata an analytics asset describes its table with for the published copy
# (`bi_metadata`); the table's description is the spec's description.
COLUMN_DESCRIPTIONS_KEY = "bi/column_descriptions"
EMPTY_REASON_KEY = "bi/empty_reason"


def bi_metadata(columns: Mapping[str, str], empty_reason: str | None = None) -> dict[str, Any]:
    """AssetSpec metadata for an analytics table: every column's description, and why the
    table may be empty (without one, the publish step refuses an empty table)."""
    metadata: dict[str, Any] = {COLUMN_DESCRIPTIONS_KEY: MetadataValue.json(dict(columns))}
    if empty_reason:
        metadata[EMPTY_REASON_KEY] = empty_reason
    return metadata


def analytics_docs(analytics_assets: Sequence[AssetsDefinition]) -> dict[str, TableDocs]:
    """The descriptions the analytics assets declare, by table name (`bi_metadata`)."""
    docs = {}
    for assets_def in analytics_assets:
        for spec in assets_def.specs:
            if len(spec.key.path) != 2 or spec.key.path[0] != ANALYTICS_SCHEMA:
                continue
            metadata = {k: getattr(v, "value", v) for k, v in (spec.metadata or {}).items()}
            docs[spec.key.path[1]] = TableDocs(
                description=" ".join((spec.description or "").split()),
                columns=dict(metadata.get(COLUMN_DESCRIPTIONS_KEY) or {}),
                empty_reason=metadata.get(EMPTY_REASON_KEY),
            )
    return docs


def build_published_warehouse(
    dbt_assets: AssetsDefinition,
    analytics_assets: Sequence[AssetsDefinition],
    manifest_path: Path | None = None,
) -> AssetsDefinition:
    """The `published_warehouse` asset, downstream of every BI-facing dbt mart and seed and of
    the Python assets that write the analytics schema (pass them all, so that it runs last).

    An upstream step that fails (a blocking check, a failing dbt test) skips it in the run,
    so the last good release stays published.
    """
    manifest_path = manifest_path or dbt_project.manifest_path
    dbt_manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    deps: list[AssetKey] = [
        get_asset_key_for_model([dbt_assets], node["name"]) for node in bi_dbt_nodes(dbt_manifest)
    ]
    deps += [key for assets_def in analytics_assets for key in assets_def.keys]
    docs = analytics_docs(analytics_assets)

    @asset(
        key="published_warehouse",
        group_name=GROUP,
        kinds={"python", "duckdb", "parquet"},
        deps=deps,
        description="The marts, seeds and analytics tables copied into a new read-only DuckDB "
        "file and Parquet files, then swapped in atomically (warehouse/published/, see "
        "docs/bi.md); a table unchanged since the last release is linked from it, not "
        "copied again. BI tools read it and never wait for a refresh.",
    )
    def published_warehouse(
        context: AssetExecutionContext, duckdb: DuckDBResource, settings: ResourceParam[Settings]
    ) -> MaterializeResult:
        source = Path(duckdb.database)
        if settings.dbt_target == "pg":  # PostgreSQL as the warehouse: BI there sees them too
            from ..warehouse_copy import copy_raw, pg_dsn

            copied = copy_raw(
                source,
                pg_dsn(settings),
                (ANALYTICS_SCHEMA,),
                duckdb_config=settings.duckdb_config(),
            )
            context.log.info(f"analytics tables to PostgreSQL: {len(copied)}")
        with duckdb.get_connection() as con:
            as_of = built_as_of(con)
        release = publish(
            source,
            settings.published_dir(source),
            run_id=context.run.run_id,
            as_of=as_of.isoformat(),
            keep=settings.publish_keep,
            storage_version=settings.publish_storage_version,
            dbt_manifest=json.loads(manifest_path.read_text(encoding="utf-8")),
            on_stage=lambda stage: context.log.info(f"publish: {stage}"),
            analytics_docs=docs,
            duckdb_config=settings.duckdb_config(),
        )
        tables = release.manifest["tables"]
        undescribed = [
            f"{name}.{column}" for name, t in tables.items() for column in t["undescribed_columns"]
        ]
        unlabelled = [
            f"{name}.{column}"
            for name, t in tables.items()
            for column in t.get("unlabelled_codes", {})
        ]
        if undescribed:
            context.log.warning(f"columns without a description: {', '.join(undescribed)}")
        if unlabelled:
            context.log.warning(
                f"codes without a label in seeds/code_labels.csv: {', '.join(unlabelled)}"
            )
        return MaterializeResult(
            metadata={
                "release": release.release_id,
                "path": MetadataValue.path(str(release.path)),
                "as_of": str(release.manifest["as_of"]),
                "table_count": len(tables),
                "tables_written": release.manifest["tables_written"],
                "tables_linked": release.manifest["tables_linked"],
                "undescribed_columns": len(undescribed),
                "columns_with_unlabelled_codes": len(unlabelled),
                "rows": MetadataValue.md(
                    "| table | rows | published |\n|---|---|---|\n"
                    + "\n".join(
                        f"| {name} | {t['rows']} | {t['published']} |" for name, t in tables.items()
                    )
                ),
            }
        )

    return published_warehouse
