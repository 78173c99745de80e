"""`make run`: materialise every asset, then print what was built and where.

`python -m orchestration.run [--job full_refresh|incremental_refresh]`: `make run` runs
`full_refresh` (every model from scratch); `make run JOB=incremental_refresh` the daily job.

Before any step runs it checks the settings a step would trip on late (`Settings.from_env`:
the reporting date `WH_AS_OF` and every other setting) and the landing folder (not empty). It
marks failed the runs of this command that Dagster still shows as STARTED although their
process is gone (killed, or the machine stopped).

Faults end cleanly: the job runs in a worker process that leads its own process group, with
dbt and everything else it starts inside that group. This process only supervises: on
SIGINT, SIGTERM or SIGHUP it stops the whole group (SIGTERM, then SIGKILL after
`STOP_GRACE_SECONDS`), and when the worker ends, anything it left behind is killed too. If
this process is killed outright (SIGKILL), the worker notices that its parent is gone and
stops its group the same way. So no dbt process outlives a run to hold
the DuckDB lock, and Dagster records the interrupted run as failed.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

from .assets.report import report_dir
from .contract import TABLES
from .settings import ROOT, Settings, SettingsError

UI_PORT = os.environ.get("DAGSTER_PORT", "3000")


def summary(database: str, settings: Settings) -> str:
    """Row counts of the raw tables, quarantine, marts and Python assets, read back."""
    lines = [f"warehouse: {database}", f"landing:   {settings.landing_dir}", ""]
    with duckdb.connect(database, read_only=True, config=settings.duckdb_config()) as con:
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
    published = settings.published_dir(database)
    lines.append("")
    lines.append(f"published for BI (read-only, swapped atomically): {published / 'bi.duckdb'}")
    lines.append(f"  Parquet, one file (or folder) per table:        {published / 'parquet'}")
    for report in sorted(report_dir(settings, Path(database)).glob("loyalty_report_*.html")):
        lines.append(f"report: {report}")
    lines.append("")
    lines.append(f"open the Dagster UI: make dev  ->  http://127.0.0.1:{UI_PORT}")
    lines.append("BI tools read the published copy: see docs/bi.md")
    return "\n".join(lines)


JOBS = ("full_refresh", "incremental_refresh")
# Seconds a stopped run's processes get to end after SIGTERM before they are killed.
STOP_GRACE_SECONDS = 10.0
# Tags on the Dagster runs this command starts: which process on which host runs them.
PID_TAG = "loyalty/pid"
HOST_TAG = "loyalty/host"
DEFAULT_LANDING = ROOT / "landing"
PARENT_POLL_SECONDS = 0.5


class LandingError(RuntimeError):
    """A landing folder that a run cannot read anything from."""


def check_landing(landing: Path) -> None:
    """Refuse to run on a landing folder without a single file: for the project's default
    folder `make run` generates the demo firm first; a configured one (`WH_LANDING_DIR`) is
    never filled with demo data, so an empty one is a mistake to report, not to fill."""
    has_files = landing.is_dir() and any(p.is_file() for p in landing.rglob("*"))
    if has_files:
        return
    state = "does not exist" if not landing.exists() else "has no files"
    if landing.resolve() == DEFAULT_LANDING.resolve():
        hint = "run `make run` (it generates the demo firm there) or `make demo`"
    else:
        hint = (
            "put the exports there (docs/landing-contract.md); demo data is generated only "
            "into the project's landing/ folder, or on request with "
            f"`make demo WH_LANDING_DIR={landing}`"
        )
    raise LandingError(f"the landing folder {landing} (WH_LANDING_DIR) {state}: {hint}")


def _process_alive(pid: int) -> bool:
    """Whether `pid` is a live process of this command (not a later process with that id)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True  # no /proc: trust the id
    return b"orchestration.run" in cmdline


def fail_orphaned_runs(instance: DagsterInstance) -> list[str]:
    """Mark failed the runs of this command on this host that are still STARTED (or
    STARTING) although their process has gone; returns their ids."""
    host = socket.gethostname()
    failed = []
    runs = instance.get_runs(
        RunsFilter(statuses=[DagsterRunStatus.STARTED, DagsterRunStatus.STARTING])
    )
    for run in runs:
        pid = run.tags.get(PID_TAG)
        if pid is None or run.tags.get(HOST_TAG) != host or _process_alive(int(pid)):
            continue
        instance.report_run_failed(
            run, message=f"process {pid} that ran it is gone (killed or stopped)"
        )
        failed.append(run.run_id)
    return failed


def _kill_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def _supervise(job: str) -> int:
    """Run the job in a worker that leads its own process group; stop the group with us."""
    worker = subprocess.Popen(
        [sys.executable, "-m", "orchestration.run", "--job", job, "--worker", str(os.getpid())],
        start_new_session=True,
    )
    stop_requested: list[float] = []

    def stop(_signum: int, _frame: object) -> None:
        if not stop_requested:
            stop_requested.append(time.monotonic())
            _kill_group(worker.pid, signal.SIGTERM)

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, stop)
    while worker.poll() is None:
        if stop_requested and time.monotonic() - stop_requested[0] > STOP_GRACE_SECONDS:
            _kill_group(worker.pid, signal.SIGKILL)
        time.sleep(0.2)
    _kill_group(worker.pid, signal.SIGKILL)  # whatever the worker left behind
    if stop_requested:
        print("\nthe run was stopped; its processes have ended", file=sys.stderr)
        return 130
    return worker.returncode if worker.returncode >= 0 else 128 - worker.returncode


def _watch_parent(parent: int) -> None:
    """Stop this process group when `parent` (the supervisor) is gone, e.g. killed with
    SIGKILL: SIGTERM to every process of the group (dbt ends, Dagster records the
    interruption), then SIGKILL after `STOP_GRACE_SECONDS` to whatever is left."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_SECONDS)
        _kill_group(os.getpgrp(), signal.SIGTERM)
        time.sleep(STOP_GRACE_SECONDS)
        _kill_group(os.getpgrp(), signal.SIGKILL)

    threading.Thread(target=watch, name="watch-supervisor", daemon=True).start()


def _work(job_name: str, parent: int) -> int:
    """The job itself, in this process; SIGTERM reaches dbt through the process group, and
    Dagster turns it into an interrupted (failed) run."""
    _watch_parent(parent)
    from .definitions import defs
    from .project import SETTINGS  # what `defs` was built with

    database = str(SETTINGS.duckdb_path)
    os.makedirs(os.path.dirname(database), exist_ok=True)
    start = time.perf_counter()
    job = defs.resolve_job_def(job_name)
    with DagsterInstance.get() as instance:
        result = job.execute_in_process(
            instance=instance,
            raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
            tags={PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()},
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
    print(f"\n{job_name}: built every asset in {elapsed:.0f} s (run {result.run_id})\n")
    print(summary(database, SETTINGS))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orchestration.run", description=__doc__)
    parser.add_argument("--job", choices=JOBS, default="full_refresh")
    parser.add_argument("--worker", type=int, metavar="PARENT_PID", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return _work(args.job, args.worker)
    try:
        settings = Settings.from_env()  # checked before any step, not inside dbt
        check_landing(settings.landing_dir)
    except (SettingsError, LandingError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    with DagsterInstance.get() as instance:
        for run_id in fail_orphaned_runs(instance):
            print(f"run {run_id} was left STARTED by a process that is gone: marked failed")
    return _supervise(args.job)


if __name__ == "__main__":
    sys.exit(main())
