"""Time a full refresh and the next day's incremental one against two floors, phase by phase.

    .venv/bin/python -m benchmarks.refresh --customers 10000 100000 [1000000] \
        [--cache DIR] [--work DIR] [--out DIR] [--markdown]

For each size the script

1. generates a demo firm of that many customers (`orchestration.synthetic.generate`, 3 years,
   seed 42; it writes the CSVs chunk by chunk, so 1,000,000 customers fit in memory) into
   `--cache` once; later runs reuse it;
2. runs the Dagster `full_refresh` job in a fresh subprocess on a fresh DuckDB file, with the
   landing directory hard-linked from the cache and `WH_AS_OF` = the drop date, and records
   each step's time from the Dagster event log, summed by phase (ingestion, dbt build, each
   Python asset step: churn, CLV, indices..., asset checks, publish, report), the rows each
   step wrote (`step_rows`), every dbt node's time and rows from its run_results.json
   (`dbt_nodes`), and peak memory;
3. runs `benchmarks/floor.sql` (the headline marts in plain DuckDB SQL, straight from the
   CSVs: the *headline floor*) in another subprocess, then in the same DuckDB connection
   writes every table of the published copy once (`copy_published`): floor.sql plus that
   copy is the *fair floor*, what a refresh that computes the headline marts and writes
   what it publishes cannot beat. It checks that the floor's numbers equal the marts';
4. appends one more day of drop files (`append_day`: that day's orders at the recent daily
   rate, interactions for 2 % of the customers) and runs the `incremental_refresh` job on the
   same warehouse with `WH_AS_OF` moved to that day: the daily run.

It prints (and writes to `--out`/report.md) full / headline floor, full / fair floor and
daily / full from the same run, seconds and rows written per phase for both runs, and the
slowest dbt nodes (`--top`); `--out` also gets result-<n>.json (everything) and
dbt-nodes-<n>-<full|daily>.csv (every node). Long steps print progress as they run.

Peak memory: the peak of the whole process tree's resident memory (the refresh process and
its dbt subprocess, children included), sampled from /proc every 0.25 s (psutil is not a
dependency), over the run and over each step (`step_peak_mib`, and the largest per phase:
`phase_peak_mib`), and `ru_maxrss` of the refresh process and of its largest child.

DuckDB settings for dbt come from the profile (`WH_DUCKDB_MEMORY_LIMIT`, `WH_DUCKDB_THREADS`,
`WH_DUCKDB_TEMP_DIR`), the Dagster process's memory limit from
`WH_DAGSTER_DUCKDB_MEMORY_LIMIT`; `--memory-limit`, `--dagster-memory-limit`, `--threads`
and `--temp-dir` set them for the run (defaults: the variables, else the settings'
defaults), and all but the Dagster limit for the floor. Everything is written under
`--work` (default: a folder of the system temp directory), never into the project's
warehouse/, target/ or landing/.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as dt
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestration.settings import Settings

if TYPE_CHECKING:
    import duckdb

ROOT = Path(__file__).resolve().parent.parent
FLOOR_SQL = Path(__file__).resolve().parent / "floor.sql"
DEFAULT_CACHE = Path(tempfile.gettempdir()) / "loyalty-bench" / "data"
DEFAULT_WORK = Path(tempfile.gettempdir()) / "loyalty-bench" / "work"
YEARS = 3
SEED = 42
INTERACTION_SHARE = 0.02  # customers with an interaction on the appended day
RATE_WINDOW_DAYS = 30  # the appended day's orders: the mean daily count over this window
SAMPLE_SECONDS = 0.25
MIB = 1024 * 1024


# ---------------------------------------------------------------------------------------------
# Data sets


def dataset(cache: Path, customers: int) -> Path:
    """The cached data set of `customers` customers (generated on first use); its folder."""
    from orchestration.synthetic import generate

    folder = cache / f"customers-{customers}"
    if (folder / ".complete").exists():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    progress(f"generating {customers:,} customers into {folder}")
    start = time.perf_counter()
    rows = generate(
        folder / "landing", folder / "truth", customers=customers, years=YEARS, seed=SEED
    )
    (folder / "rows.json").write_text(json.dumps(rows))
    (folder / ".complete").touch()
    progress(f"generated in {time.perf_counter() - start:.0f} s: {rows['orders']:,} orders")
    return folder


def drop_date(landing: Path) -> dt.date:
    """The latest drop date in a landing directory (file names are <date>.csv)."""
    return max(dt.date.fromisoformat(p.stem[:10]) for p in landing.glob("*/*.csv"))


def link_landing(source: Path, target: Path) -> None:
    """A private landing directory whose files are hard links to the cache (copies across
    file systems), so appending a day never touches the cached data set."""
    shutil.rmtree(target, ignore_errors=True)
    for path in source.glob("*/*"):
        destination = target / path.parent.name / path.name
        destination.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(path, destination)
        except OSError:
            shutil.copy2(path, destination)


def append_day(landing: Path, day: dt.date, seed: int = SEED) -> dict[str, int]:
    """Write one more dated drop consistent with the landing contract: `day`'s orders (as many
    as the mean daily count of the last RATE_WINDOW_DAYS, for customers who ordered in the
    past year, amounts and lines drawn from recent invoices) and interactions for
    INTERACTION_SHARE of the customers (with their latest account manager)."""
    import duckdb
    import numpy as np

    from orchestration.contract import INTERACTION_CHANNELS, INTERACTION_KINDS

    rng = np.random.default_rng([seed, day.toordinal()])
    con = duckdb.connect()
    orders = (
        f"read_csv_auto('{landing}/orders/*.csv', header = true, types = {{'amount': 'varchar'}})"
    )
    interactions = f"read_csv_auto('{landing}/interactions/*.csv', header = true)"
    since = day - dt.timedelta(days=RATE_WINDOW_DAYS)
    count = con.execute(
        f"select count(*) from {orders} where ordered_on >= ? and ordered_on < ?", [since, day]
    ).fetchall()[0][0]
    count = max(1, round(count / RATE_WINDOW_DAYS))
    recent = con.execute(
        f"select amount, currency, product_line from {orders} "
        "where not is_credit_note and ordered_on >= ? and ordered_on < ?",
        [day - dt.timedelta(days=365), day],
    ).fetchall()
    buyers = sorted(
        row[0]
        for row in con.execute(
            f"select distinct customer_id from {orders} where ordered_on >= ?",
            [day - dt.timedelta(days=365)],
        ).fetchall()
    )
    chosen = rng.choice(len(buyers), size=min(count, len(buyers)), replace=False)
    lines = [
        "order_id,customer_id,ordered_on,amount,currency,product_line,is_credit_note,contract_id"
    ]
    for i, index in enumerate(sorted(chosen)):
        amount, currency, line = recent[rng.integers(len(recent))]
        lines.append(
            f"O{day:%Y%m%d}{i + 1:07d},{buyers[index]},{day},{amount},{currency},{line},false,"
        )
    write_drop(landing / "orders" / f"{day}.csv", lines)

    managers = con.execute(
        f"select customer_id, arg_max(manager_id, occurred_at) from {interactions} "
        "group by customer_id order by customer_id"
    ).fetchall()
    customers = [
        row[0]
        for row in con.execute(
            f"select customer_id from read_csv_auto('{landing}/customers/*.csv', header = true) "
            "order by customer_id"
        ).fetchall()
    ]
    manager_of = dict(managers)
    touched = rng.choice(
        len(customers), size=max(1, round(INTERACTION_SHARE * len(customers))), replace=False
    )
    lines = ["interaction_id,customer_id,occurred_at,channel,kind,manager_id"]
    for i, index in enumerate(sorted(touched)):
        customer = customers[index]
        at = dt.datetime.combine(day, dt.time()) + dt.timedelta(seconds=int(rng.integers(86400)))
        channel = INTERACTION_CHANNELS[rng.integers(len(INTERACTION_CHANNELS))]
        kind = INTERACTION_KINDS[rng.integers(len(INTERACTION_KINDS))]
        lines.append(
            f"I{day:%Y%m%d}{i + 1:07d},{customer},{at:%Y-%m-%d %H:%M:%S},{channel},{kind},"
            f"{manager_of.get(customer) or ''}"
        )
    write_drop(landing / "interactions" / f"{day}.csv", lines)
    con.close()
    return {"orders": len(chosen), "interactions": len(touched)}


def write_drop(path: Path, lines: list[str]) -> None:
    """Write a drop file under a temporary name first, as the contract asks of exporters."""
    part = path.with_name(path.name + ".part")
    part.write_text("\n".join(lines) + "\n", encoding="utf-8")
    part.rename(path)


# ---------------------------------------------------------------------------------------------
# Memory


def tree_rss_bytes(root: int) -> int:
    """Resident memory of `root` and all its descendants, from /proc (0 where unreadable)."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        ppid = int(stat[stat.rfind(")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    total, stack = 0, [root]
    page = os.sysconf("SC_PAGE_SIZE")
    while stack:
        pid = stack.pop()
        with contextlib.suppress(OSError, IndexError, ValueError):  # a process that ended
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * page
        stack.extend(children.get(pid, []))
    return total


