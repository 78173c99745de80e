"""What a DuckDB connection holds: one question asked by the assets, the report and the plan
of the dbt build, so that they agree on it."""

from __future__ import annotations

import duckdb


def table_exists(connection: duckdb.DuckDBPyConnection, relation: str) -> bool:
    """Whether `schema.table` (or `table` in the current schema) is a table or view."""
    schema, _, name = relation.rpartition(".")
    found = connection.execute(
        """
        select count(*)
        from information_schema.tables
        where
            table_catalog = current_database()
            and table_schema = coalesce($schema, current_schema())
            and table_name = $name
        """,
        {"schema": schema or None, "name": name},
    ).fetchone()
    return bool(found and found[0])
