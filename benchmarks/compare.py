"""Compare the published tables of two DuckDB warehouses: same rows, same values.

For a refactoring that must not change what BI reads (a model moved down a layer, a fan-out
rewritten): build the same firm with the old code and with the new, then

    python -m benchmarks.compare before.duckdb after.duckdb \
        --manifest before/target/manifest.json --manifest target/manifest.json

Every published dbt table of the manifests (`orchestration.publish.bi_dbt_nodes`: the marts
and seeds) found in the left warehouse is compared with the table of the same schema and name
in the right one: row counts, an order-free checksum, and the rows of each side missing from
the other (`EXCEPT ALL` both ways, so duplicates count). Floating-point columns are rounded to
`DECIMALS` places first: a sum over another join order may differ in the last bits. Tables
(or views) only the right warehouse holds (new marts) are listed, not compared. A column the
new build dropped on purpose is named with `--ignore-column schema.table.column` (repeat it):
the table is compared on its other columns, and the column must be gone on the right. Exit
status 1 when a table differs or is missing on the right.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb

DECIMALS = 6
FLOAT_TYPES = ("DOUBLE", "FLOAT", "REAL")


@dataclass(frozen=True)
class TableComparison:
    """One table on both sides: rows, checksum of the rounded rows, rows found on one side only."""

    schema: str
    table: str
    left_rows: int
    right_rows: int
    left_checksum: int
    right_checksum: int
    left_only: int
    right_only: int

    @property
    def is_equal(self) -> bool:
        return self.left_only == 0 and self.right_only == 0


def _columns(con: duckdb.DuckDBPyConnection, catalog: str, schema: str, table: str) -> list:
    return con.execute(
        "select column_name, data_type from duckdb_columns() "
        "where database_name = ? and schema_name = ? and table_name = ? order by column_index",
        [catalog, schema, table],
    ).fetchall()


def _rounded(catalog: str, schema: str, table: str, columns: list) -> str:
    """The table's rows with its floating-point columns rounded, in the left side's order."""
    exprs = [
        f'round("{name}", {DECIMALS}) as "{name}"' if kind in FLOAT_TYPES else f'"{name}"'
        for name, kind in columns
    ]
    return f'select {", ".join(exprs)} from "{catalog}"."{schema}"."{table}"'


def compare_table(
    con: duckdb.DuckDBPyConnection,
    schema: str,
    table: str,
    left: str = "l",
    right: str = "r",
    ignored: frozenset[str] = frozenset(),
) -> TableComparison:
    """Compare `schema.table` of the catalogs `left` and `right` attached to `con`, less the
    `ignored` columns: dropped on purpose, so on the left only."""
    columns = [c for c in _columns(con, left, schema, table) if c[0] not in ignored]
    right_names = {name for name, _ in _columns(con, right, schema, table)}
    missing = [name for name, _ in columns if name not in right_names]
    if missing or len(right_names) != len(columns):
        raise ValueError(
            f"{schema}.{table}: the columns differ ({sorted(missing)} on the left only, "
            f"{sorted(right_names - {name for name, _ in columns})} on the right only)"
        )
    sides = {side: _rounded(side, schema, table, columns) for side in (left, right)}
    names = ", ".join(f'"{name}"' for name, _ in columns)

    def summary(sql: str) -> tuple[int, int]:
        rows, checksum = con.execute(
            f"select count(*), coalesce(sum(cast(hash({names}) as hugeint)), 0) from ({sql})"
        ).fetchone()
        return int(rows), int(checksum)

    def only(a: str, b: str) -> int:
        return con.execute(f"select count(*) from ({a} except all {b})").fetchone()[0]

    (left_rows, left_sum), (right_rows, right_sum) = summary(sides[left]), summary(sides[right])
    return TableComparison(
        schema,
        table,
        left_rows,
        right_rows,
        left_sum,
        right_sum,
        only(sides[left], sides[right]),
        only(sides[right], sides[left]),
    )


def published_tables(manifest: dict) -> list[tuple[str, str]]:
    """(schema, table) of every published dbt node (marts and seeds) of a manifest."""
    from orchestration.publish import bi_dbt_nodes

    return [(node["schema"], node["alias"]) for node in bi_dbt_nodes(manifest)]


def compare_warehouses(
    left_path: Path,
    right_path: Path,
    tables: list[tuple[str, str]],
    ignored: dict[tuple[str, str], frozenset[str]] | None = None,
) -> tuple[list[TableComparison], list[str], list[str]]:
    """The comparisons of `tables` held by the left warehouse (less the `ignored` columns of
    each, by (schema, table)); the tables missing on the right; the tables held by the right
    only. A view counts as a table."""
    con = duckdb.connect()
    con.execute(f"attach '{left_path}' as l (read_only)")
    con.execute(f"attach '{right_path}' as r (read_only)")

    def present(catalog: str) -> set[tuple[str, str]]:
        return set(
            con.execute(
                "select schema_name, table_name from duckdb_tables() where database_name = ? "
                "union select schema_name, view_name from duckdb_views() where database_name = ?",
                [catalog, catalog],
            ).fetchall()
        )

    on_left, on_right = present("l"), present("r")
    compared = [t for t in tables if t in on_left and t in on_right]
    missing = [f"{s}.{t}" for s, t in tables if (s, t) in on_left and (s, t) not in on_right]
    new = [f"{s}.{t}" for s, t in tables if (s, t) in on_right and (s, t) not in on_left]
    try:
        return (
            [
                compare_table(con, s, t, ignored=(ignored or {}).get((s, t), frozenset()))
                for s, t in compared
            ],
            missing,
            new,
        )
    finally:
        con.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("left", type=Path, help="the warehouse built before (reference)")
    parser.add_argument("right", type=Path, help="the warehouse built after")
    parser.add_argument(
        "--manifest",
        type=Path,
        action="append",
        help="a dbt manifest whose published tables are compared (repeat it for the manifests "
        "of both builds, so that a table the new build dropped shows as missing); "
        "default target/manifest.json",
    )
    parser.add_argument(
        "--ignore-column",
        action="append",
        default=[],
        metavar="SCHEMA.TABLE.COLUMN",
        help="a column the new build dropped on purpose: compare the table without it",
    )
    args = parser.parse_args(argv)
    ignored: dict[tuple[str, str], frozenset[str]] = {}
    for name in args.ignore_column:
        schema, table, column = name.split(".", 2)
        ignored[(schema, table)] = ignored.get((schema, table), frozenset()) | {column}
    tables: list[tuple[str, str]] = []
    for path in args.manifest or [Path("target/manifest.json")]:
        found = published_tables(json.loads(path.read_text(encoding="utf-8")))
        tables += [table for table in found if table not in tables]
    results, missing, new = compare_warehouses(args.left, args.right, tables, ignored)
    for r in results:
        verdict = "equal" if r.is_equal else "DIFFERENT"
        print(
            f"{r.schema}.{r.table:<40} rows {r.left_rows:>9} / {r.right_rows:<9} "
            f"checksum {'same' if r.left_checksum == r.right_checksum else 'differs'}  "
            f"left only {r.left_only}  right only {r.right_only}  {verdict}"
        )
    for name in missing:
        print(f"{name:<47} MISSING on the right")
    for name in new:
        print(f"{name:<47} new on the right (not compared)")
    differing = [r for r in results if not r.is_equal]
    print(
        f"{len(results)} tables compared, {len(differing)} different, {len(missing)} missing, "
        f"{len(new)} new"
    )
    return 1 if differing or missing else 0


if __name__ == "__main__":
    sys.exit(main())