class TreeSampler:
    """Samples the process tree's resident memory in a background thread; keeps the peak and
    every sample (epoch seconds, bytes), for the peak of each step (`peak_between`)."""

    def __init__(self, root: int) -> None:
        self.root = root
        self.peak = 0
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            rss = tree_rss_bytes(self.root)
            self.samples.append((time.time(), rss))
            self.peak = max(self.peak, rss)
            self._stop.wait(SAMPLE_SECONDS)

    def peak_between(self, start: float, end: float) -> int:
        """The largest sample taken from `start` to `end` (epoch seconds), widened by one
        sampling interval each side so that a step shorter than it still gets the samples
        around it; 0 without any."""
        low, high = start - SAMPLE_SECONDS, end + SAMPLE_SECONDS
        return max((rss for at, rss in self.samples if low <= at <= high), default=0)

    def __enter__(self) -> TreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def maxrss_mib(who: int) -> float:
    """ru_maxrss (KiB on Linux) in MiB."""
    return resource.getrusage(who).ru_maxrss / 1024


def cpu_seconds() -> float:
    """User + system CPU time of this process and its waited-for children: less sensitive
    than wall time to other load on a shared machine."""
    usages = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return sum(usage.ru_utime + usage.ru_stime for usage in usages)


# ---------------------------------------------------------------------------------------------
# Workers (each run in its own subprocess, so that peak memory is per run)


def phase_of(step_key: str, materializes: bool = True) -> str:
    """The phase a Dagster step belongs to: ingestion, dbt build, one per Python asset step
    (churn, CLV, indices...), asset checks (steps that only evaluate checks), publish, report."""
    if step_key.startswith("raw"):
        return "ingestion"
    if "dbt" in step_key:
        return "dbt build"
    if step_key.startswith("published_warehouse"):
        return "publish"
    if step_key.startswith("loyalty_report"):
        return "report"
    if not materializes:
        return "asset checks"
    return f"python: {step_key.removeprefix('analytics__')}"


def run_results(target_root: Path) -> dict[str, Any]:
    """The newest run_results.json under target_root (dagster-dbt writes one folder per
    invocation), or {} when dbt did not run."""
    results = sorted(target_root.glob("*/run_results.json"), key=lambda p: p.stat().st_mtime)
    return json.loads(results[-1].read_text()) if results else {}


def materializations(manifest: Path) -> dict[str, str]:
    """unique_id -> materialization (table, view, incremental, seed, test...) of every node."""
    if not manifest.exists():
        return {}
    nodes = json.loads(manifest.read_text())["nodes"]
    return {
        uid: node["config"].get("materialized") or node["resource_type"]
        for uid, node in nodes.items()
    }


