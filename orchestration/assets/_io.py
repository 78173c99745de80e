"""Writing pandas frames into the warehouse's analytics schema, one transaction a table."""

from __future__ import annotations

import pandas as pd

ANALYTICS_SCHEMA = "analytics"


def write_analytics_table(con, name: str, frame: pd.DataFrame) -> int:
    """Replace `analytics.<name>` with `frame` atomically; returns the row count."""
    view = f"_frame_{name}"
    con.execute(f"create schema if not exists {ANALYTICS_SCHEMA}")
    con.register(view, frame)
    try:
        con.execute("begin transaction")
        con.execute(f"create or replace table {ANALYTICS_SCHEMA}.{name} as select * from {view}")
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    finally:
        con.unregister(view)
    return len(frame)
