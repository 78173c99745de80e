"""No secret and no personal data in any artefact of a run (issue 17, items 5 and 8).

One real `make run`-like run (`python -m orchestration.run`, its own Dagster home, warehouse
and salt), then `dbt docs generate --static` as `make docs` does; every file the run and the
docs wrote is searched for the salt, and the warehouse's view definitions too. A customer
whose name carries a phone and an e-mail, and one whose name is a spreadsheet formula, must
reach the published copy masked and neutralised, while raw keeps them as they came.
"""

from __future__ import annotations

import csv
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from orchestration.settings import ROOT
from orchestration.synthetic import generate

PII_NAME = "张伟 13812345678 zhang.wei@gmail.com"
FORMULA_NAME = '=HYPERLINK("http://example.invalid/x","点击查看")'
EXTENSION_PHONE = "13812345682 ext. 12"


def _rewrite_first_rows(folder: Path, column: str, values: list[str]) -> None:
    """Put `values` into `column` of the first rows of the folder's first CSV drop."""
    path = sorted(folder.glob("*.csv"))[0]
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row, value in zip(rows, values, strict=False):
        row[column] = value
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _files_with(text: str, folders: list[Path], since: float) -> list[str]:
    """Files under `folders` written since `since` whose bytes contain `text`."""
    needle = text.encode("utf-8")
    found = []
    for folder in folders:
        for path in folder.rglob("*") if folder.exists() else []:
            fresh = path.is_file() and not path.is_symlink() and path.stat().st_mtime >= since
            if fresh and needle in path.read_bytes():
                found.append(str(path))
    return found


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("secrets")
    landing, warehouse = tmp / "landing", tmp / "warehouse"
    generate(landing, tmp / "truth", customers=60, years=1, seed=11, progress=False)
    _rewrite_first_rows(landing / "customers", "customer_name", [PII_NAME, FORMULA_NAME])
    _rewrite_first_rows(landing / "contacts", "phone", [EXTENSION_PHONE])
    salt = "s3cret-" + secrets.token_hex(16)
    env = {
        **os.environ,
        "WH_PII_SALT": salt,
        "WH_LANDING_DIR": str(landing),
        "WH_DUCKDB_PATH": str(warehouse / "warehouse.duckdb"),
        "DAGSTER_HOME": str(tmp / "dagster_home"),
        "DBT_PROFILES_DIR": str(ROOT),
        "PYTHONPATH": str(ROOT),
    }
    env.pop("WH_PUBLISH_DIR", None)
    (tmp / "dagster_home").mkdir()
    started = time.time() - 1
    dbt = str(Path(sys.executable).with_name("dbt"))
    steps = [
        [dbt, "parse", "--quiet"],
        [sys.executable, "-m", "orchestration.run"],
        [dbt, "docs", "generate", "--static", "--quiet", "--target-path", str(tmp / "docs")],
    ]
    for step in steps:
        done = subprocess.run(step, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1500)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return {"tmp": tmp, "salt": salt, "warehouse": warehouse, "started": started}


@pytest.mark.slow
def test_the_salt_is_in_no_artefact(run):
    folders = [
        ROOT / "target",  # dbt's compiled SQL, manifest, run results, partial parse
        ROOT / "logs",  # dbt.log
        run["tmp"] / "docs",  # make docs: static_index.html, catalog, manifest
        run["tmp"] / "dagster_home",  # Dagster's run and event storage, compute logs
        run["warehouse"],  # warehouse.duckdb, published bi.duckdb and Parquet, reports
    ]
    assert (run["tmp"] / "docs" / "static_index.html").exists()
    assert list((run["tmp"] / "dagster_home").rglob("*.db"))
    assert _files_with(run["salt"], folders, run["started"]) == []
    with duckdb.connect(str(run["warehouse"] / "warehouse.duckdb"), read_only=True) as con:
        views = con.execute("select view_name, sql from duckdb_views() where not internal")
        views = views.fetchall()
    assert any(name == "stg_crm__contacts" for name, _ in views)
    assert [name for name, sql in views if run["salt"] in sql] == []


@pytest.mark.slow
def test_personal_data_and_formulas_are_not_published_in_clear(run):
    published = run["warehouse"] / "published"
    with duckdb.connect(str(run["warehouse"] / "warehouse.duckdb"), read_only=True) as con:
        raw = con.execute("select customer_name from raw.customers").fetchall()
        masked = con.execute(
            "select phone_masked from stg_crm__contacts where phone_masked like '%5682'"
        ).fetchall()
    assert {(PII_NAME,), (FORMULA_NAME,)} <= set(raw)  # raw keeps the original
    assert masked == [("138****5682",)]  # the phone's own digits, not its extension's
    with duckdb.connect(str(published / "bi.duckdb"), read_only=True) as con:
        names = {
            row[0] for row in con.execute("select customer_name from dim_customers").fetchall()
        }
        parquet = str(published / "parquet" / "main" / "dim_customers.parquet")
        in_parquet = {
            row[0] for row in con.execute(f"select customer_name from '{parquet}'").fetchall()
        }
        texts = con.execute(
            "select schema_name, table_name, column_name from duckdb_columns() "
            "where data_type = 'VARCHAR' and not internal and schema_name <> 'publish_meta'"
        ).fetchall()
        leaks = []
        for schema, table, column in texts:
            value = f'"{column}"'
            hits = con.execute(
                f'select count(*) from "{schema}"."{table}" where {value} like ? '
                f"or {value} like ? or starts_with({value}, '=')",
                ["%13812345678%", "%zhang.wei@gmail.com%"],
            ).fetchone()[0]
            if hits:
                leaks.append(f"{schema}.{table}.{column}")
    assert leaks == []
    for published_names in (names, in_parquet):
        assert "张伟 138****5678 z***@gmail.com" in published_names
        assert "'" + FORMULA_NAME in published_names
