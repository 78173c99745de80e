"""`make run`: materialise every asset in this process, then print what was built and where.

`python -m orchestration.run [--job full_refresh|incremental_refresh]`: `make run` runs
`full_refresh` (every model from scratch); `make run JOB=incremental_refresh` the daily job.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import duckdb
from dagster import DagsterInstance

from .assets.report import report_dir
from .contract import TABLES
from .settings import duckdb_path, landing_dir

UI_PORT = os.environ.get("DAGSTER_PORT", "3000")


def summary(database: str) -> str:
    """Row counts of the raw tables, quarantine, marts and Python assets, read back."""
    lines = [f"warehouse: {database}", f"landing:   {landing_dir()}", ""]
    with duckdb.connect(database, read_only=True) as con:
        lines.append(f"{'raw table':28}{'rows':>12}{'quarantined':>13}")
        for t in TABLES:
            rows = con.execute(f"select count(*) from raw.{t.name}").fetchone()[0]
            bad = con.execute(f"select count(*) from raw_quarantine.{t.name}").fetchone()[0]
            lines.append(f"raw.{t.name:24}{rows:>12,}{bad:>13,}")
        rejected = con.execute(
            "select count(*) from raw_meta.load_ledger where status = 'rejected'"
        ).fetchone()[0]
        lines.append(f"files rejected (see raw_meta.load_ledger): {rejected}")
        lines.append("")
        lines.append(f"{'mart / Python asset':40}{'rows':>12}")
        relations = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema not in ('raw', 'raw_quarantine', 'raw_meta') "
            "and table_type = 'BASE TABLE' order by 1, 2"
        ).fetchall()
        for schema, name in relations:
            rows = con.execute(f'select count(*) from "{schema}"."{name}"').fetchone()[0]
            lines.append(f"{schema + '.' + name:40}{rows:>12,}")
        customers, top10, hhi = con.execute(
            "select customers, top_n_share_rate, herfindahl_index "
            "from analytics.customer_concentration"
        ).fetchone()
        lines.append("")
        if top10 is None:
            lines.append(f"customer concentration (F11): {customers:,} customers, no revenue yet")
        else:
            lines.append(
                f"customer concentration (F11): {customers:,} customers, top-10 share "
                f"{top10:.2%}, Herfindahl index {hhi:.4f}"
            )
    published = Path(database).parent / "published"
    lines.append("")
    lines.append(f"published for BI (read-only, swapped atomically): {published / 'bi.duckdb'}")
    lines.append(f"  Parquet, one file per table:                    {published / 'parquet'}")
    for report in sorted(report_dir(Path(database)).glob("loyalty_report_*.html")):
        lines.append(f"report: {report}")
    lines.append("")
    lines.append(f"open the Dagster UI: make dev  ->  http://127.0.0.1:{UI_PORT}")
    lines.append("BI tools read the published copy: see docs/bi.md")
    return "\n".join(lines)


JOBS = ("full_refresh", "incremental_refresh")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orchestration.run", description=__doc__)
    parser.add_argument("--job", choices=JOBS, default="full_refresh")
    args = parser.parse_args(argv)
    from .definitions import defs

    database = str(duckdb_path())
    os.makedirs(os.path.dirname(database), exist_ok=True)
    start = time.perf_counter()
    job = defs.resolve_job_def(args.job)
    with DagsterInstance.get() as instance:
        result = job.execute_in_process(
            instance=instance,
            raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
        )
    elapsed = time.perf_counter() - start
    if not result.success:
        failed = [e.step_key for e in result.all_events if e.is_step_failure]
        print(
            f"\nthe run failed in {elapsed:.0f} s; failed steps: {', '.join(failed)}",
            file=sys.stderr,
        )
        print("details: make dev, then the Runs page", file=sys.stderr)
        return 1
    print(f"\n{args.job}: built every asset in {elapsed:.0f} s (run {result.run_id})\n")
    print(summary(database))
    return 0


if __name__ == "__main__":
    sys.exit(main())
