"""Peak memory and time of the ingestion alone, table by table, on a landing directory.

    .venv/bin/python -m benchmarks.ingest_memory LANDING --work DIR \
        [--tables customers contracts orders ...] [--dagster-memory-limit 1GB] [--json OUT]

Loads the drop files of the given tables (default: every table, in load order) with
`orchestration.ingest.load_table` into a fresh DuckDB file under `--work`, through the same
connection the Dagster ingestion assets get (`DuckDBResource` with
`Settings.duckdb_config()`: `WH_DAGSTER_DUCKDB_MEMORY_LIMIT`, threads, and a spill folder
under `--work`). The landing directory is only read (the ingestion writes its scratch files
to the system temp folder), so a cached benchmark data set can be pointed at directly.

For each table it prints the seconds, the rows loaded and the peak resident memory of this
process tree while the table loaded (sampled from /proc every 0.25 s, as benchmarks/refresh.py
does), then the peak over the whole run. With only some tables, load the tables they
reference first (orders: customers and contracts), or every row is quarantined.

`--trace` also times each SQL statement and each step of the ingestion's Python (the CSV
scan, the read, the pseudonymisation) and prints those whose peak passed `--trace-min` MiB
(default 500), with the
peak of DuckDB's own memory (`duckdb_memory()`, sampled on a second cursor) beside it: what
holds the memory, DuckDB or Python.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import functools
import json
import os
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from benchmarks.refresh import MIB, TreeSampler, maxrss_mib

# Python steps of the ingestion timed with --trace (functions of orchestration.ingest).
TRACED_FUNCTIONS = ("sha256_of", "_decoded_csv", "_scan_csv", "_normalised_csv", "pseudonymise")


class Trace:
    """Spans (label, start, end in epoch seconds) of SQL statements and Python steps, and
    DuckDB's own memory sampled on a second cursor of the connection being traced."""

    def __init__(self) -> None:
        self.spans: list[tuple[str, float, float]] = []
        self.duckdb_samples: list[tuple[float, int]] = []
        self.wrapped: list[tuple[Any, str, Callable[..., Any]]] = []

    @contextlib.contextmanager
    def span(self, label: str) -> Iterator[None]:
        start = time.time()
        try:
            yield
        finally:
            self.spans.append((label, start, time.time()))
            if time.time() - start >= 1.0:  # as it goes, for a run that does not finish
                print(f"  {time.strftime('%H:%M:%S')} {time.time() - start:7.1f} s  {label}")

    def wrap(self, module: Any, name: str) -> None:
        function: Callable[..., Any] = getattr(module, name)

        @functools.wraps(function)
        def traced(*args: Any, **kwargs: Any) -> Any:
            with self.span(f"python: {name}"):
                return function(*args, **kwargs)

        self.wrapped.append((module, name, function))
        setattr(module, name, traced)

    def unwrap(self) -> None:
        while self.wrapped:
            module, name, function = self.wrapped.pop()
            setattr(module, name, function)

    @contextlib.contextmanager
    def duckdb_memory(self, con: Any) -> Iterator[None]:
        cursor, stop = con.cursor(), threading.Event()

        def sample() -> None:
            while not stop.is_set():
                with contextlib.suppress(Exception):
                    used = cursor.execute(
                        "select sum(memory_usage_bytes) from duckdb_memory()"
                    ).fetchone()[0]
                    self.duckdb_samples.append((time.time(), int(used or 0)))
                stop.wait(0.25)

        thread = threading.Thread(target=sample, daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()
            cursor.close()

    def report(self, sampler: TreeSampler, min_mib: float) -> list[dict[str, Any]]:
        """The spans whose tree peak passed `min_mib`, in order."""
        rows = []
        for label, start, end in self.spans:
            peak = sampler.peak_between(start, end) / MIB
            if peak < min_mib:
                continue
            duck = max(
                (b for at, b in self.duckdb_samples if start - 0.25 <= at <= end + 0.25),
                default=0,
            )
            rows.append(
                {"step": label, "seconds": end - start, "peak_mib": peak, "duckdb_mib": duck / MIB}
            )
        return rows


class TracedConnection:
    """A DuckDB connection whose `execute` records a span per statement."""

    def __init__(self, con: Any, trace: Trace) -> None:
        self._con, self._trace = con, trace

    def execute(self, sql: str, *args: Any, **kwargs: Any) -> TracedConnection:
        with self._trace.span("sql: " + " ".join(str(sql).split())[:100]):
            self._con.execute(sql, *args, **kwargs)
        return self

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ingest_memory")
    parser.add_argument("landing", type=Path, help="landing directory (only read)")
    parser.add_argument("--work", type=Path, required=True, help="fresh warehouse folder")
    parser.add_argument("--tables", nargs="*", help="tables to load (default: all)")
    parser.add_argument("--dagster-memory-limit", help="WH_DAGSTER_DUCKDB_MEMORY_LIMIT")
    parser.add_argument("--json", type=Path, help="write the measurements here")
    parser.add_argument("--trace", action="store_true", help="peak per statement and step")
    parser.add_argument("--trace-min", type=float, default=500.0, help="MiB; --trace shows above")
    args = parser.parse_args(argv)
    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    os.environ["WH_DUCKDB_TEMP_DIR"] = str(args.work / "spill")
    if args.dagster_memory_limit:
        os.environ["WH_DAGSTER_DUCKDB_MEMORY_LIMIT"] = args.dagster_memory_limit

    import resource

    from dagster_duckdb import DuckDBResource

    from orchestration import ingest
    from orchestration.contract import load_order
    from orchestration.settings import Settings

    trace = Trace() if args.trace else None
    if trace:
        for name in TRACED_FUNCTIONS:
            trace.wrap(ingest, name)

    settings = Settings.from_env()
    config = settings.duckdb_config()
    names = args.tables or [t.name for t in load_order()]
    order = [t.name for t in load_order() if t.name in names]
    run_date = dt.date.today()  # as the ingestion assets do
    resource_ = DuckDBResource(
        database=str(args.work / "warehouse.duckdb"), connection_config=config
    )
    report: dict[str, object] = {"config": config, "run_date": str(run_date), "tables": {}}
    print(f"config {config}; run date {run_date}", flush=True)
    start = time.perf_counter()
    with contextlib.ExitStack() as stack:
        if trace:
            stack.callback(trace.unwrap)  # the functions of `ingest` as they were
        sampler = stack.enter_context(TreeSampler(os.getpid()))
        for name in order:
            began, began_at = time.perf_counter(), time.time()
            with resource_.get_connection() as con:
                if trace:
                    with trace.duckdb_memory(con):
                        results = ingest.load_table(
                            TracedConnection(con, trace), args.landing, name, "bench", run_date
                        )
                else:
                    results = ingest.load_table(con, args.landing, name, "bench", run_date)
            seconds = time.perf_counter() - began
            peak = sampler.peak_between(began_at, time.time()) / MIB
            rows = sum(r.rows_in for r in results)
            statuses = sorted({r.status for r in results})
            report["tables"][name] = {  # type: ignore[index]
                "seconds": seconds,
                "rows_in": rows,
                "rows_quarantined": sum(r.rows_quarantined for r in results),
                "statuses": statuses,
                "peak_mib": peak,
            }
            print(
                f"{name:22} {seconds:8.1f} s {rows:>12,} rows  peak {peak:8,.0f} MiB  "
                f"{','.join(statuses)}",
                flush=True,
            )
    report["seconds"] = time.perf_counter() - start
    report["tree_peak_mib"] = sampler.peak / MIB
    report["ru_maxrss_mib"] = maxrss_mib(resource.RUSAGE_SELF)
    print(
        f"total {report['seconds']:.1f} s; tree peak {report['tree_peak_mib']:,.0f} MiB; "
        f"ru_maxrss {report['ru_maxrss_mib']:,.0f} MiB",
        flush=True,
    )
    if trace:
        report["trace"] = trace.report(sampler, args.trace_min)
        for row in report["trace"]:
            print(
                f"{row['peak_mib']:8,.0f} MiB tree {row['duckdb_mib']:8,.0f} MiB duckdb "
                f"{row['seconds']:7.1f} s  {row['step']}"
            )
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
