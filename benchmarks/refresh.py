"""Time a full and a one-day incremental refresh against a hand-written SQL floor.

    .venv/bin/python -m benchmarks.refresh --sizes 10000 100000 [1000000] --cache DIR [--markdown]

For each size the script

1. generates a demo firm of that many customers (`orchestration.synthetic.generate`, 3 years,
   seed 42) into `--cache` once; later runs reuse it;
2. runs the Dagster `full_refresh` job in a fresh subprocess on a fresh DuckDB file, with the
   landing directory hard-linked from the cache and `WH_AS_OF` = the drop date, and records
   each step's time from the Dagster event log (ingestion, dbt build, each Python asset,
   publish, report), dbt's slowest nodes from its run_results.json, and peak memory;
3. runs `benchmarks/floor.sql` (the same headline marts in plain DuckDB SQL, straight from the
   CSVs) in another subprocess and checks that its numbers equal the warehouse's marts;
4. appends one more day of drop files (`append_day`: that day's orders at the recent daily
   rate, interactions for 2 % of the customers) and runs the `incremental_refresh` job on the
   same warehouse with `WH_AS_OF` moved to that day: the daily incremental refresh.

Peak memory: `ru_maxrss` of the refresh process (Dagster, in-process DuckDB for ingestion and
the Python assets) and of its largest child (the dbt subprocess), and the peak of the whole
process tree's resident memory sampled from /proc every 0.25 s (psutil is not a dependency).

DuckDB settings for dbt come from the profile (`WH_DUCKDB_MEMORY_LIMIT`, `WH_DUCKDB_THREADS`,
`WH_DUCKDB_TEMP_DIR`); `--memory-limit`, `--threads` and `--temp-dir` set them for the run
and for the floor. Everything is written under `--work` (default: a folder of the system
temp directory), never into the project's warehouse/, target/ or landing/.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

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
    """Samples the process tree's resident memory in a background thread; keeps the peak."""

    def __init__(self, root: int) -> None:
        self.root = root
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, tree_rss_bytes(self.root))
            self._stop.wait(SAMPLE_SECONDS)

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


def phase_of(step_key: str) -> str:
    """The phase a Dagster step belongs to."""
    if step_key.startswith("raw"):
        return "ingestion"
    if "dbt" in step_key:
        return "dbt build"
    if step_key.startswith("published_warehouse"):
        return "publish"
    if step_key.startswith("loyalty_report"):
        return "report"
    return f"python: {step_key}"


def dbt_slowest(target_root: Path, top: int = 12) -> dict[str, Any]:
    """dbt's own timings from the newest run_results.json under target_root: the slowest
    nodes and the total per resource type (model, test, unit_test, seed)."""
    results = sorted(target_root.glob("*/run_results.json"), key=lambda p: p.stat().st_mtime)
    if not results:
        return {}
    rows = json.loads(results[-1].read_text())["results"]
    by_type: dict[str, float] = {}
    for row in rows:
        kind = row["unique_id"].split(".")[0]
        by_type[kind] = by_type.get(kind, 0.0) + row["execution_time"]
    slowest = sorted(rows, key=lambda row: row["execution_time"], reverse=True)[:top]
    return {
        "by_type_s": by_type,
        "slowest": [
            [row["unique_id"].split(".", 2)[-1], round(row["execution_time"], 2), row["status"]]
            for row in slowest
        ],
        "failed": [row["unique_id"] for row in rows if row["status"] in ("error", "fail")],
    }