def relation_key(relation_name: str | None) -> str | None:
    """'"warehouse"."main"."fct_orders"' -> 'main.fct_orders' (the key of table_counts)."""
    if not relation_name:
        return None
    parts = [part.strip('"') for part in relation_name.split('"."')]
    return ".".join(parts[-2:]) if len(parts) >= 2 else None


def dbt_nodes(
    results: dict[str, Any],
    materialized: dict[str, str],
    before: dict[str, int],
    after: dict[str, int],
    full_refresh: bool,
    rewritten: dict[str, int] | None = None,
) -> list[dict[str, Any]]:
    """One row per dbt node of a run: its time, status and the rows it wrote.

    dbt-duckdb reports no rows_affected for models, so rows come from the warehouse: a table
    or seed wrote every row it holds after the run, a view none; an incremental model wrote
    every row on a full refresh, and on an incremental run the rows its window rewrote where
    it is stored by period (`rewritten`, by relation: `rewritten_rows`), else at least the
    rows it added (after - before, `rows_net`: rows it rewrote in place are not seen)."""
    rewritten = rewritten or {}
    nodes = []
    for row in results.get("results", []):
        uid = row["unique_id"]
        kind = materialized.get(uid, uid.split(".")[0])
        relation = relation_key(row.get("relation_name"))
        rows_after = after.get(relation) if relation else None
        net = False
        if rows_after is None or kind in ("view", "ephemeral", "test", "unit_test"):
            written = 0
        elif kind == "incremental" and not full_refresh and relation in rewritten:
            written = rewritten[relation]
        elif kind == "incremental" and not full_refresh:
            written, net = max(rows_after - before.get(relation, 0), 0), True
        else:
            written = rows_after
        nodes.append(
            {
                "node": uid.split(".", 2)[-1],
                "resource_type": uid.split(".")[0],
                "materialized": kind,
                "status": row["status"],
                "seconds": round(row["execution_time"], 3),
                "rows_written": written,
                "rows_net": net,
                "rows_in_relation": rows_after,
            }
        )
    nodes.sort(key=lambda node: node["seconds"], reverse=True)
    return nodes


WINDOW_SUFFIX = "__window"  # a model stored by period keeps its window beside it


def rewritten_rows_sql(models: list[str]) -> str:
    """dbt SQL counting, for each model stored by period, the rows its last run rewrote: those
    of its window's periods and slices, and its rows rewritten in full (the rows its run
    selected and its data tests read: select_rewritten_rows, macros/rewrite_window.sql)."""
    counts = []
    for model in models:
        relation = f"ref('{model}')"
        rewritten = (
            f"select_rewritten_rows({relation}, rows_rewritten_in_full('{model}'), "
            f"rewrite_window_relation({relation}))"
        )
        counts.append(
            f"select '{model}' as model_name, count(*) as rows_rewritten "
            f"from ({{{{ {rewritten} }}}}) as stored"
        )
    return "\nunion all\n".join(counts)


