"""Copy the raw tables from the DuckDB warehouse into PostgreSQL: load with DuckDB, build on
PostgreSQL; and the built models back, for the Python assets.

Ingestion (validation, quarantine, the load ledger) stays DuckDB-based. To build the dbt models
on PostgreSQL (`WH_DBT_TARGET=pg`, see docs/engines.md), copy what it loaded, the schemas
`raw`, `raw_quarantine` and `raw_meta`, into the same schemas of the PostgreSQL database, then
run `dbt build`. Each table goes DuckDB -> CSV file -> `COPY ... FROM STDIN`, the fast path.

    python -m orchestration.warehouse_copy            # WH_DUCKDB_PATH -> WH_PG_* settings
    python -m orchestration.warehouse_copy --duckdb x.duckdb --pg-dsn "host=... dbname=..."

The copy replaces each table (`drop table ... cascade`, so dbt's staging views over it go too:
the next `dbt build` recreates them) inside one transaction: a failure leaves PostgreSQL as it
was. Row counts are checked table by table.

With PostgreSQL as the warehouse (`WH_DBT_TARGET=pg`) the Dagster jobs do both ways
themselves (orchestration/assets/dbt.py): `copy_raw` before `dbt build`, `copy_to_duckdb` of
every model and seed after it (the Python assets, publish and the report read a local DuckDB
copy), and `copy_raw(..., ("analytics",))` of the Python assets' tables before the publish.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

import duckdb

from orchestration.settings import Settings

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
    # pandas' datetime64[ns] columns of the analytics tables; PostgreSQL keeps microseconds
    "TIMESTAMP_NS": "timestamp",
    "TIMESTAMP_MS": "timestamp",
    "TIMESTAMP_S": "timestamp",
    "TIMESTAMP WITH TIME ZONE": "timestamptz",
    "INTERVAL": "interval",
    "UUID": "uuid",
    "JSON": "jsonb",
    # a pandas column of None only (an analytics table with nothing to say there)
    '"NULL"': "text",
}
_DECIMAL = re.compile(r"DECIMAL\((\d+),\s*(\d+)\)")

# PostgreSQL type (information_schema.columns.data_type) -> DuckDB type; numeric below.
DUCKDB_TYPES = {
    "text": "VARCHAR",
    "character varying": "VARCHAR",
    "character": "VARCHAR",
    "boolean": "BOOLEAN",
    "smallint": "SMALLINT",
    "integer": "INTEGER",
    "bigint": "BIGINT",
    "real": "FLOAT",
    "double precision": "DOUBLE",
    "date": "DATE",
    "timestamp without time zone": "TIMESTAMP",
    "timestamp with time zone": "TIMESTAMP WITH TIME ZONE",
    "interval": "INTERVAL",
    "uuid": "UUID",
    "jsonb": "JSON",
    "json": "JSON",
}


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


def duckdb_type(pg_data_type: str, precision: int | None, scale: int | None) -> str:
    """The DuckDB column type for a PostgreSQL one. `numeric(p, s)` keeps its precision and
    scale where DuckDB's DECIMAL holds it (p <= 38); an unconstrained `numeric` (sums and
    averages of numerics) becomes DOUBLE. An unmapped type is an error naming it."""
    if pg_data_type == "numeric":
        if precision is not None and precision <= 38:
            return f"DECIMAL({precision}, {scale or 0})"
        return "DOUBLE"
    try:
        return DUCKDB_TYPES[pg_data_type]
    except KeyError:
        raise ValueError(f"no DuckDB type for PostgreSQL type {pg_data_type!r}") from None


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


def pg_dsn(settings: Settings) -> str:
    """A libpq connection string from the settings dbt's `pg` target reads (profiles.yml)."""
    from psycopg2.extensions import make_dsn  # dbt-postgres brings psycopg2

    return make_dsn(
        host=settings.pg_host,
        port=settings.pg_port,
        user=settings.pg_user,
        password=settings.pg_password,
        dbname=settings.pg_db,
    )