def worker_refresh(out: Path) -> None:
    """Run the job `BENCH_JOB` in this process (environment set by the parent), write timings."""
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

        defs = build_definitions(os.environ["WH_DUCKDB_PATH"])
        job = defs.resolve_job_def(os.environ.get("BENCH_JOB", "full_refresh"))
        loaded = time.perf_counter()
        instance = DagsterInstance.ephemeral()
        result = job.execute_in_process(instance=instance, raise_on_error=False)
        steps: dict[str, dict[str, float | str]] = {}
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
    wall = time.perf_counter() - start
    durations = {key: step["end"] - step["start"] for key, step in steps.items() if "end" in step}
    phases: dict[str, float] = {"startup (imports, definitions)": loaded - start}
    for key, seconds in durations.items():
        phases[phase_of(key)] = phases.get(phase_of(key), 0.0) + seconds
    phases["other (Dagster overhead)"] = wall - sum(phases.values())
    report = {
        "success": result.success,
        "wall_s": wall,
        "phases_s": phases,
        "steps_s": durations,
        "failed_steps": [k for k, s in steps.items() if s.get("status") == "STEP_FAILURE"],
        "skipped_steps": [k for k, s in steps.items() if "start" not in s],
        "rss_self_mib": maxrss_mib(resource.RUSAGE_SELF),
        "rss_largest_child_mib": maxrss_mib(resource.RUSAGE_CHILDREN),
        "tree_peak_mib": sampler.peak / MIB,
        "cpu_s": cpu_seconds(),
        "dbt": dbt_slowest(Path(os.environ["DBT_TARGET_PATH"])),
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
        con.close()
    out.write_text(
        json.dumps(
            {
                "wall_s": time.perf_counter() - start,
                "rss_self_mib": maxrss_mib(resource.RUSAGE_SELF),
                "tree_peak_mib": sampler.peak / MIB,
                "cpu_s": cpu_seconds(),
            }
        )
    )


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


def run_worker(kind: str, env: dict[str, str], out: Path, log: Path) -> dict[str, Any]:
    """Run a worker subprocess; return its report plus the wall time seen from outside."""
    before = load()
    start = time.perf_counter()
    with log.open("w") as fh:
        code = subprocess.run(
            [sys.executable, "-m", "benchmarks.refresh", "--worker", kind, "--out", str(out)],
            cwd=ROOT,
            env=env,
            stdout=fh,
            stderr=subprocess.STDOUT,
        ).returncode
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
    result: dict[str, Any] = {"customers": customers, "rows": rows, "as_of": day.isoformat()}

    if resume:  # the full refresh of an interrupted run, before the day was appended
        full = json.loads((work / "full.json").read_text())
        full.update(json.loads((work / "full.outside.json").read_text()))
        progress(f"{customers:,}: reusing the full refresh in {work}")
    else:
        progress(f"{customers:,}: full refresh (load {load()})")
        full = run_worker("refresh", env, work / "full.json", work / "full.log")
    result["full"] = full
    progress(f"{customers:,}: full refresh {full['wall_s']:.1f} s, success={full['success']}")

    progress(f"{customers:,}: floor (load {load()})")
    floor_env = {
        **env,
        "WH_LANDING_DIR": str(folder / "landing"),
        "WH_DUCKDB_MEMORY_LIMIT": args.floor_memory_limit or args.memory_limit,
    }
    result["floor"] = run_worker("floor", floor_env, work / "floor.json", work / "floor.log")
    progress(f"{customers:,}: floor {result['floor']['wall_s']:.1f} s")
    result["floor_check"] = check_floor(work / "warehouse.duckdb", work / "floor.duckdb")
    for label, outcome in result["floor_check"].items():
        progress(f"  floor check {label}: {outcome} (mismatching rows, rows)")

    if args.skip_incremental:
        (args.work / f"result-{customers}.json").write_text(json.dumps(result, indent=1))
        return result
    next_day = day + dt.timedelta(days=1)
    result["appended"] = append_day(landing, next_day)
    (work / "appended").touch()
    progress(f"{customers:,}: appended {next_day}: {result['appended']}")
    incremental_env = {**env, "WH_AS_OF": next_day.isoformat(), "BENCH_JOB": "incremental_refresh"}
    progress(f"{customers:,}: one-day incremental refresh (load {load()})")
    incremental = run_worker(
        "refresh", incremental_env, work / "incremental.json", work / "incremental.log"
    )
    result["incremental"] = incremental
    progress(
        f"{customers:,}: incremental {incremental['wall_s']:.1f} s, "
        f"success={incremental['success']}"
    )
    (args.work / f"result-{customers}.json").write_text(json.dumps(result, indent=1))
    return result


def cpu(report: dict) -> str:
    """CPU seconds of a worker, or a dash for a result file from before they were recorded."""
    return f"{report['cpu_s']:.0f}" if "cpu_s" in report else "–"


def summary_rows(results: list[dict]) -> list[list[str]]:
    rows = []
    for r in results:
        full, floor, inc = r["full"], r["floor"], r.get("incremental")  # None: skipped
        rows.append(
            [
                f"{r['customers']:,}",
                f"{r['rows']['orders']:,}",
                f"{full['wall_s']:.1f}",
                f"{floor['wall_s']:.1f}",
                f"{full['wall_s'] / floor['wall_s']:.1f}×",
                f"{inc['wall_s']:.1f}" if inc else "–",
                f"{100 * inc['wall_s'] / full['wall_s']:.0f} %" if inc else "–",
                cpu(full),
                cpu(floor),
                f"{full['tree_peak_mib']:,.0f}",
                f"{inc['tree_peak_mib']:,.0f}" if inc else "–",
                f"{floor['tree_peak_mib']:,.0f}",
                "yes" if full["success"] and (inc or full)["success"] else "NO",
            ]
        )
    return rows


SUMMARY_HEADER = [
    "customers",
    "orders",
    "full s",
    "floor s",
    "full / floor",
    "1-day incr. s",
    "incr. / full",
    "full CPU s",
    "floor CPU s",
    "full peak MiB",
    "incr. peak MiB",
    "floor peak MiB",
    "runs ok",
]


def phase_rows(results: list[dict]) -> tuple[list[str], list[list[str]]]:
    phases: list[str] = []
    for r in results:
        for run in ("full", "incremental"):
            phases += [p for p in r.get(run, {}).get("phases_s", {}) if p not in phases]
    header = ["phase"] + [f"{r['customers']:,} {run}" for r in results for run in ("full", "incr.")]
    rows = [
        [phase]
        + [
            f"{r[run]['phases_s'][phase]:.1f}"
            if phase in r.get(run, {}).get("phases_s", {})
            else "–"
            for r in results
            for run in ("full", "incremental")
        ]
        for phase in phases
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


def print_report(results: list[dict], markdown: bool) -> None:
    print(table(SUMMARY_HEADER, summary_rows(results), markdown))
    print()
    print(table(*phase_rows(results), markdown))
    for r in results:
        for run in ("full", "incremental"):
            if run not in r:
                continue
            report = r[run]
            print(
                f"\n{r['customers']:,} {run}: load {report['load_before']} -> "
                f"{report['load_after']}; rss refresh process {report['rss_self_mib']:,.0f} MiB, "
                f"largest child {report['rss_largest_child_mib']:,.0f} MiB; "
                f"failed steps {report['failed_steps'] or 'none'}"
            )
            dbt = report.get("dbt") or {}
            if dbt:
                by_type = ", ".join(f"{k} {v:.1f} s" for k, v in dbt["by_type_s"].items())
                print(f"  dbt node time by type: {by_type}")
                slowest = "; ".join(f"{name} {seconds} s" for name, seconds, _ in dbt["slowest"])
                print(f"  dbt slowest: {slowest}")
                if dbt["failed"]:
                    print(f"  dbt failed: {dbt['failed']}")
        print(
            f"{r['customers']:,} floor: load {r['floor']['load_before']} -> "
            f"{r['floor']['load_after']}"
        )
        print(f"{r['customers']:,} floor check (mismatching rows, rows): {r['floor_check']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="data sets")
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK, help="warehouses, logs")
    parser.add_argument("--memory-limit", default=os.environ.get("WH_DUCKDB_MEMORY_LIMIT", "8GB"))
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
        help="reuse a size's full refresh left by an interrupted run (before its incremental)",
    )
    parser.add_argument(
        "--skip-incremental", action="store_true", help="full refresh and floor only"
    )
    parser.add_argument(
        "--from-results",
        action="store_true",
        help="print the tables from the result files a previous run left in --work",
    )
    parser.add_argument("--markdown", action="store_true", help="print tables as Markdown")
    parser.add_argument("--worker", choices=["refresh", "floor"], help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker == "refresh":
        worker_refresh(args.out)
        return 0
    if args.worker == "floor":
        worker_floor(args.out)
        return 0

    args.cache, args.work = args.cache.resolve(), args.work.resolve()
    if args.from_results:
        results = [
            json.loads((args.work / f"result-{n}.json").read_text()) for n in sorted(args.sizes)
        ]
        print_report(results, args.markdown)
        return 0
    args.work.mkdir(parents=True, exist_ok=True)
    temp_dir = (args.temp_dir or args.work / "duckdb-temp").resolve()
    temp_dir.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "WH_DUCKDB_MEMORY_LIMIT": args.memory_limit,
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
    print_report(results, args.markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
