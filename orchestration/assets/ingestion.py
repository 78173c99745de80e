"""One Dagster asset per raw table: load new drop files from the landing directory."""

import datetime as dt

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    MaterializeResult,
    MetadataValue,
    ResourceParam,
    asset,
)
from dagster_duckdb import DuckDBResource

from ..contract import TABLES, Table
from ..ingest import load_table, reject_unknown_folders
from ..settings import Settings

GROUP = "ingestion"


def raw_key(table_name: str) -> AssetKey:
    return AssetKey(["raw", table_name])


def _referenced_tables(tbl: Table) -> list[str]:
    return sorted(
        {
            c.references.split(".")[0]
            for c in tbl.columns
            if c.references and c.references.split(".")[0] != tbl.name
        }
    )


def _ledger_check(tbl: Table) -> AssetCheckSpec:
    return AssetCheckSpec(
        name="ledger_rows_balance",
        asset=raw_key(tbl.name),
        description="Every loaded file: rows_in = rows_accepted + rows_quarantined + rows_blank, "
        "and the raw table holds exactly the accepted rows of its loaded files.",
        blocking=True,
    )


def _quarantine_check(tbl: Table) -> AssetCheckSpec:
    return AssetCheckSpec(
        name="quarantine_share",
        asset=raw_key(tbl.name),
        description="At most WH_QUARANTINE_MAX_RATE (default 5 %) of the table's loaded rows "
        "are quarantined; above it nothing downstream is built until the drop is corrected.",
        blocking=True,
    )


def _freshness_check(tbl: Table) -> AssetCheckSpec:
    return AssetCheckSpec(
        name="fresh_drop",
        asset=raw_key(tbl.name),
        description="The newest drop file is at most WH_FRESHNESS_MAX_AGE_DAYS (default 7) days "
        "old, judged by the date in its name. A warning only.",
    )


def build_raw_asset(tbl: Table) -> AssetsDefinition:
    """The ingestion asset of one raw table.

    It depends on the raw tables it references, so an order is checked against customers
    loaded before it in the same run.
    """

    @asset(
        key=raw_key(tbl.name),
        group_name=GROUP,
        kinds={"python", "duckdb"},
        description=f"raw.{tbl.name}: {tbl.description} Loaded from landing/{tbl.name}/.",
        deps=[raw_key(t) for t in _referenced_tables(tbl)],
        check_specs=[_ledger_check(tbl), _quarantine_check(tbl), _freshness_check(tbl)],
        metadata={"key": ", ".join(tbl.key), "source": tbl.source},
    )
    def _load(
        context: AssetExecutionContext, duckdb: DuckDBResource, settings: ResourceParam[Settings]
    ):
        with duckdb.get_connection() as con:
            results = load_table(
                con,
                settings.landing_dir,
                tbl.name,
                run_id=context.run.run_id,
                run_date=dt.date.today(),
                progress=context.log.info,
            )
            if tbl.name == "customers":  # the first table loaded reports stray folders
                for r in reject_unknown_folders(con, settings.landing_dir, context.run.run_id):
                    context.log.error(r.error)
            for r in results:
                if r.status == "rejected":
                    context.log.error(r.error)
                elif r.duplicate_of:
                    context.log.warning(f"{r.file}: skipped, same content as {r.duplicate_of}")
                elif r.status != "skipped-duplicate":
                    context.log.info(
                        f"{r.file}: {r.status}, {r.rows_in} rows in, {r.rows_accepted} accepted,"
                        f" {r.rows_quarantined} quarantined, {r.rows_blank} blank"
                    )
            unbalanced, raw_rows, ledger_rows = con.execute(
                f"""
                select
                    (select count(*) from raw_meta.load_ledger where table_name = $1
                        and rows_in <> rows_accepted + rows_quarantined
                            + coalesce(rows_blank, 0)),
                    (select count(*) from raw.{tbl.name}),
                    (select coalesce(sum(l.rows_accepted), 0) from raw_meta.load_ledger l
                        where l.table_name = $1 and l.status in ('loaded', 'replaced')
                        and l.file in (select distinct _file from raw.{tbl.name})
                        -- a file corrected under the same name counts its latest load only
                        and l.started_at = (select max(m.started_at)
                            from raw_meta.load_ledger m where m.table_name = $1
                            and m.file = l.file and m.status in ('loaded', 'replaced')))
                """,
                [tbl.name],
            ).fetchone()
            newest_drop = con.execute(
                "select max(cast(regexp_extract(drop_name, '(\\d{4}-\\d{2}-\\d{2})', 1) "
                "as date)) from raw_meta.load_ledger where table_name = ? "
                "and status in ('loaded', 'replaced')",
                [tbl.name],
            ).fetchone()[0]
            quarantined_total = con.execute(
                f"select count(*) from raw_quarantine.{tbl.name}"
            ).fetchone()[0]
        loaded = [r for r in results if r.status in ("loaded", "replaced")]
        # The share is over everything loaded and not replaced, not only this run's files:
        # the marts stay held back until the bad drop is corrected, however often one reruns.
        held = int(raw_rows) + int(quarantined_total)
        quarantine_rate = int(quarantined_total) / held if held else 0.0
        yield MaterializeResult(
            metadata={
                "files_loaded": len(loaded),
                "files_skipped": sum(r.status == "skipped-duplicate" for r in results),
                "files_rejected": sum(r.status == "rejected" for r in results),
                "rows_accepted": sum(r.rows_accepted for r in loaded),
                "rows_quarantined": sum(r.rows_quarantined for r in loaded),
                "rows_blank": sum(r.rows_blank for r in loaded),
                "raw_rows_total": int(raw_rows),
                "quarantine_rows_total": int(quarantined_total),
                "files": MetadataValue.md(
                    "\n".join(f"- `{r.file}`: {r.status} {r.error or ''}".rstrip() for r in results)
                    or "no new files"
                ),
            }
        )
        yield AssetCheckResult(
            check_name="ledger_rows_balance",
            passed=bool(unbalanced == 0 and raw_rows == ledger_rows),
            severity=AssetCheckSeverity.ERROR,
            metadata={
                "unbalanced_ledger_lines": int(unbalanced),
                "raw_rows": int(raw_rows),
                "accepted_rows_in_ledger": int(ledger_rows),
            },
        )
        age_days = (dt.date.today() - newest_drop).days if newest_drop else None
        yield AssetCheckResult(
            check_name="fresh_drop",
            passed=age_days is not None and age_days <= settings.freshness_max_age_days,
            severity=AssetCheckSeverity.WARN,
            metadata={
                "newest_drop": str(newest_drop) if newest_drop else "none",
                "age_days": age_days if age_days is not None else -1,
                "max_age_days": settings.freshness_max_age_days,
            },
        )
        yield AssetCheckResult(
            check_name="quarantine_share",
            passed=quarantine_rate <= settings.quarantine_max_rate,
            severity=AssetCheckSeverity.ERROR,
            metadata={
                "raw_rows": int(raw_rows),
                "quarantined_rows": int(quarantined_total),
                "quarantine_rate": quarantine_rate,
                "threshold": settings.quarantine_max_rate,
            },
        )

    return _load


RAW_ASSETS: list[AssetsDefinition] = [build_raw_asset(t) for t in TABLES]