def copy_raw(
    duckdb_path: str | Path,
    pg_dsn: str,
    schemas: tuple[str, ...] = RAW_SCHEMAS,
    duckdb_config: dict[str, str] | None = None,
) -> dict[str, int]:
    """Copy every table of `schemas` (the raw ones) from DuckDB into the same schemas of
    PostgreSQL.

    Returns the rows copied per `schema.table`. Raises when a table's row count in
    PostgreSQL after the copy differs from DuckDB's.
    """
    import psycopg2  # dbt-postgres brings it; only this path needs it

    copied: dict[str, int] = {}
    with (
        duckdb.connect(str(duckdb_path), read_only=True, config=duckdb_config or {}) as src,
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


def copy_to_duckdb(
    pg_dsn: str,
    duckdb_path: str | Path,
    relations: list[tuple[str, str, str]],
    duckdb_config: dict[str, str] | None = None,
) -> dict[str, int]:
    """Copy PostgreSQL relations (tables or views) into DuckDB tables: `relations` lists
    (PostgreSQL schema, name, DuckDB schema); the table keeps the name.

    Each goes `COPY (select ...) TO STDOUT` -> CSV -> DuckDB `COPY`, with its column types
    mapped (`duckdb_type`); NULL and the empty string stay apart. Every table is replaced
    inside one DuckDB transaction, and each row count is checked against PostgreSQL's.
    Returns the rows copied per `schema.name` (DuckDB's).
    """
    import psycopg2

    copied: dict[str, int] = {}
    src = psycopg2.connect(pg_dsn)
    try:
        with (
            src.cursor() as cur,
            duckdb.connect(str(duckdb_path), config=duckdb_config or {}) as dst,
            tempfile.TemporaryDirectory(prefix="wh-pull-") as tmp,
        ):
            dst.execute("begin transaction")
            for pg_schema, name, duck_schema in relations:
                cur.execute(
                    "select column_name, data_type, numeric_precision, numeric_scale "
                    "from information_schema.columns where table_schema = %s "
                    "and table_name = %s order by ordinal_position",
                    (pg_schema, name),
                )
                columns = cur.fetchall()
                if not columns:
                    raise ValueError(f"PostgreSQL has no relation {pg_schema}.{name}")
                source = f"{_ident(pg_schema)}.{_ident(name)}"
                target = f"{_ident(duck_schema)}.{_ident(name)}"
                csv_path = Path(tmp) / f"{pg_schema}.{name}.csv"
                with csv_path.open("wb") as handle:
                    cur.copy_expert(
                        f"copy (select * from {source}) to stdout with (format csv)", handle
                    )
                dst.execute(f"create schema if not exists {_ident(duck_schema)}")
                dst.execute(
                    f"create or replace table {target} ("
                    + ", ".join(f"{_ident(c)} {duckdb_type(t, p, s)}" for c, t, p, s in columns)
                    + ")"
                )
                # PostgreSQL writes NULL as an empty field and '' as "": a quoted empty
                # field must stay an empty string.
                if csv_path.stat().st_size:  # DuckDB cannot sniff an empty file
                    dst.execute(
                        f"copy {target} from '{csv_path}' (format csv, header false, "
                        "delimiter ',', quote '\"', escape '\"', allow_quoted_nulls false)"
                    )
                csv_path.unlink()
                cur.execute(f"select count(*) from {source}")
                expected = cur.fetchone()[0]
                actual = dst.execute(f"select count(*) from {target}").fetchone()[0]
                if actual != expected:
                    raise RuntimeError(
                        f"{duck_schema}.{name}: {actual} rows in DuckDB, {expected} in PostgreSQL"
                    )
                copied[f"{duck_schema}.{name}"] = actual
            dst.execute("commit")
    finally:
        src.close()
    return copied


def main(argv: list[str] | None = None) -> int:
    settings = Settings.from_env()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duckdb", default=str(settings.duckdb_path), help="the DuckDB warehouse")
    parser.add_argument(
        "--pg-dsn", default=None, help="libpq connection string (default: from WH_PG_*)"
    )
    args = parser.parse_args(argv)
    copied = copy_raw(
        args.duckdb, args.pg_dsn or pg_dsn(settings), duckdb_config=settings.duckdb_config()
    )
    for name, rows in copied.items():
        print(f"{name:45} {rows:>10,}")
    print(f"{len(copied)} tables, {sum(copied.values()):,} rows copied")
    return 0


if __name__ == "__main__":
    sys.exit(main())
