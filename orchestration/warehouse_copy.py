"""Copy the raw tables from the DuckDB warehouse into PostgreSQL: load with DuckDB, build on
PostgreSQL.

Ingestion (validation, quarantine, the load ledger) stays DuckDB-based. To build the dbt models
on PostgreSQL (`WH_DBT_TARGET=pg`, see docs/engines.md), copy what it loaded, the schemas
`raw`, `raw_quarantine` and `raw_meta`, into the same schemas of the PostgreSQL database, then
run `dbt build`. Each table goes DuckDB -> CSV file -> `COPY ... FROM STDIN`, the fast path.

    python -m orchestration.warehouse_copy            # WH_DUCKDB_PATH -> WH_PG_* settings
    python -m orchestration.warehouse_copy --duckdb x.duckdb --pg-dsn "host=... dbname=..."

The copy replaces each table (`drop table ... cascade`, so dbt's staging views over it go too:
the next `dbt build` recreates them) inside one transaction: a failure leaves PostgreSQL as it
was. Row counts are checked table by table.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from pathlib import Path

import duckdb

RAW_SCHEMAS = ("raw", "raw_quarantine", "raw_meta")

# DuckDB type -> PostgreSQL type; DECIMAL(p, s) keeps its precision and scale.
PG_TYPES = {
    "VARCHAR": "text",
    "BOOLEAN": "boolean",
    "TINYINT": "smallint",
    "SMALLINT": "smallint",
    "INTEGER": "integer",
    "BIGINT": "bigint",
    "HUGEINT": "numeric(38, 0)",
    "FLOAT": "real",
    "DOUBLE": "double precision",
    "DATE": "date",
    "TIME": "time",
    "TIMESTAMP": "timestamp",
    "TIMESTAMP WITH TIME ZONE": "timestamptz",
    "INTERVAL": "interval",
    "UUID": "uuid",
    "JSON": "jsonb",
}
_DECIMAL = re.compile(r"DECIMAL\((\d+),\s*(\d+)\)")


def pg_type(duckdb_type: str) -> str:
    """The PostgreSQL column type for a DuckDB one; an unmapped type (lists, structs, blobs)
    is an error naming it, never a silent text column."""
    decimal = _DECIMAL.fullmatch(duckdb_type)
    if decimal:
        return f"numeric({decimal.group(1)}, {decimal.group(2)})"
    try:
        return PG_TYPES[duckdb_type]
    except KeyError:
        raise ValueError(f"no PostgreSQL type for DuckDB type {duckdb_type!r}") from None


def _ident(name: str) -> str:
    """A double-quoted SQL identifier (the same rule on DuckDB and PostgreSQL)."""
    return '"' + name.replace('"', '""') + '"'


def raw_tables(
    con: duckdb.DuckDBPyConnection, schemas: tuple[str, ...] = RAW_SCHEMAS
) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """Every base table of `schemas`: (schema, table) -> [(column, DuckDB type)]."""
    rows = con.execute(
        """
        select c.table_schema, c.table_name, c.column_name, c.data_type
        from information_schema.columns as c
        inner join information_schema.tables as t
            on c.table_catalog = t.table_catalog
            and c.table_schema = t.table_schema
            and c.table_name = t.table_name
        where c.table_catalog = current_database()
            and c.table_schema in (select unnest(?))
            and t.table_type = 'BASE TABLE'
        order by c.table_schema, c.table_name, c.ordinal_position
        """,
        [list(schemas)],
    ).fetchall()
    tables: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for schema, table, column, data_type in rows:
        tables.setdefault((schema, table), []).append((column, data_type))
    return tables


def pg_dsn_from_env() -> str:
    """A libpq connection string from the settings dbt's `pg` target reads (profiles.yml)."""
    from psycopg2.extensions import make_dsn  # dbt-postgres brings psycopg2

    return make_dsn(
        host=os.environ.get("WH_PG_HOST", "127.0.0.1"),
        port=os.environ.get("WH_PG_PORT", "5432"),
        user=os.environ.get("WH_PG_USER", "wh"),
        password=os.environ.get("WH_PG_PASSWORD", "wh"),
        dbname=os.environ.get("WH_PG_DB", "wh"),
    )


def copy_raw(
    duckdb_path: str | Path, pg_dsn: str, schemas: tuple[str, ...] = RAW_SCHEMAS
) -> dict[str, int]:
    """Copy every table of `schemas` (the raw ones) from DuckDB into the same schemas of
    PostgreSQL.

    Returns the rows copied per `schema.table`. Raises when a table's row count in
    PostgreSQL after the copy differs from DuckDB's.
    """
    import psycopg2  # dbt-postgres brings it; only this path needs it

    copied: dict[str, int] = {}
    with (
        duckdb.connect(str(duckdb_path), read_only=True) as src,
        tempfile.TemporaryDirectory(prefix="wh-copy-") as tmp,
    ):
        tables = raw_tables(src, schemas)
        if not tables:
            raise ValueError(f"{duckdb_path} holds no table in the schemas {schemas}")
        dst = psycopg2.connect(pg_dsn)
        try:
            with dst, dst.cursor() as cur:  # one transaction: committed only if all succeed
                for schema in schemas:
                    cur.execute(f"create schema if not exists {_ident(schema)}")
                for (schema, table), columns in tables.items():
                    name = f"{_ident(schema)}.{_ident(table)}"
                    cur.execute(f"drop table if exists {name} cascade")
                    cur.execute(
                        f"create table {name} ("
                        + ", ".join(f"{_ident(c)} {pg_type(t)}" for c, t in columns)
                        + ")"
                    )
                    # DuckDB writes NULL as an empty field and '' as "", which is what
                    # PostgreSQL's CSV format reads back.
                    csv_path = Path(tmp) / f"{schema}.{table}.csv"
                    src.execute(
                        f"copy (select * from {name}) to '{csv_path}' (format csv, header false)"
                    )
                    with csv_path.open("rb") as handle:
                        cur.copy_expert(f"copy {name} from stdin with (format csv)", handle)
                    csv_path.unlink()
                    expected = src.execute(f"select count(*) from {name}").fetchone()[0]
                    cur.execute(f"select count(*) from {name}")
                    actual = cur.fetchone()[0]
                    if actual != expected:
                        raise RuntimeError(
                            f"{schema}.{table}: {actual} rows in PostgreSQL, {expected} in DuckDB"
                        )
                    copied[f"{schema}.{table}"] = actual
        finally:
            dst.close()
    return copied


def main(argv: list[str] | None = None) -> int:
    from orchestration.settings import duckdb_path

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duckdb", default=str(duckdb_path()), help="the DuckDB warehouse")
    parser.add_argument(
        "--pg-dsn", default=None, help="libpq connection string (default: from WH_PG_*)"
    )
    args = parser.parse_args(argv)
    copied = copy_raw(args.duckdb, args.pg_dsn or pg_dsn_from_env())
    for name, rows in copied.items():
        print(f"{name:45} {rows:>10,}")
    print(f"{len(copied)} tables, {sum(copied.values()):,} rows copied")
    return 0


if __name__ == "__main__":
    sys.exit(main())