def rewritten_rows(after: dict[str, int], manifest_dir: Path, work: Path) -> dict[str, int]:
    """Rows rewritten by the last run of every model stored by period (one with a
    `<model>__window` table), by "schema.table"; run after a daily run, outside its timed
    span, by `dbt show` on a copy of the parsed target folder (partial parse)."""
    windows = [key for key in after if key.endswith(WINDOW_SUFFIX)]
    if not windows:
        return {}
    models = {key.split(".", 1)[1].removesuffix(WINDOW_SUFFIX): key for key in windows}
    target = work / "rewritten-target"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(manifest_dir, target)
    dbt = Path(sys.executable).parent / "dbt"
    shown = subprocess.run(
        [str(dbt), "--quiet", "show", "--target-path", str(target), "--output", "json"]
        + ["--limit", "-1", "--inline", rewritten_rows_sql(sorted(models))],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    rows = json.loads(shown.stdout[shown.stdout.index("{") :])["show"]
    return {
        models[row["model_name"]].removesuffix(WINDOW_SUFFIX): int(row["rows_rewritten"])
        for row in rows
    }


def table_counts(database: Path) -> dict[str, int]:
    """Rows of every table of a DuckDB file, by "schema.table" ({} when there is no file).
    Run before and after a job, outside its timed span."""
    import duckdb

    if not database.exists():
        return {}
    con = duckdb.connect(str(database))
    try:
        tables = con.execute(
            "select schema_name, table_name from duckdb_tables() "
            "where database_name = current_database() and not temporary"
        ).fetchall()
        return {
            f"{schema}.{table}": con.execute(
                f'select count(*) from "{schema}"."{table}"'
            ).fetchall()[0][0]
            for schema, table in tables
        }
    finally:
        con.close()


def published_rows(publish_dir: Path) -> int:
    """Rows the current release wrote (0 when nothing is published): of every table it
    wrote, not linked from the last release; of a table published by part, of the parts it
    wrote."""
    from orchestration.publish import rows_written  # duckdb: not in the parent's imports

    manifest = publish_dir / "manifest.json"
    if not manifest.exists():
        return 0
    return rows_written(json.loads(manifest.read_text()))


def step_rows(
    materialized: dict[str, list[tuple[list[str], dict[str, Any]]]],
    nodes: list[dict[str, Any]],
    before: dict[str, int],
    after: dict[str, int],
    published: int,
    phases: dict[str, str],
) -> dict[str, int]:
    """Rows written by each Dagster step.

    - ingestion: the rows the loaded files added (their `rows_accepted` + `rows_quarantined`);
    - the dbt step: the sum of its nodes' `rows_written` (see `dbt_nodes`);
    - a Python asset writing `schema.table`: the rows of that table after the run (each
      asset replaces its tables); another table (the load ledger): the rows it gained;
    - publish: the rows of every published table (written once into bi.duckdb and once
      into Parquet);
    - the report and asset checks: none.
    """
    rows: dict[str, int] = {}
    for step, assets in materialized.items():
        if phases[step] == "dbt build":
            rows[step] = sum(node["rows_written"] for node in nodes)
            continue
        if phases[step] == "publish":
            rows[step] = published
            continue
        total = 0
        for key, metadata in assets:
            if "rows_accepted" in metadata:
                total += int(metadata["rows_accepted"]) + int(metadata.get("rows_quarantined", 0))
            elif len(key) == 2 and ".".join(key) in after:
                table = ".".join(key)
                grows = key[0].startswith("raw")
                total += after[table] - before.get(table, 0) if grows else after[table]
        rows[step] = total
    return rows


def phase_totals(values: dict[str, float | int], phases: dict[str, str]) -> dict[str, float | int]:
    """Per-step values summed by phase (in the order of `phases`: the steps' start order)."""
    totals: dict[str, float | int] = {}
    for step, phase in phases.items():
        if step in values:
            totals[phase] = totals.get(phase, 0) + values[step]
    return totals


def phase_peaks(peaks: dict[str, float], phases: dict[str, str]) -> dict[str, float]:
    """Per-step peaks of the process tree's memory, the largest of each phase."""
    totals: dict[str, float] = {}
    for step, phase in phases.items():
        if step in peaks:
            totals[phase] = max(totals.get(phase, 0.0), peaks[step])
    return totals


def bench_line(message: str) -> None:
    """A progress line in the worker's log; the parent echoes lines starting with `bench:`."""
    print(f"bench: {message}", file=sys.stderr, flush=True)


def worker_refresh(out: Path) -> None:
    """Run the job `BENCH_JOB` in this process (environment set by the parent), write timings,
    rows written per step and phase, every dbt node and the process tree's peak memory."""
    database = Path(os.environ["WH_DUCKDB_PATH"])
    job_name = os.environ.get("BENCH_JOB", "full_refresh")
    count_start = time.perf_counter()
    before = table_counts(database)
    counting_s = time.perf_counter() - count_start
    bench_line(f"{len(before)} tables before the run ({counting_s:.1f} s to count)")
    start = time.perf_counter()
    with TreeSampler(os.getpid()) as sampler:
        from dagster import DagsterEventType, DagsterInstance
        from dagster_dbt import DbtProject

        import orchestration.project

        # The definitions read the manifest the parent parsed into its own target folder,
        # not the project's target/, which other people's dbt runs rewrite.
        orchestration.project.dbt_project = DbtProject(
            project_dir=ROOT,
            profiles_dir=ROOT,
            target=os.environ.get("WH_DBT_TARGET", "dev"),
            target_path=Path(os.environ["BENCH_MANIFEST_DIR"]),
        )
        from orchestration.definitions import build_definitions

        defs = build_definitions(str(database))
        job = defs.resolve_job_def(job_name)
        loaded = time.perf_counter()
        bench_line(f"definitions loaded in {loaded - start:.1f} s; running {job_name}")
        instance = DagsterInstance.ephemeral()
        result = job.execute_in_process(instance=instance, raise_on_error=False)
        steps: dict[str, dict[str, float | str]] = {}
        assets: dict[str, list[tuple[list[str], dict[str, Any]]]] = {}
        for record in instance.all_logs(result.run_id):
            event = record.dagster_event
            if event is None or event.step_key is None:
                continue
            step = steps.setdefault(event.step_key, {})
            if event.event_type == DagsterEventType.STEP_START:
                step["start"] = record.timestamp
            elif event.event_type in (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE):
                step["end"] = record.timestamp
                step["status"] = event.event_type_value
            elif event.event_type == DagsterEventType.ASSET_MATERIALIZATION:
                materialization = event.step_materialization_data.materialization
                metadata = {k: getattr(v, "value", v) for k, v in materialization.metadata.items()}
                assets.setdefault(event.step_key, []).append(
                    (list(materialization.asset_key.path), metadata)
                )
    wall = time.perf_counter() - start
    count_start = time.perf_counter()
    after = table_counts(database)
    counting_s += time.perf_counter() - count_start
    durations = {key: step["end"] - step["start"] for key, step in steps.items() if "end" in step}
    step_phases = {
        key: phase_of(key, bool(assets.get(key)))
        for key in sorted(durations, key=lambda key: steps[key]["start"])
    }
    phases: dict[str, float] = {"startup (imports, definitions)": loaded - start}
    phases.update(phase_totals(durations, step_phases))
    phases["other (Dagster overhead)"] = wall - sum(phases.values())
    full_refresh = job_name == "full_refresh"
    rewritten = {}
    if not full_refresh:
        count_start = time.perf_counter()
        rewritten = rewritten_rows(after, Path(os.environ["BENCH_MANIFEST_DIR"]), database.parent)
        counting_s += time.perf_counter() - count_start
        bench_line(f"rows rewritten by the models stored by period: {rewritten}")
    nodes = dbt_nodes(
        run_results(Path(os.environ["DBT_TARGET_PATH"])),
        materializations(Path(os.environ["BENCH_MANIFEST_DIR"]) / "manifest.json"),
        before,
        after,
        full_refresh=full_refresh,
        rewritten=rewritten,
    )
    rows = step_rows(
        {key: assets.get(key, []) for key in durations},
        nodes,
        before,
        after,
        published_rows(Path(os.environ["WH_PUBLISH_DIR"])),
        step_phases,
    )
    step_peaks = {
        key: sampler.peak_between(steps[key]["start"], steps[key]["end"]) / MIB
        for key in step_phases
    }
    by_type: dict[str, float] = {}
    for node in nodes:
        by_type[node["resource_type"]] = by_type.get(node["resource_type"], 0.0) + node["seconds"]
    report = {
        "job": job_name,
        "success": result.success,
        "wall_s": wall,
        "phases_s": phases,
        "phase_rows": phase_totals(rows, step_phases),
        "step_phases": step_phases,
        "steps_s": durations,
        "step_rows": rows,
        "failed_steps": [k for k, s in steps.items() if s.get("status") == "STEP_FAILURE"],
        "skipped_steps": [k for k, s in steps.items() if "start" not in s],
        "rss_self_mib": maxrss_mib(resource.RUSAGE_SELF),
        "rss_largest_child_mib": maxrss_mib(resource.RUSAGE_CHILDREN),
        "tree_peak_mib": sampler.peak / MIB,
        "step_peak_mib": step_peaks,
        "phase_peak_mib": phase_peaks(step_peaks, step_phases),
        "cpu_s": cpu_seconds(),
        "row_counting_s": counting_s,
        "tables_after": after,
        "dbt": {
            "by_type_s": by_type,
            "failed": [n["node"] for n in nodes if n["status"] in ("error", "fail")],
            "nodes": nodes,
        },
    }
    out.write_text(json.dumps(report, indent=1, default=str))


def worker_floor(out: Path) -> None:
    """Run floor.sql into a fresh DuckDB file (environment set by the parent)."""
    import duckdb

    start = time.perf_counter()
    with TreeSampler(os.getpid()) as sampler:
        config = {
            "memory_limit": os.environ["WH_DUCKDB_MEMORY_LIMIT"],
            "threads": int(os.environ["WH_DUCKDB_THREADS"]),
            "temp_directory": os.environ["WH_DUCKDB_TEMP_DIR"],
        }
        con = duckdb.connect(os.environ["BENCH_FLOOR_DB"], config=config)
        con.execute("set enable_progress_bar = false")
        con.execute("set variable landing_dir = ?", [os.environ["WH_LANDING_DIR"]])
        con.execute("set variable as_of = cast(? as date)", [os.environ["WH_AS_OF"]])
        con.execute(FLOOR_SQL.read_text()).fetchall()
        con.execute("checkpoint")
        floor_done = time.perf_counter()
        copied = copy_published(con, Path(os.environ["WH_PUBLISH_DIR"]))
        con.close()
    end = time.perf_counter()
    out.write_text(
        json.dumps(
            {
                "wall_s": floor_done - start,
                "copy_s": end - floor_done,
                "fair_wall_s": end - start,
                "copied_tables": len(copied),
                "copied_rows": sum(copied.values()),
                "copied": copied,
                "rss_self_mib": maxrss_mib(resource.RUSAGE_SELF),
                "tree_peak_mib": sampler.peak / MIB,
                "cpu_s": cpu_seconds(),
            }
        )
    )


def copy_published(con: duckdb.DuckDBPyConnection, publish_dir: Path) -> dict[str, int]:
    """The fair floor's second half: write every table of the current release once into the
    floor's own database: `create table fair_<schema>.<table> as select * from` each table
    the release's manifest lists, read from its bi.duckdb. Rows per table."""
    tables = json.loads((publish_dir / "manifest.json").read_text())["tables"]
    con.execute(f"attach '{publish_dir / 'bi.duckdb'}' as published (read_only)")
    copied = {}
    for name in sorted(tables):
        schema, table = name.split(".", 1)
        con.execute(f'create schema if not exists "fair_{schema}"')
        copied[name] = con.execute(  # DuckDB answers a `create table as` with its row count
            f'create or replace table "fair_{schema}"."{table}" as '
            f'select * from published."{schema}"."{table}"'
        ).fetchall()[0][0]
    con.execute("checkpoint")  # written to disk, as the published copy is
    con.execute("detach published")
    return copied


# ---------------------------------------------------------------------------------------------
# The floor check: the floor must compute the same numbers as the marts, or the ratio is moot.

FLOOR_CHECKS = {
    "loyalty_retention (company, month)": """
        select count(*) filter (where f.month_start_on is null or m.period_start_on is null
            or f.customers_at_start <> m.customers_at_start
            or f.customers_at_end <> m.customers_at_end
            or f.customers_new <> m.customers_acquired
            or f.customers_lost <> m.customers_lost), count(*)
        from (select * from {retention} where period_grain = 'month'
              and slice_type = 'company') as m
        full join floor_retention_month as f on f.month_start_on = m.period_start_on
    """,
    "revenue by month (fct_orders)": """
        select count(*) filter (where f.month_start_on is null or m.month_start_on is null
            or abs(f.revenue_cny - m.revenue_cny) > 0.01 or f.invoices <> m.invoices), count(*)
        from (select date_trunc('month', ordered_on)::date as month_start_on,
                     sum(amount_cny) as revenue_cny,
                     count(*) filter (where not is_credit_note) as invoices
              from {orders} group by 1) as m
        full join floor_revenue_month as f using (month_start_on)
    """,
    "customer_clv_inputs": """
        select count(*) filter (where f.customer_id is null or m.customer_id is null
            or f.frequency_x <> m.frequency_x
            or abs(f.recency_t_x - m.recency_t_x) > 1e-9 or abs(f.age_t - m.age_t) > 1e-9
            or abs(coalesce(f.mean_repeat_spend_cny, 0) - coalesce(m.mean_repeat_spend_cny, 0))
               > 1e-6), count(*)
        from {clv} as m full join floor_clv_inputs as f using (customer_id)
    """,
    "customer_value (R, F, M)": """
        select count(*) filter (where f.customer_id is null or m.customer_id is null
            or f.invoices <> m.invoices or f.recency_days is distinct from m.recency_days
            or f.r_score is distinct from m.r_score or f.f_score is distinct from m.f_score
            or f.m_score is distinct from m.m_score), count(*)
        from {value} as m full join floor_customer_value as f using (customer_id)
    """,
}
CHECK_TABLES = {
    "retention": "loyalty_retention",
    "orders": "fct_orders",
    "clv": "customer_clv_inputs",
    "value": "customer_value",
}


def check_floor(warehouse: Path, floor_db: Path) -> dict[str, list[int] | str]:
    """Mismatching rows and rows compared, per headline mart, floor against warehouse."""
    import duckdb

    con = duckdb.connect(str(floor_db), read_only=True)
    con.execute(f"attach '{warehouse}' as wh (read_only)")
    names = {}
    for key, table in CHECK_TABLES.items():
        found = con.execute(
            "select schema_name from duckdb_tables() where database_name = 'wh' "
            "and table_name = ? order by schema_name <> 'main'",
            [table],
        ).fetchall()
        names[key] = f'wh."{found[0][0]}"."{table}"' if found else None
    results: dict[str, list[int] | str] = {}
    for label, sql in FLOOR_CHECKS.items():
        if None in names.values():
            results[label] = "mart missing"
            continue
        try:
            results[label] = list(con.execute(sql.format(**names)).fetchall()[0])
        except duckdb.Error as error:
            results[label] = f"error: {error}"
    con.close()
    return results


# ---------------------------------------------------------------------------------------------
# The parent


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


STEP_EVENT = re.compile(
    r" - (\S+) - (STEP_START|STEP_SUCCESS|STEP_FAILURE|ASSET_MATERIALIZATION"
    r"|ASSET_CHECK_EVALUATION) - "
)
HEARTBEAT_SECONDS = 60
LONG_STEP_SECONDS = 5


class ProgressFilter:
    """Which lines of a worker's log to echo: the worker's own `bench:` lines, the start of
    each phase, the end of every step that took LONG_STEP_SECONDS or more, failed steps; it
    counts the assets materialized and checks evaluated (dbt's models and tests) for the
    heartbeat (`status`)."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.phase = ""
        self.step = ""
        self.started: dict[str, float] = {}
        self.assets = self.checks = 0

    def status(self, now: float) -> str:
        """What the worker is doing: its current step, for how long, with what done so far."""
        if not self.step:
            return "start-up"
        return (
            f"in {self.step} for {now - self.started[self.step]:.0f} s "
            f"({self.assets} assets materialized, {self.checks} checks evaluated)"
        )

    def __call__(self, line: str, now: float) -> str | None:
        if line.startswith("bench: "):
            return f"{self.label}: {line[len('bench: ') :].rstrip()}"
        match = STEP_EVENT.search(line)
        if not match:
            return None
        step, event = match.groups()
        if event == "ASSET_MATERIALIZATION":
            self.assets += 1
            return None
        if event == "ASSET_CHECK_EVALUATION":
            self.checks += 1
            return None
        if event == "STEP_START":
            self.started[step] = now
            self.step, self.assets, self.checks = step, 0, 0
            if phase_of(step) != self.phase:
                self.phase = phase_of(step)
                return f"{self.label}: {self.phase} started ({step})"
            return None
        seconds = now - self.started.get(step, now)
        if event == "STEP_FAILURE":
            return f"{self.label}: step {step} FAILED after {seconds:.0f} s"
        if seconds >= LONG_STEP_SECONDS:
            return f"{self.label}: step {step} done in {seconds:.0f} s"
        return None


def run_worker(
    kind: str, env: dict[str, str], out: Path, log: Path, label: str = ""
) -> dict[str, Any]:
    """Run a worker subprocess; return its report plus the wall time seen from outside. While
    it runs, echo its progress (steps started and done) and a heartbeat every minute."""
    before = load()
    start = time.perf_counter()
    label = label or kind
    with log.open("w") as fh:
        worker = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.refresh", "--worker", kind, "--result", str(out)],
            cwd=ROOT,
            env=env,
            stdout=fh,
            stderr=subprocess.STDOUT,
        )
        beat, echo = time.perf_counter(), ProgressFilter(label)
        with log.open() as reader:
            pending = ""
            while True:
                code = worker.poll()
                *lines, pending = (pending + reader.read()).split("\n")
                for line in lines:
                    message = echo(line, time.perf_counter())
                    if message:
                        progress(message)
                if code is not None:
                    break
                if time.perf_counter() - beat >= HEARTBEAT_SECONDS:
                    beat = time.perf_counter()
                    progress(f"{label}: {beat - start:.0f} s, {echo.status(beat)} (load {load()})")
                time.sleep(1)
    outside = time.perf_counter() - start
    if code != 0 or not out.exists():
        raise RuntimeError(f"{kind} worker failed ({code}); see {log}")
    report = json.loads(out.read_text())
    measured = {"process_s": outside, "load_before": before, "load_after": load()}
    out.with_suffix(".outside.json").write_text(json.dumps(measured))
    report.update(measured)
    return report


def parse_manifest(env: dict[str, str], target: Path) -> None:
    """`dbt parse` into our own target folder (the definitions need a manifest)."""
    dbt = Path(sys.executable).parent / "dbt"
    subprocess.run(
        [str(dbt), "parse", "--quiet", "--target-path", str(target)],
        cwd=ROOT,
        env=env,
        check=True,
    )


def bench_size(customers: int, args: argparse.Namespace, base_env: dict[str, str]) -> dict:
    folder = dataset(args.cache, customers)
    rows = json.loads((folder / "rows.json").read_text())
    work = args.work / f"customers-{customers}"
    resume = args.resume and (work / "full.json").exists() and not (work / "appended").exists()
    if not resume:
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        link_landing(folder / "landing", work / "landing")
        (work / "dagster_home").mkdir()
    landing = work / "landing"
    day = drop_date(landing)
    env = {
        **base_env,
        "WH_DUCKDB_PATH": str(work / "warehouse.duckdb"),
        "WH_LANDING_DIR": str(landing),
        "WH_AS_OF": day.isoformat(),
        "WH_PUBLISH_DIR": str(work / "published"),
        "WH_REPORT_DIR": str(work / "reports"),
        "DBT_TARGET_PATH": str(work / "target"),
        "DBT_LOG_PATH": str(work / "logs"),
        "DAGSTER_HOME": str(work / "dagster_home"),
        "BENCH_FLOOR_DB": str(work / "floor.duckdb"),
    }
    result: dict[str, Any] = {
        "customers": customers,
        "rows": rows,
        "as_of": day.isoformat(),
        "duckdb_memory_limits": {
            "dbt": env["WH_DUCKDB_MEMORY_LIMIT"],
            "dagster": env["WH_DAGSTER_DUCKDB_MEMORY_LIMIT"],
        },
    }
    label = f"{customers:,}"

    if resume:  # the full refresh of an interrupted run, before the day was appended
        full = json.loads((work / "full.json").read_text())
        full.update(json.loads((work / "full.outside.json").read_text()))
        progress(f"{label}: reusing the full refresh in {work}")
    else:
        progress(f"{label}: full refresh (load {load()})")
        full = run_worker("refresh", env, work / "full.json", work / "full.log", f"{label} full")
    result["full"] = full
    progress(f"{label}: full refresh {full['wall_s']:.1f} s, success={full['success']}")

    progress(f"{label}: floor and fair floor (load {load()})")
    floor_env = {
        **env,
        "WH_LANDING_DIR": str(folder / "landing"),
        "WH_DUCKDB_MEMORY_LIMIT": args.floor_memory_limit or args.memory_limit,
    }
    floor = run_worker(
        "floor", floor_env, work / "floor.json", work / "floor.log", f"{label} floor"
    )
    result["floor"] = floor
    progress(
        f"{label}: floor {floor['wall_s']:.1f} s, + writing {floor['copied_tables']} published "
        f"tables ({floor['copied_rows']:,} rows) {floor['copy_s']:.1f} s"
    )
    result["floor_check"] = check_floor(work / "warehouse.duckdb", work / "floor.duckdb")
    for check, outcome in result["floor_check"].items():
        progress(f"  floor check {check}: {outcome} (mismatching rows, rows)")

    if not args.skip_incremental:
        next_day = day + dt.timedelta(days=1)
        result["appended"] = append_day(landing, next_day)
        (work / "appended").touch()
        progress(f"{label}: appended {next_day}: {result['appended']}")
        daily_env = {**env, "WH_AS_OF": next_day.isoformat(), "BENCH_JOB": "incremental_refresh"}
        progress(f"{label}: daily run, incremental (load {load()})")
        daily = run_worker(
            "refresh",
            daily_env,
            work / "incremental.json",
            work / "incremental.log",
            f"{label} daily",
        )
        result["incremental"] = daily
        progress(f"{label}: daily run {daily['wall_s']:.1f} s, success={daily['success']}")
    write_result(args.out, result)
    return result


RUNS = (("full", "full"), ("incremental", "daily"))
NODE_WIDTH = 64  # printed dbt node names (the CSV has them whole)
NODE_COLUMNS = [
    "node", "resource_type", "materialized", "status", "seconds", "rows_written", "rows_net",
    "rows_in_relation",
]  # fmt: skip


def write_result(out: Path, result: dict[str, Any]) -> None:
    """result-<customers>.json and every dbt node of each run as
    dbt-nodes-<customers>-<full|daily>.csv in `out`."""
    out.mkdir(parents=True, exist_ok=True)
    n = result["customers"]
    (out / f"result-{n}.json").write_text(json.dumps(result, indent=1))
    for run, name in RUNS:
        nodes = (result.get(run) or {}).get("dbt", {}).get("nodes")
        if nodes is None:
            continue
        with (out / f"dbt-nodes-{n}-{name}.csv").open("w", newline="") as fh:
            writer = csv.DictWriter(fh, NODE_COLUMNS, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(nodes)


def ratio(numerator: float, denominator: float | None) -> str:
    return f"{numerator / denominator:.1f}×" if denominator else "–"


def summary_rows(results: list[dict]) -> list[list[str]]:
    rows = []
    for r in results:
        full, floor, daily = r["full"], r["floor"], r.get("incremental")  # None: skipped
        fair = floor.get("fair_wall_s")
        ok = full["success"] and (daily or full)["success"]
        checks = r.get("floor_check", {}).values()
        equal = sum(isinstance(c, list) and c[0] == 0 for c in checks)
        rows.append(
            [
                f"{r['customers']:,}",
                f"{r['rows']['orders']:,}",
                f"{full['wall_s']:.1f}",
                f"{floor['wall_s']:.1f}",
                f"{fair:.1f}" if fair else "–",
                ratio(full["wall_s"], floor["wall_s"]),
                ratio(full["wall_s"], fair),
                f"{daily['wall_s']:.1f}" if daily else "–",
                f"{100 * daily['wall_s'] / full['wall_s']:.0f} %" if daily else "–",
                f"{full['tree_peak_mib']:,.0f}",
                f"{daily['tree_peak_mib']:,.0f}" if daily else "–",
                f"{floor['tree_peak_mib']:,.0f}",
                f"{equal} of {len(checks)}",
                "yes" if ok else "NO",
            ]
        )
    return rows


SUMMARY_HEADER = [
    "customers",
    "orders",
    "full s",
    "headline floor s",
    "fair floor s",
    "full / headline floor",
    "full / fair floor",
    "daily s",
    "daily / full",
    "full peak MiB",
    "daily peak MiB",
    "floor peak MiB",
    "floor = marts",
    "runs ok",
]


def phase_rows(results: list[dict]) -> tuple[list[str], list[list[str]]]:
    """Seconds, rows written and the process tree's peak memory per phase, full and daily
    run, per size."""
    phases: list[str] = []
    for r in results:
        for run, _ in RUNS:
            phases += [p for p in (r.get(run) or {}).get("phases_s", {}) if p not in phases]
    runs = [(r, run, name) for r in results for run, name in RUNS if r.get(run)]
    header = ["phase"]
    for r, _, name in runs:
        header += [
            f"{r['customers']:,} {name} s",
            f"{r['customers']:,} {name} rows",
            f"{r['customers']:,} {name} peak MiB",
        ]
    rows = []
    for phase in phases:
        row = [phase]
        for r, run, _ in runs:
            seconds = r[run]["phases_s"].get(phase)
            written = r[run].get("phase_rows", {}).get(phase)
            peak = r[run].get("phase_peak_mib", {}).get(phase)  # older results: none
            row += [
                f"{seconds:.1f}" if seconds is not None else "–",
                f"{written:,}" if written is not None else "–",
                f"{peak:,.0f}" if peak is not None else "–",
            ]
        rows.append(row)
    return header, rows


def node_rows(report: dict, top: int) -> tuple[list[str], list[list[str]]]:
    """The `top` slowest dbt nodes of a run."""
    header = ["dbt node", "materialized", "s", "rows written"]
    rows = [
        [
            node["node"]
            if len(node["node"]) <= NODE_WIDTH
            else node["node"][: NODE_WIDTH - 1] + "…",
            node["materialized"],
            f"{node['seconds']:.2f}",
            f"{'≥ ' if node.get('rows_net') else ''}{node['rows_written']:,}",
        ]
        for node in report.get("dbt", {}).get("nodes", [])[:top]
    ]
    return header, rows


def table(header: list[str], rows: list[list[str]], markdown: bool) -> str:
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [max(len(x) for x in column) for column in zip(header, *rows, strict=True)]
    return "\n".join(
        "  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True))
        for row in [header, *rows]
    )


def report_text(results: list[dict], markdown: bool, top: int = 15) -> str:
    """Everything the script prints: the summary (both ratios, the daily run's share, peak
    memory), seconds and rows per phase, dbt's time by node type and its slowest nodes."""
    parts = [
        table(SUMMARY_HEADER, summary_rows(results), markdown),
        table(*phase_rows(results), markdown),
    ]
    for r in results:
        floor = r["floor"]
        if "copy_s" in floor:
            parts.append(
                f"{r['customers']:,} fair floor: floor.sql {floor['wall_s']:.1f} s + writing "
                f"{floor['copied_tables']} published tables ({floor['copied_rows']:,} rows) "
                f"{floor['copy_s']:.1f} s; load {floor['load_before']} -> {floor['load_after']}; "
                f"floor check (mismatching rows, rows): {r['floor_check']}"
            )
        for run, name in RUNS:
            report = r.get(run)
            if not report:
                continue
            dbt = report.get("dbt") or {}
            by_type = ", ".join(f"{k} {v:.1f} s" for k, v in dbt.get("by_type_s", {}).items())
            parts.append(
                f"{r['customers']:,} {name}: load {report['load_before']} -> "
                f"{report['load_after']}; peak rss: process tree "
                f"{report['tree_peak_mib']:,.0f} MiB, refresh process "
                f"{report['rss_self_mib']:,.0f} MiB, largest child "
                f"{report['rss_largest_child_mib']:,.0f} MiB; CPU {report.get('cpu_s', 0):.0f} s; "
                f"failed steps "
                f"{report['failed_steps'] or 'none'}; dbt failed {dbt.get('failed') or 'none'}\n"
                f"dbt node time by type: {by_type or 'no dbt run'}\n\n"
                + table(*node_rows(report, top), markdown)
            )
    return "\n\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--customers",
        "--sizes",
        dest="sizes",
        type=int,
        nargs="+",
        default=[10_000, 100_000],
        help="firm sizes to run, smallest first",
    )
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="data sets")
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK, help="warehouses, logs")
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="result files: result-<n>.json, dbt-nodes-<n>-<run>.csv, report.md (default: --work)",
    )
    parser.add_argument("--top", type=int, default=15, help="dbt nodes printed per run")
    parser.add_argument(
        "--memory-limit",
        default=os.environ.get("WH_DUCKDB_MEMORY_LIMIT") or Settings().duckdb_memory_limit,
        help="DuckDB memory limit of dbt (WH_DUCKDB_MEMORY_LIMIT) and of the floor",
    )
    parser.add_argument(
        "--dagster-memory-limit",
        default=os.environ.get("WH_DAGSTER_DUCKDB_MEMORY_LIMIT")
        or Settings().dagster_duckdb_memory_limit,
        help="DuckDB memory limit of the Dagster process (WH_DAGSTER_DUCKDB_MEMORY_LIMIT)",
    )
    parser.add_argument(
        "--floor-memory-limit",
        default=None,
        help="DuckDB memory limit of the floor alone (default: --memory-limit)",
    )
    parser.add_argument("--threads", default=os.environ.get("WH_DUCKDB_THREADS", "2"))
    parser.add_argument("--temp-dir", type=Path, default=None, help="DuckDB spill folder")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="reuse a size's full refresh left by an interrupted run (before its daily run)",
    )
    parser.add_argument("--skip-incremental", action="store_true", help="no daily run")
    parser.add_argument(
        "--from-results",
        action="store_true",
        help="print the tables from the result files a previous run left in --out",
    )
    parser.add_argument("--markdown", action="store_true", help="print tables as Markdown")
    parser.add_argument("--worker", choices=["refresh", "floor"], help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker == "refresh":
        worker_refresh(args.result)
        return 0
    if args.worker == "floor":
        worker_floor(args.result)
        return 0

    args.cache, args.work = args.cache.resolve(), args.work.resolve()
    args.out = (args.out or args.work).resolve()
    if args.from_results:
        results = [
            json.loads((args.out / f"result-{n}.json").read_text()) for n in sorted(args.sizes)
        ]
        print(report_text(results, args.markdown, args.top))
        return 0
    args.work.mkdir(parents=True, exist_ok=True)
    temp_dir = (args.temp_dir or args.work / "duckdb-temp").resolve()
    temp_dir.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "WH_DUCKDB_MEMORY_LIMIT": args.memory_limit,
        "WH_DAGSTER_DUCKDB_MEMORY_LIMIT": args.dagster_memory_limit,
        "WH_DUCKDB_THREADS": str(args.threads),
        "WH_DUCKDB_TEMP_DIR": str(temp_dir),
        "WH_PII_SALT": os.environ.get("WH_PII_SALT", "benchmark-salt"),
        "WH_DBT_TARGET": "dev",
        "DBT_PROFILES_DIR": str(ROOT),
        "BENCH_MANIFEST_DIR": str(args.work / "manifest"),
        "DBT_LOG_PATH": str(args.work / "manifest" / "logs"),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    env.pop("WH_DBT_VARS", None)
    progress(f"dbt parse (load {load()})")
    parse_env = {**env, "WH_DUCKDB_PATH": str(args.work / "manifest" / "parse.duckdb")}
    parse_manifest(parse_env, args.work / "manifest")
    results = [bench_size(n, args, env) for n in sorted(args.sizes)]
    text = report_text(results, args.markdown, args.top)
    (args.out / "report.md").write_text(report_text(results, True, args.top) + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
