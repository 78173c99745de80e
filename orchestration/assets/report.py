"""The loyalty and due-diligence report as a Dagster asset: one self-contained HTML file per
configured language, read from the published BI copy (so it shows exactly what BI shows)."""

import os
from pathlib import Path

from dagster import AssetExecutionContext, AssetsDefinition, MaterializeResult, MetadataValue, asset
from dagster_duckdb import DuckDBResource

from ..publish import published_dir
from ..report import build_report
from ..settings import as_of

GROUP = "delivery"


def report_languages() -> list[str]:
    """`WH_REPORT_LANGUAGES`: comma-separated zh and/or en (default both)."""
    raw = os.environ.get("WH_REPORT_LANGUAGES", "zh,en")
    languages = [part.strip() for part in raw.split(",") if part.strip()]
    unknown = sorted(set(languages) - {"zh", "en"})
    if unknown or not languages:
        raise ValueError(f"WH_REPORT_LANGUAGES must list zh and/or en, got {raw!r}")
    return languages


def report_dir(database: Path) -> Path:
    """`WH_REPORT_DIR`, default `reports/` beside the warehouse file."""
    return Path(os.environ.get("WH_REPORT_DIR", database.parent / "reports")).resolve()


def report_path(database: Path, language: str) -> Path:
    return report_dir(database) / f"loyalty_report_{language}.html"


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
    def loyalty_report(context: AssetExecutionContext, duckdb: DuckDBResource) -> MaterializeResult:
        database = Path(duckdb.database)
        source = published_dir(database) / "bi.duckdb"
        written = {}
        for language in report_languages():
            out = report_path(database, language)
            out.parent.mkdir(parents=True, exist_ok=True)
            tmp = out.with_suffix(".html.tmp")
            build_report(source, tmp, language=language, as_of=as_of())
            os.replace(tmp, out)  # a reader never sees half a report
            written[language] = MetadataValue.path(str(out))
            context.log.info(f"report ({language}): {out}")
        return MaterializeResult(metadata=written)

    return loyalty_report
