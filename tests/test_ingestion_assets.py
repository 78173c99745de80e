"""The ingestion assets through Dagster: loads, metadata and the blocking asset checks."""

from __future__ import annotations

import datetime as dt

import duckdb
from dagster import AssetKey, materialize
from dagster_duckdb import DuckDBResource

from orchestration.assets.ingestion import RAW_ASSETS, raw_key
from orchestration.settings import Settings
from tests.test_ingest import CUSTOMERS_HEADER, GOOD_CUSTOMER, ORDERS_HEADER, write


def _assets(*names: str):
    keys = {raw_key(n) for n in names}
    return [a for a in RAW_ASSETS if a.key in keys]


def _run(tmp_path, monkeypatch, *names):
    monkeypatch.setenv("WH_LANDING_DIR", str(tmp_path / "landing"))
    database = str(tmp_path / "wh.duckdb")
    result = materialize(
        _assets(*names),
        resources={"duckdb": DuckDBResource(database=database), "settings": Settings.from_env()},
        raise_on_error=False,
    )
    return result, database


def _checks(result) -> dict[tuple[str, str], bool]:
    return {
        (e.asset_key.path[-1], e.check_name): e.passed for e in result.get_asset_check_evaluations()
    }


def test_clean_drop_passes_every_check(tmp_path, monkeypatch):
    landing = tmp_path / "landing"
    write(landing, "customers", "2026-10-01.csv", [CUSTOMERS_HEADER, GOOD_CUSTOMER])
    write(
        landing,
        "orders",
        "2026-10-01.csv",
        [ORDERS_HEADER, "O1,C1,2025-01-01,100.00,CNY,consulting,false,"],
    )
    result, database = _run(tmp_path, monkeypatch, "customers", "orders")
    assert result.success
    checks = _checks(result)
    assert {v for (_, name), v in checks.items() if name != "fresh_drop"} == {True}
    # drops dated 2026-10-01 are weeks old by the time this runs: a warning, not a block
    fresh = (dt.date.today() - dt.date(2026, 10, 1)).days <= 7
    assert checks[("orders", "fresh_drop")] is fresh
    meta = result.asset_materializations_for_node("raw__orders")[0].metadata
    assert meta["rows_accepted"].value == 1
    with duckdb.connect(database, read_only=True) as con:
        assert con.execute("select count(*) from raw.orders").fetchone()[0] == 1


def test_too_much_quarantine_fails_the_blocking_check(tmp_path, monkeypatch):
    landing = tmp_path / "landing"
    write(landing, "customers", "2026-10-01.csv", [CUSTOMERS_HEADER, GOOD_CUSTOMER])
    write(
        landing,
        "orders",
        "2026-10-01.csv",
        [
            ORDERS_HEADER,
            "O1,C1,2025-01-01,100.00,CNY,consulting,false,",
            "O2,C404,2025-01-01,100.00,CNY,consulting,false,",
        ],
    )
    result, _ = _run(tmp_path, monkeypatch, "customers", "orders")
    checks = _checks(result)
    assert checks[("orders", "quarantine_share")] is False  # 1 of 2 rows quarantined
    assert checks[("orders", "ledger_rows_balance")] is True
    assert checks[("customers", "quarantine_share")] is True


def test_asset_keys_cover_the_contract():
    from orchestration.contract import TABLE_NAMES

    assert {a.key for a in RAW_ASSETS} == {AssetKey(["raw", t]) for t in TABLE_NAMES}


def test_the_block_holds_on_rerun_until_the_drop_is_corrected(tmp_path, monkeypatch):
    landing = tmp_path / "landing"
    path = write(
        landing,
        "customers",
        "2026-10-01.csv",
        [CUSTOMERS_HEADER, GOOD_CUSTOMER, "C2,,food,x,east,y,micro,2024-01-01,online,"],
    )
    first, _ = _run(tmp_path, monkeypatch, "customers")
    again, _ = _run(tmp_path, monkeypatch, "customers")
    assert _checks(first)[("customers", "quarantine_share")] is False
    assert _checks(again)[("customers", "quarantine_share")] is False
    path.write_text(f"{CUSTOMERS_HEADER}\n{GOOD_CUSTOMER}\n", encoding="utf-8")
    fixed, _ = _run(tmp_path, monkeypatch, "customers")
    assert _checks(fixed)[("customers", "quarantine_share")] is True


def test_excel_blank_rows_neither_block_nor_unbalance_a_small_drop(tmp_path, monkeypatch):
    """Excel's trailing `,,,,,,,` rows used to be 3 quarantined rows of 4 (75 %), holding
    back the marts; they are blank rows now, counted apart, and the ledger still balances."""
    landing = tmp_path / "landing"
    blank = "," * (len(CUSTOMERS_HEADER.split(",")) - 1)
    write(
        landing,
        "customers",
        "2026-10-01.csv",
        [CUSTOMERS_HEADER, GOOD_CUSTOMER, blank, blank, blank],
    )
    result, database = _run(tmp_path, monkeypatch, "customers")
    checks = _checks(result)
    assert checks[("customers", "quarantine_share")] is True
    assert checks[("customers", "ledger_rows_balance")] is True
    meta = result.asset_materializations_for_node("raw__customers")[0].metadata
    assert (meta["rows_accepted"].value, meta["rows_quarantined"].value) == (1, 0)
    assert meta["rows_blank"].value == 3
    with duckdb.connect(database, read_only=True) as con:
        assert con.execute(
            "select rows_in, rows_accepted, rows_quarantined, rows_blank from raw_meta.load_ledger"
        ).fetchall() == [(4, 1, 0, 3)]


def test_the_ingestion_runs_under_the_dagster_process_duckdb_limit(tmp_path, monkeypatch):
    """The ingestion's connection is the definitions' DuckDB resource, with the Dagster
    process's own memory limit and spill folder (WH_DAGSTER_DUCKDB_MEMORY_LIMIT,
    WH_DUCKDB_TEMP_DIR): a big file spills there instead of growing the process."""
    from orchestration.assets import ingestion
    from orchestration.definitions import build_definitions

    monkeypatch.setenv("WH_DAGSTER_DUCKDB_MEMORY_LIMIT", "300MB")
    monkeypatch.setenv("WH_DUCKDB_TEMP_DIR", str(tmp_path / "spill"))
    monkeypatch.setenv("WH_LANDING_DIR", str(tmp_path / "landing"))
    write(tmp_path / "landing", "customers", "2026-10-01.csv", [CUSTOMERS_HEADER, GOOD_CUSTOMER])
    seen = []
    load_table = ingestion.load_table

    def spying(con, *args, **kwargs):
        seen.append(
            con.execute(
                "select current_setting('memory_limit'), current_setting('temp_directory')"
            ).fetchone()
        )
        return load_table(con, *args, **kwargs)

    monkeypatch.setattr(ingestion, "load_table", spying)
    defs = build_definitions(str(tmp_path / "wh.duckdb"), settings=Settings.from_env())
    result = materialize(_assets("customers"), resources=defs.resources)
    assert result.success
    with duckdb.connect(config={"memory_limit": "300MB"}) as reference:
        limit = reference.execute("select current_setting('memory_limit')").fetchone()[0]
    assert seen == [(limit, str(tmp_path / "spill"))]
