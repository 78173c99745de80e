"""Time a publish that writes every table against publishes that link what did not change.

    .venv/bin/python -m benchmarks.publish --warehouse warehouse/warehouse.duckdb [--repeat 3]

The warehouse is copied into a temporary folder first and never opened where it is. Each
round publishes the copy three times into an empty published folder:

1. **full**: no previous release, every table written (what every publish cost before
   tables were linked);
2. **unchanged**: the same warehouse again, every table linked from the release before;
3. **one changed**: one text value of the largest BI table changed in the copy, that
   table written and the others linked (of a table published by part, that part written).

and prints the best time of each over the rounds and its ratio to the full publish (the
baseline, measured in the same run). The dbt manifest is the project's
(`target/manifest.json`, `make parse`); a warehouse built by an older checkout may lack
tables the manifest names, which are left out, or hold a column named by a reserved word
(renamed `<column>_value` in the copy), and the script says so.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import duckdb

from orchestration.publish import bi_dbt_nodes, publish, reserved_words, rows_written
from orchestration.settings import ROOT, Settings

PHASES = ("full", "unchanged", "one changed")


def prepare(warehouse: Path, work: Path) -> tuple[Path, dict]:
    """The copy of `warehouse` to publish, and the dbt manifest trimmed to its tables."""
    source = work / "warehouse.duckdb"
    shutil.copyfile(warehouse, source)
    manifest = json.loads((ROOT / "target" / "manifest.json").read_text(encoding="utf-8"))
    with duckdb.connect(str(source)) as con:
        present = set(con.execute("select schema_name, table_name from duckdb_tables()").fetchall())
        reserved = reserved_words(con)
        for schema, table, column in con.execute(
            "select schema_name, table_name, column_name from duckdb_columns() "
            "where schema_name = 'analytics'"
        ).fetchall():
            if column.lower() in reserved:
                print(f"renamed {schema}.{table}.{column} to {column}_value (a reserved word)")
                con.execute(
                    f'alter table "{schema}"."{table}" rename column "{column}" to "{column}_value"'
                )
    left_out = [
        node["alias"]
        for node in bi_dbt_nodes(manifest)
        if (node["schema"], node["alias"]) not in present
    ]
    if left_out:
        print(f"not in this warehouse, left out: {', '.join(left_out)}")
    manifest["nodes"] = {
        key: node
        for key, node in manifest["nodes"].items()
        if (node["schema"], node["alias"]) in present
    }
    return source, manifest


def largest_table(source: Path, tables: dict[str, dict]) -> tuple[str, str]:
    """The published table with the most rows, by its name in the working warehouse."""
    name = max(tables, key=lambda name: tables[name]["rows"])
    schema, table = name.split(".", 1)
    with duckdb.connect(str(source), read_only=True) as con:
        found = con.execute(
            "select schema_name from duckdb_tables() where table_name = ? "
            "and schema_name in (?, 'main')",
            [table, schema],
        ).fetchall()
    return found[0][0], table


def change_one_row(source: Path, schema: str, table: str, round_: int) -> None:
    """Append a mark to the first text column of one row."""
    with duckdb.connect(str(source)) as con:
        (column,) = con.execute(
            "select column_name from duckdb_columns() where schema_name = ? "
            "and table_name = ? and data_type = 'VARCHAR' order by column_index limit 1",
            [schema, table],
        ).fetchone()
        con.execute(
            f'update "{schema}"."{table}" set "{column}" = "{column}" || {round_ + 1} '
            f'where rowid = (select min(rowid) from "{schema}"."{table}")'
        )


def timed_publish(source: Path, target: Path, run: str, manifest: dict, docs: dict) -> tuple:
    start = time.perf_counter()
    release = publish(
        source, target, run_id=run, as_of=None, dbt_manifest=manifest, analytics_docs=docs
    )
    return time.perf_counter() - start, release.manifest


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--warehouse", type=Path, default=Settings.from_env().duckdb_path)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    from orchestration.assets.publish import analytics_docs
    from orchestration.definitions import ANALYTICS_ASSETS, action_assets

    docs = analytics_docs([*ANALYTICS_ASSETS, action_assets])
    best = dict.fromkeys(PHASES, float("inf"))
    manifests: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="publish-bench-") as folder:
        work = Path(folder)
        source, manifest = prepare(args.warehouse, work)
        for round_ in range(args.repeat):
            target = work / f"published-{round_}"
            for phase in PHASES:
                if phase == "one changed":
                    schema, table = largest_table(source, manifests["full"]["tables"])
                    change_one_row(source, schema, table, round_)
                seconds, manifests[phase] = timed_publish(
                    source, target, f"r{round_}", manifest, docs
                )
                best[phase] = min(best[phase], seconds)
            shutil.rmtree(target)
        tables = len(manifests["full"]["tables"])
        print(f"{tables} tables, {args.warehouse}; best of {args.repeat}")
        print(
            f"{'publish':<12} {'written':>7} {'linked':>6} {'rows written':>13} "
            f"{'seconds':>8} {'/ full':>7}"
        )
        for phase in PHASES:
            written, linked = (manifests[phase][k] for k in ("tables_written", "tables_linked"))
            ratio = best[phase] / best["full"]
            rows = rows_written(manifests[phase])
            print(
                f"{phase:<12} {written:>7} {linked:>6} {rows:>13,} "
                f"{best[phase]:>8.2f} {ratio:>7.3f}"
            )
            if phase == "one changed":
                print(f"{'':<12} (changed: {schema}.{table})")


if __name__ == "__main__":
    main()
