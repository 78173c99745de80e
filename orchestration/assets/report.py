"""The loyalty and due-diligence report as a Dagster asset: one self-contained HTML file per
configured language, read from the published BI copy (so it shows exactly what BI shows)."""

import os
from pathlib import Path

from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
    MaterializeResult,
    MetadataValue,
    ResourceParam,
    asset,
)
from dagster_duckdb import DuckDBResource

from ..report import build_report
from ..settings import Settings

GROUP = "delivery"


def report_dir(settings: Settings, database: Path) -> Path:
    """`settings.report_dir` (WH_REPORT_DIR), default `reports/` beside the warehouse file."""
    return settings.report_dir or (database.parent / "reports").resolve()


def report_path(settings: Settings, database: Path, language: str) -> Path:
    return report_dir(settings, database) / f"loyalty_report_{language}.html"


def build_report_asset(published: AssetsDefinition) -> AssetsDefinition:
    """The `loyalty_report` asset, downstream of the publish."""

    @asset(
        key="loyalty_report",
        group_name=GROUP,
        kinds={"python", "html"},
        deps=[published.key],
        description="The loyalty and due-diligence report (headline KPIs, satisfaction, "
        "retention and churn reasons, cohorts, NPS, complaints, CLV and customer equity, "
        "concentration, value x loyalty, at-risk customers): one offline HTML file per "
        "language in WH_REPORT_DIR (default warehouse/reports/).",
    )
    def loyalty_report(
        context: AssetExecutionContext, duckdb: DuckDBResource, settings: ResourceParam[Settings]
    ) -> MaterializeResult:
        database = Path(duckdb.database)
        source = settings.published_dir(database) / "bi.duckdb"
        written = {}
        for language in settings.report_languages:
            out = report_path(settings, database, language)
            out.parent.mkdir(parents=True, exist_ok=True)
            tmp = out.with_suffix(".html.tmp")
            # as_of: the date the published marts were built for (customer_facts.as_of_on)
            build_report(source, tmp, language=language, duckdb_config=settings.duckdb_config())
            os.replace(tmp, out)  # a reader never sees half a report
            written[language] = MetadataValue.path(str(out))
            context.log.info(f"report ({language}): {out}")
        return MaterializeResult(metadata=written)

    return loyalty_report
