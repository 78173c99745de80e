"""DDL of the `raw`, `raw_quarantine` and `raw_meta` schemas, derived from the landing contract."""

from __future__ import annotations

import duckdb

from .contract import DUCKDB_TYPES, TABLES, Table

# Lineage columns every raw row carries: where it came from and which run loaded it.
META_COLUMNS: tuple[tuple[str, str], ...] = (
    ("_file", "varchar"),  # path relative to the landing directory, e.g. orders/2026-10-31.csv
    ("_line", "bigint"),  # line of the row in the file (header = line 1); row number for Parquet
    ("_extra", "varchar"),  # columns the contract does not know, kept as a JSON object
    ("_loaded_at", "timestamp"),
    ("_run_id", "varchar"),
)

QUARANTINE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("_file", "varchar"),
    ("_line", "bigint"),
    ("raw_record", "varchar"),  # the row as read, JSON object of the original text values
    ("rule", "varchar"),  # names of the rules the row broke, comma-separated
    ("message", "varchar"),  # human-readable explanation of every broken rule
    ("_loaded_at", "timestamp"),
    ("_run_id", "varchar"),
)

LEDGER_COLUMNS: tuple[tuple[str, str], ...] = (
    ("run_id", "varchar"),
    ("table_name", "varchar"),
    ("file", "varchar"),
    ("drop_name", "varchar"),
    ("checksum", "varchar"),
    ("size_bytes", "bigint"),
    ("rows_in", "bigint"),
    ("rows_accepted", "bigint"),
    ("rows_quarantined", "bigint"),
    ("status", "varchar"),  # loaded / skipped-duplicate / replaced / rejected
    ("error", "varchar"),
    ("extra_columns", "varchar"),
    ("started_at", "timestamp"),
    ("finished_at", "timestamp"),
    # Added after the first release: an existing ledger gains them (ADD COLUMN IF NOT EXISTS,
    # earlier lines 0 / NULL), so they come last in every ledger, old or new.
    ("rows_blank", "bigint"),  # rows whose every cell is empty: skipped, counted in rows_in
    ("duplicate_of", "varchar"),  # skipped-duplicate: the file whose load holds this content
)
# Columns of LEDGER_COLUMNS that a ledger created before them lacks, with the value its
# earlier lines get.
LEDGER_ADDED_COLUMNS: dict[str, str | None] = {"rows_blank": "0", "duplicate_of": None}
# raw_meta.load_changes, the change record (orchestration/ingest.py, record_changes): per load
# of a file, one line per customer whose rows it added, or removed (a replaced drop), with
# the earliest date those rows touch; the incremental models rebuild only these customers.
CHANGE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("load_seq", "bigint"),  # 1, 2, ... one number per loaded file, in load order
    ("run_id", "varchar"),
    ("table_name", "varchar"),
    ("file", "varchar"),
    ("change_kind", "varchar"),  # added / removed
    ("customer_id", "varchar"),  # null: a table without customers (every customer touched)
    ("earliest_on", "date"),  # the earliest date of the rows (null: rows without a date)
    ("row_count", "bigint"),
    ("recorded_at", "timestamp"),
)


def _columns_sql(cols: list[tuple[str, str]]) -> str:
    return ",\n    ".join(f'"{name}" {type_}' for name, type_ in cols)


def raw_columns(table: Table) -> list[tuple[str, str]]:
    """(name, DuckDB type) of a raw table: the contract's columns, then the lineage columns."""
    return [(c.name, DUCKDB_TYPES[c.type]) for c in table.columns] + list(META_COLUMNS)


def create_raw_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the raw, quarantine and ledger tables that do not exist yet (idempotent)."""
    for schema in ("raw", "raw_quarantine", "raw_meta"):
        con.execute(f"create schema if not exists {schema}")
    for table in TABLES:
        con.execute(
            f"create table if not exists raw.{table.name} (\n    "
            f"{_columns_sql(raw_columns(table))}\n)"
        )
        con.execute(
            f"create table if not exists raw_quarantine.{table.name} (\n    "
            f"{_columns_sql(list(QUARANTINE_COLUMNS))}\n)"
        )
    con.execute(
        f"create table if not exists raw_meta.load_ledger (\n    "
        f"{_columns_sql(list(LEDGER_COLUMNS))}\n)"
    )
    con.execute(
        f"create table if not exists raw_meta.load_changes (\n    "
        f"{_columns_sql(list(CHANGE_COLUMNS))}\n)"
    )
    types = dict(LEDGER_COLUMNS)
    for name, fill in LEDGER_ADDED_COLUMNS.items():
        default = f" default {fill}" if fill is not None else ""
        con.execute(
            f"alter table raw_meta.load_ledger add column if not exists {name} {types[name]}"
            + default
        )
