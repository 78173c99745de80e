"""BI-safe publishing: what is copied, what is refused, and that a reader never sees a broken
or mixed release, even while publishes run or are killed half-way.

The small working warehouse encodes its run in the data: run k has 500·k + 3 rows in
main.fct_a, k + 1 in main.dim_b, 2·k + 1 in analytics.c, and every row carries run_tag = k.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import select
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from orchestration import pii
from orchestration.publish import (
    CODED_COLUMNS,
    CURRENT_LINK,
    PERSONAL_DATA_SQL_FILTER,
    RELEASES_DIR,
    STAGES,
    TMP_PREFIX,
    PublishError,
    TableDocs,
    bi_dbt_nodes,
    current_release,
    personal_data_columns,
    publish,
    published_schema,
    read_manifest,
)
from orchestration.settings import ROOT, Settings

PUBLISHED = {"main.fct_a", "main.dim_b", "config.cat", "analytics.c"}
# Seeds are in main in the working warehouse and in config in the published copy.
SOURCE_OF = {"config.cat": "main.cat"}
# The reporting date of the hand-made customer_facts the asset reads as_of back from.
AS_OF_SQL = "date '2026-06-30'"
WAIT_SECONDS = 60  # upper bound of every wait on a subprocess; never reached when all is well


def node(resource_type: str, fqn: list[str], materialized: str = "table") -> dict:
    return {
        "resource_type": resource_type,
        "fqn": ["loyalty_warehouse", *fqn],
        "name": fqn[-1],
        "alias": fqn[-1],
        "schema": "main",
        "config": {"materialized": materialized},
    }


# A dbt manifest in miniature: two marts, a seed, and models BI must not get.
DBT_MANIFEST = {
    "nodes": {
        f"x.{i}": n
        for i, n in enumerate(
            [
                node("model", ["marts", "core", "fct_a"]),
                node("model", ["marts", "core", "dim_b"]),
                node("model", ["marts", "core", "marts_helper"], materialized="ephemeral"),
                node("model", ["staging", "crm", "stg_x"], materialized="view"),
                node("model", ["intermediate", "customers", "int_y"], materialized="view"),
                node("seed", ["cat"], materialized="seed"),
            ]
        )
    }
}


def expected_rows(run: int) -> dict[str, int]:
    return {
        "main.fct_a": 500 * run + 3,
        "main.dim_b": run + 1,
        "main.cat": 3,
        "analytics.c": 2 * run + 1,
    }


def write_source(path: Path, run: int) -> None:
    """The working warehouse of run `run`: BI tables plus raw, staging and intermediate ones."""
    rows = expected_rows(run)
    with duckdb.connect(str(path)) as con:
        con.execute("create schema if not exists raw; create schema if not exists analytics")
        for name in ("raw.t", "main.stg_x", "main.int_y"):
            con.execute(f"create or replace table {name} as select {run} as run_tag, 'x' as note")
        for name, count in rows.items():
            con.execute(
                f"create or replace table {name} as select {run} as run_tag, range as i, "
                f"'row ' || range as label, range * 0.5 as amount_cny from range({count})"
            )


def table_rows(con: duckdb.DuckDBPyConnection, name: str) -> list[tuple]:
    return con.execute(f"select * from {name} order by i").fetchall()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_complete(release: Path, run: int, run_id: str | None = None) -> None:
    """The release holds the data of run `run` exactly as its manifest says, in DuckDB and in
    Parquet, and was published by `run_id` (default: run-`run`)."""
    manifest = read_manifest(release)
    assert set(manifest["tables"]) == PUBLISHED
    with duckdb.connect(str(release / "bi.duckdb"), read_only=True) as con:
        published_by = con.execute("select run_id from publish_meta.release").fetchone()[0]
        assert published_by == (run_id or f"run-{run}")
        for name, info in manifest["tables"].items():
            assert info["rows"] == expected_rows(run)[SOURCE_OF.get(name, name)], name
            count, low, high = con.execute(
                f"select count(*), min(run_tag), max(run_tag) from {name}"
            ).fetchone()
            assert (count, low, high) == (info["rows"], run, run), name
            parquet = release / info["parquet"]
            assert sha256(parquet) == info["parquet_sha256"], name
            in_parquet = con.execute(f"select count(*) from read_parquet('{parquet}')").fetchone()
            assert in_parquet[0] == info["rows"], name


@pytest.fixture
def warehouse(tmp_path: Path) -> tuple[Path, Path]:
    source, target = tmp_path / "wh.duckdb", tmp_path / "published"
    write_source(source, 1)
    return source, target


def run_publish(source: Path, target: Path, run: int, dbt_manifest: dict = DBT_MANIFEST, **kwargs):
    return publish(
        source, target, run_id=f"run-{run}", as_of="2026-06-30", dbt_manifest=dbt_manifest, **kwargs
    )


# ---------------------------------------------------------------- what is published


def test_personal_data_names():
    columns = [
        "customer_name",  # a firm, not a person (B2B)
        "name_en",
        "indicator_name_zh",
        "phone_masked",
        "contact_name_hash",
        "has_email",
        "name",
        "contact_name",
        "primary_contact_name",
        "manager_name",
        "phone",
        "mobile_number",
        "Email",
        "mobilephone",
        "phonenumber",
        "phoneNumber",
        "e_mail",
        "contactName",
        "tel",
        "联系电话",
        "手机号",
        "hotel_count",  # a word that merely contains "tel" passes
    ]
    assert personal_data_columns(columns) == [
        "name",
        "contact_name",
        "primary_contact_name",
        "manager_name",
        "phone",
        "mobile_number",
        "Email",
        "mobilephone",
        "phonenumber",
        "phoneNumber",
        "e_mail",
        "contactName",
        "tel",
        "联系电话",
        "手机号",
    ]


# Text as a careless exporter or an attacker would leave it, and what BI must get instead.
HOSTILE_TEXT = [
    ("张伟 13812345678 zhang.wei@gmail.com", "张伟 138****5678 z***@gmail.com", 1, 0),
    ("联系 +86 138-1234-5682 ext. 12", "联系 138****5682 ext. 12", 1, 0),
    ("身份证 11010119900307123X", "身份证 110101********123X", 1, 0),
    ("座机 021-62345678", "座机 021****5678", 1, 0),
    (
        '=HYPERLINK("http://example.invalid/x","点击查看")',
        '\'=HYPERLINK("http://example.invalid/x","点击查看")',
        0,
        1,
    ),
    ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0", 0, 1),
    ("@SUM(1+1)", "'@SUM(1+1)", 0, 1),
    ("\tx", "'\tx", 0, 1),
    ("\r=1", "'\r=1", 0, 1),
    ("-A12", "'-A12", 0, 1),  # a code that starts with '-' is neutralised too
    ("-12.5", "-12.5", 0, 0),  # a negative number stored as text stays a number
    ("+3", "+3", 0, 0),
    ("苏州精工自动化有限公司", "苏州精工自动化有限公司", 0, 0),
    ("2026-01-01", "2026-01-01", 0, 0),  # a date is no phone
    ("a13812345678b9f0", "a13812345678b9f0", 0, 0),  # digits inside a hash or an id
    ("138****5678", "138****5678", 0, 0),  # already masked
]


def test_publish_masks_personal_data_and_neutralises_formulas_in_text(warehouse):
    source, target = warehouse
    with duckdb.connect(str(source)) as con:
        con.execute("create or replace table main.dim_b (i integer, customer_name varchar)")
        con.executemany(
            "insert into main.dim_b values (?, ?)",
            [(i, raw) for i, (raw, *_rest) in enumerate(HOSTILE_TEXT)],
        )
    release = run_publish(source, target, 1)

    want = [(i, published) for i, (_raw, published, *_rest) in enumerate(HOSTILE_TEXT)]
    with duckdb.connect(str(release.path / "bi.duckdb"), read_only=True) as con:
        assert con.execute("select * from main.dim_b order by i").fetchall() == want
        parquet = release.path / release.manifest["tables"]["main.dim_b"]["parquet"]
        assert con.execute(f"select * from '{parquet}' order by i").fetchall() == want
    assert release.manifest["tables"]["main.dim_b"]["sanitised"] == {
        "customer_name": {
            "personal_data_masked": sum(row[2] for row in HOSTILE_TEXT),
            "formula_neutralised": sum(row[3] for row in HOSTILE_TEXT),
        }
    }
    # the working warehouse keeps the original text
    with duckdb.connect(str(source), read_only=True) as con:
        kept = con.execute("select customer_name from main.dim_b order by i").fetchall()
    assert [row[0] for row in kept] == [row[0] for row in HOSTILE_TEXT]
    # each content checksum is the published table's, sanitised (dim_b) or not (fct_a)
    with duckdb.connect(str(release.path / "bi.duckdb"), read_only=True) as con:
        for name, info in release.manifest["tables"].items():
            checksum = con.execute(f"select sum(hash(t)) from {name} as t").fetchone()[0]
            assert info["content_checksum"] == str(checksum), name


def test_only_values_that_masking_can_change_go_to_python():
    """PERSONAL_DATA_SQL_FILTER keeps every value pii.mask_personal_data changes (the
    hostile texts, a number after a newline or a full-width digit, one alone) and leaves
    out the ids and hashes that merely hold a run of digits."""
    changed = [raw for raw, published, masked, _ in HOSTILE_TEXT if masked]
    changed += ["x\n13812345678", "13\uff1812345678", "11010119900307123X", "(021) 62345678"]
    kept_out = ["O000122881", "K00007956", "a13812345678b9f0", "A13812345678", "I000000001"]
    assert all(pii.mask_personal_data(text) != text for text in changed)
    assert all(pii.mask_personal_data(text) == text for text in kept_out)
    with duckdb.connect() as con:
        kept = dict(
            con.execute(
                f"select v, {PERSONAL_DATA_SQL_FILTER.format(column='v')} from unnest(?) as t(v)",
                [changed + kept_out],
            ).fetchall()
        )
    assert kept == {text: text in changed for text in changed + kept_out}


def test_project_manifest_selects_marts_and_seeds_without_personal_data():
    manifest = json.loads((ROOT / "target" / "manifest.json").read_text())
    nodes = bi_dbt_nodes(manifest)
    names = {n["name"] for n in nodes}
    assert {
        "dim_customers",
        "loyalty_indicators",
        "loyalty_retention",
        "loyalty_satisfaction_monthly",
        "indicator_catalogue",
    } <= names
    assert not [n for n in names if n.startswith(("stg_", "int_"))]
    for n in nodes:
        assert n["resource_type"] == "seed" or n["fqn"][1] == "marts", n["name"]
        assert personal_data_columns(list(n["columns"])) == [], n["name"]


def test_publish_copies_exactly_the_bi_tables(warehouse):
    source, target = warehouse
    release = run_publish(source, target, 1)

    assert current_release(target) == release.path
    assert (target / "bi.duckdb").resolve() == release.path / "bi.duckdb"
    assert (target / "manifest.json").resolve() == release.path / "manifest.json"
    assert (target / "parquet").resolve() == release.path / "parquet"
    assert read_manifest(release.path) == release.manifest
    assert release.manifest["as_of"] == "2026-06-30"
    assert release.manifest["previous_release"] is None
    assert_complete(release.path, 1)
    with (
        duckdb.connect(str(target / "bi.duckdb"), read_only=True) as bi,
        duckdb.connect(str(source), read_only=True) as src,
    ):
        published = bi.execute(
            "select schema_name || '.' || table_name from duckdb_tables() "
            "where schema_name <> 'publish_meta'"
        ).fetchall()
        assert {p[0] for p in published} == PUBLISHED  # no raw, stg_, int_, ephemeral
        for name in PUBLISHED:
            source_name = SOURCE_OF.get(name, name)
            assert table_rows(bi, name) == table_rows(src, source_name), name
            assert (
                bi.execute(f"describe {name}").fetchall()
                == src.execute(f"describe {source_name}").fetchall()
            )
        meta = dict(
            ((s + "." + t), n)
            for s, t, n in bi.execute(
                "select table_schema, table_name, row_count from publish_meta.tables"
            ).fetchall()
        )
        assert meta == {name: expected_rows(1)[SOURCE_OF.get(name, name)] for name in PUBLISHED}
        # Readable by DuckDB >= 1.0 (BI drivers lag behind the warehouse's DuckDB).
        tags = bi.execute("select tags from duckdb_databases() where database_name = 'bi'")
        assert tags.fetchone()[0]["storage_version"] == "v1.0.0+"
    assert not (release.path / "bi.duckdb.wal").exists()


def test_same_data_gives_same_checksums_and_changed_data_does_not(warehouse):
    source, target = warehouse
    first = run_publish(source, target, 1).manifest["tables"]
    again = run_publish(source, target, 1).manifest["tables"]
    assert {k: v["content_checksum"] for k, v in first.items()} == {
        k: v["content_checksum"] for k, v in again.items()
    }
    with duckdb.connect(str(source)) as con:
        con.execute("update main.dim_b set label = 'changed' where i = 0")
    changed = run_publish(source, target, 1).manifest["tables"]
    assert changed["main.dim_b"]["rows"] == first["main.dim_b"]["rows"]
    assert changed["main.dim_b"]["content_checksum"] != first["main.dim_b"]["content_checksum"]
    assert changed["main.fct_a"]["content_checksum"] == first["main.fct_a"]["content_checksum"]


def test_republish_keeps_the_release_an_open_reader_uses(warehouse):
    source, target = warehouse
    first = run_publish(source, target, 1)
    reader = duckdb.connect(str(target / "bi.duckdb"), read_only=True)
    try:
        write_source(source, 2)
        second = run_publish(source, target, 2)
        write_source(source, 3)
        third = run_publish(source, target, 3)
        # The reader keeps the release it opened, even once it is pruned from disk.
        assert not first.path.exists()
        assert reader.execute("select count(*) from main.fct_a").fetchone()[0] == 503
        assert reader.execute("select distinct run_tag from analytics.c").fetchall() == [(1,)]
    finally:
        reader.close()
    assert sorted(p.name for p in (target / RELEASES_DIR).iterdir()) == sorted(
        [second.release_id, third.release_id]
    )
    assert third.manifest["previous_release"] == second.release_id
    assert second.manifest["previous_release"] == first.release_id
    assert_complete(second.path, 2)
    assert_complete(current_release(target), 3)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("alter table main.dim_b add column contact_name varchar", "main.dim_b.contact_name"),
        ("alter table analytics.c add column phone varchar", "analytics.c.phone"),
        ("drop table main.fct_a", "missing from the working warehouse.*main.fct_a"),
        ('alter table main.fct_a add column "window" varchar', "reserved.*main.fct_a.window"),
        ("alter table analytics.c rename column i to rank", None),  # not reserved: published
        ("delete from analytics.c", "empty analytics table.*analytics.c whose asset"),
    ],
)
def test_refused_publish_leaves_the_previous_release(warehouse, change, message):
    source, target = warehouse
    first = run_publish(source, target, 1)
    write_source(source, 2)
    with duckdb.connect(str(source)) as con:
        con.execute(change)
    if message is None:
        second = run_publish(source, target, 2)
        assert current_release(target) == second.path
        return
    with pytest.raises(PublishError, match=message):
        run_publish(source, target, 2)
    assert current_release(target) == first.path
    assert [p.name for p in (target / RELEASES_DIR).iterdir()] == [first.release_id]
    assert_complete(first.path, 1)


# ---------------------------------------------------------------- a self-describing copy

DESCRIBED_MANIFEST = json.loads(json.dumps(DBT_MANIFEST))
for _node in DESCRIBED_MANIFEST["nodes"].values():
    _node["description"] = f"The {_node['name']} table,\n  described by dbt."
    _node["columns"] = {"run_tag": {"name": "run_tag", "description": "The run's number."}}
DOCS = {
    "c": TableDocs(
        "The analytics table c.", {"run_tag": "Run.", "i": "Row.", "label": "Label 标签."}
    )
}


def test_every_table_and_column_carries_its_description_in_duckdb_and_parquet(warehouse):
    source, target = warehouse
    release = publish(
        source,
        target,
        run_id="run-1",
        as_of="2026-06-30",
        dbt_manifest=DESCRIBED_MANIFEST,
        analytics_docs=DOCS,
    )
    with duckdb.connect(str(target / "bi.duckdb"), read_only=True) as bi:
        tables = dict(
            bi.execute(
                "select table_schema || '.' || table_name, table_comment "
                "from information_schema.tables"
            ).fetchall()
        )
        columns = {
            (s, t, c): comment
            for s, t, c, comment in bi.execute(
                "select schema_name, table_name, column_name, comment from duckdb_columns()"
            ).fetchall()
        }
    # dbt's description with its whitespace folded; the asset's for the analytics table
    assert tables["main.fct_a"] == "The fct_a table, described by dbt."
    assert tables["config.cat"] == "The cat table, described by dbt."
    assert tables["analytics.c"] == "The analytics table c."
    assert tables["publish_meta.release"] == "The release this copy is: one row."
    assert columns[("main", "fct_a", "run_tag")] == "The run's number."
    assert columns[("analytics", "c", "label")] == "Label 标签."
    assert columns[("main", "fct_a", "label")] is None  # dbt does not describe it ...
    info = release.manifest["tables"]
    assert info["main.fct_a"]["undescribed_columns"] == ["amount_cny", "i", "label"]  # ... said
    assert info["analytics.c"]["undescribed_columns"] == ["amount_cny"]
    assert all(c is not None for (s, _, _), c in columns.items() if s == "publish_meta")
    # the same text in each Parquet file's key-value metadata
    with duckdb.connect() as con:
        kv = dict(
            con.execute(
                "select decode(key), decode(value) from parquet_kv_metadata(?)",
                [str(release.path / info["analytics.c"]["parquet"])],
            ).fetchall()
        )
    assert kv["description"] == "The analytics table c."
    assert json.loads(kv["column_descriptions"]) == {
        "run_tag": "Run.",
        "i": "Row.",
        "label": "Label 标签.",
        "amount_cny": "",
    }


def test_an_empty_analytics_table_is_published_with_the_reason_its_asset_gives(warehouse):
    source, target = warehouse
    with duckdb.connect(str(source)) as con:
        con.execute("delete from analytics.c")
    docs = {"c": TableDocs("The analytics table c.", {}, "no run has produced a row yet.")}
    release = run_publish(source, target, 1, analytics_docs=docs)
    info = release.manifest["tables"]["analytics.c"]
    assert (info["rows"], info["empty_reason"]) == (0, "no run has produced a row yet.")
    with duckdb.connect(str(target / "bi.duckdb"), read_only=True) as bi:
        comment = bi.execute(
            "select comment from duckdb_tables() where table_name = 'c'"
        ).fetchone()[0]
        meta = bi.execute(
            "select empty_reason from publish_meta.tables where table_name = 'c'"
        ).fetchone()[0]
    assert comment == "The analytics table c. Empty in this release: no run has produced a row yet."
    assert meta == "no run has produced a row yet."
    # a reason is not a licence for a table that has rows: it is not mentioned then
    write_source(source, 1)
    again = run_publish(source, target, 1, analytics_docs=docs).manifest["tables"]["analytics.c"]
    assert "empty_reason" not in again


def test_codes_without_a_label_are_listed_in_the_manifest(warehouse, monkeypatch):
    """Two coded columns of the copy: region labelled but for 'mars', score_window whose
    codes all have labels; a coded column of a table not published is skipped."""
    source, target = warehouse
    manifest = json.loads(json.dumps(DBT_MANIFEST))
    manifest["nodes"]["labels"] = node("seed", ["code_labels"], materialized="seed")
    with duckdb.connect(str(source)) as con:
        con.execute(
            "create table main.code_labels as select * from (values "
            "('region', 'east', 'East China', '华东'), ('score_window', 'current', 'Current', "
            "'当前')) as t(domain, code, label_en, label_zh)"
        )
        con.execute(
            "create table main.dim_customers as select * from (values ('east'), ('mars'), "
            "(null)) as t(region)"
        )
        con.execute("create table analytics.management_level as select 'current' as score_window")
    manifest["nodes"]["dim"] = node("model", ["marts", "core", "dim_customers"])
    release = publish(source, target, run_id="run-1", as_of="2026-06-30", dbt_manifest=manifest)
    tables = release.manifest["tables"]
    assert tables["main.dim_customers"]["unlabelled_codes"] == {"region": ["mars"]}
    assert "unlabelled_codes" not in tables["analytics.management_level"]
    assert "catalogue.code_labels" in tables
    assert CODED_COLUMNS["main.dim_customers.region"] == "region"


# ---------------------------------------------------------------- publish what changed

# What a table's manifest entry says about how it came into the release, not what it holds.
PROVENANCE = ("published", "linked_from", "linked_by", "written_in")


def inodes(release: Path) -> dict[str, int]:
    """The inode of each table's Parquet file: equal inodes are one file, linked."""
    tables = read_manifest(release)["tables"]
    return {name: (release / info["parquet"]).stat().st_ino for name, info in tables.items()}


def contents(release: Path) -> dict[str, dict]:
    """Each table's manifest entry less its provenance, and its rows and comments in
    bi.duckdb: what a reader sees, whichever way the table came into the release."""
    tables = read_manifest(release)["tables"]
    with duckdb.connect(str(release / "bi.duckdb"), read_only=True) as con:
        return {
            name: {
                "manifest": {k: v for k, v in info.items() if k not in PROVENANCE},
                "rows": con.execute(f"select * from {name} order by all").fetchall(),
                "types": con.execute(f"describe {name}").fetchall(),
                "comments": con.execute(
                    "select column_name, comment from duckdb_columns() "
                    "where schema_name || '.' || table_name = ? order by column_index",
                    [name],
                ).fetchall()
                + con.execute(
                    "select '', comment from duckdb_tables() "
                    "where schema_name || '.' || table_name = ?",
                    [name],
                ).fetchall(),
            }
            for name, info in tables.items()
        }


def test_a_second_publish_of_the_same_data_links_every_table(warehouse):
    source, target = warehouse
    first = run_publish(source, target, 1, dbt_manifest=DESCRIBED_MANIFEST, analytics_docs=DOCS)
    mtimes = {p: p.stat().st_mtime_ns for p in first.path.rglob("*.parquet")}
    second = run_publish(source, target, 2, dbt_manifest=DESCRIBED_MANIFEST, analytics_docs=DOCS)

    tables = second.manifest["tables"]
    assert {name: t["published"] for name, t in tables.items()} == dict.fromkeys(
        PUBLISHED, "linked"
    )
    assert {t["linked_from"] for t in tables.values()} == {first.release_id}
    assert {t["written_in"] for t in tables.values()} == {first.release_id}
    assert {t["linked_by"] for t in tables.values()} == {"hard link"}
    assert (second.manifest["tables_linked"], second.manifest["tables_written"]) == (4, 0)
    # one file each, shared by both releases and never rewritten
    assert inodes(second.path) == inodes(first.path)
    assert {p: p.stat().st_mtime_ns for p in first.path.rglob("*.parquet")} == mtimes
    assert all((second.path / t["parquet"]).stat().st_nlink == 2 for t in tables.values())
    assert all(
        (second.path / t["parquet"]).stat().st_mode & 0o777 == 0o444 for t in tables.values()
    )
    # the copy reads the same (rows, types, comments), published by the second run
    assert contents(second.path) == contents(first.path)
    assert_complete(second.path, 1, run_id="run-2")
    with duckdb.connect(str(second.path / "bi.duckdb"), read_only=True) as con:
        assert con.execute("select release_id from publish_meta.release").fetchone() == (
            second.release_id,
        )


def test_a_changed_table_is_written_sanitised_and_the_others_linked(warehouse, tmp_path):
    """dim_b gets personal data and formulas, analytics.c goes, analytics.d comes: those are
    written (dim_b masked as a fresh publish masks it), the rest linked; the release equals a
    full publish of the same warehouse into an empty directory, file for file."""
    source, target = warehouse
    first = run_publish(source, target, 1)
    with duckdb.connect(str(source)) as con:
        con.execute("create or replace table main.dim_b (i integer, customer_name varchar)")
        con.executemany(
            "insert into main.dim_b values (?, ?)",
            [(i, raw) for i, (raw, *_rest) in enumerate(HOSTILE_TEXT)],
        )
        con.execute("drop table analytics.c")
        con.execute("create table analytics.d as select 1 as run_tag, 0 as i")
    second = run_publish(source, target, 2)

    tables = second.manifest["tables"]
    assert {name: t["published"] for name, t in tables.items()} == {
        "main.fct_a": "linked",
        "config.cat": "linked",
        "main.dim_b": "written",
        "analytics.d": "written",
    }
    assert tables["main.dim_b"]["written_in"] == second.release_id
    before, after = inodes(first.path), inodes(second.path)
    assert after["main.fct_a"] == before["main.fct_a"]
    assert after["config.cat"] == before["config.cat"]
    assert after["main.dim_b"] != before["main.dim_b"]
    with duckdb.connect(str(second.path / "bi.duckdb"), read_only=True) as con:
        assert con.execute("select * from main.dim_b order by i").fetchall() == [
            (i, published) for i, (_raw, published, *_rest) in enumerate(HOSTILE_TEXT)
        ]
        present = con.execute(
            "select schema_name || '.' || table_name from duckdb_tables() "
            "where schema_name <> 'publish_meta'"
        ).fetchall()
        assert sorted(name for (name,) in present) == sorted(tables)  # no analytics.c
        schemas = con.execute(
            "select schema_name from duckdb_schemas() where database_name = 'bi' "
            "and not internal order by all"
        ).fetchall()
        assert schemas == [("analytics",), ("config",), ("publish_meta",)]  # main: internal
    assert tables["main.dim_b"]["sanitised"]["customer_name"] == {
        "personal_data_masked": sum(row[2] for row in HOSTILE_TEXT),
        "formula_neutralised": sum(row[3] for row in HOSTILE_TEXT),
    }

    fresh = run_publish(source, tmp_path / "fresh", 2)
    assert {t["published"] for t in fresh.manifest["tables"].values()} == {"written"}
    assert contents(second.path) == contents(fresh.path)  # parquet_sha256 included

    # unchanged again: dim_b is linked now, its sanitised counts carried over
    third = run_publish(source, target, 3)
    assert {t["published"] for t in third.manifest["tables"].values()} == {"linked"}
    assert third.manifest["tables"]["main.dim_b"]["linked_from"] == second.release_id
    assert third.manifest["tables"]["main.dim_b"]["written_in"] == second.release_id
    assert contents(third.path) == contents(second.path)

    # the last analytics table goes: so does its schema, the rest linked
    with duckdb.connect(str(source)) as con:
        con.execute("drop table analytics.d")
    fourth = run_publish(source, target, 4)
    assert {t["published"] for t in fourth.manifest["tables"].values()} == {"linked"}
    with duckdb.connect(str(fourth.path / "bi.duckdb"), read_only=True) as con:
        schemas = con.execute(
            "select schema_name from duckdb_schemas() where database_name = 'bi' "
            "and not internal order by all"
        ).fetchall()
    assert schemas == [("config",), ("publish_meta",)]


def test_changed_docs_or_publish_code_rewrite_the_tables(warehouse, monkeypatch):
    source, target = warehouse
    run_publish(source, target, 1, dbt_manifest=DESCRIBED_MANIFEST, analytics_docs=DOCS)
    docs = {"c": TableDocs("The analytics table c, again.", DOCS["c"].columns)}
    second = run_publish(source, target, 1, dbt_manifest=DESCRIBED_MANIFEST, analytics_docs=docs)
    tables = second.manifest["tables"]
    assert [name for name, t in tables.items() if t["published"] == "written"] == ["analytics.c"]
    assert tables["analytics.c"]["description"] == "The analytics table c, again."
    with duckdb.connect(str(second.path / "bi.duckdb"), read_only=True) as con:
        comments = dict(
            con.execute(
                "select schema_name || '.' || table_name, comment from duckdb_tables()"
            ).fetchall()
        )
    assert comments["analytics.c"] == "The analytics table c, again."
    assert comments["main.fct_a"] == "The fct_a table, described by dbt."  # linked, kept

    monkeypatch.setattr("orchestration.publish.PUBLISH_CODE_VERSION", "another-version")
    third = run_publish(source, target, 1, dbt_manifest=DESCRIBED_MANIFEST, analytics_docs=docs)
    assert {t["published"] for t in third.manifest["tables"].values()} == {"written"}
    assert third.manifest["publish_code_version"] == "another-version"
    assert set(inodes(third.path).values()).isdisjoint(inodes(second.path).values())
    # the same tables but for their key, which holds the code version
    previous = contents(second.path)
    for name, table in contents(third.path).items():
        again = previous[name]
        assert table["manifest"].pop("source_checksum") != again["manifest"].pop("source_checksum")
        assert table == again, name


def test_a_link_across_devices_falls_back_to_a_copy(warehouse, monkeypatch):
    source, target = warehouse
    first = run_publish(source, target, 1)

    def cross_device(_src, _dst):
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr("orchestration.publish.os.link", cross_device)
    second = run_publish(source, target, 1)
    tables = second.manifest["tables"]
    assert {(t["published"], t["linked_by"]) for t in tables.values()} == {("linked", "copy")}
    assert set(inodes(second.path).values()).isdisjoint(inodes(first.path).values())
    assert {p.stat().st_mode & 0o777 for p in second.path.rglob("*.parquet")} == {0o444}
    assert_complete(second.path, 1)


def test_pruning_old_releases_keeps_the_linked_files_of_the_current_one(warehouse):
    """Four publishes of the same data: the first release is pruned, its files live on in the
    ones linked from it, and a reader that opened it keeps reading."""
    source, target = warehouse
    first = run_publish(source, target, 1)
    reader = duckdb.connect(str(target / "bi.duckdb"), read_only=True)
    try:
        releases = [run_publish(source, target, run) for run in (2, 3, 4)]
        assert not first.path.exists()
        assert reader.execute("select count(*) from main.fct_a").fetchone()[0] == 503
    finally:
        reader.close()
    last = releases[-1]
    assert sorted(p.name for p in (target / RELEASES_DIR).iterdir()) == sorted(
        r.release_id for r in releases[-2:]
    )
    assert inodes(last.path) == inodes(releases[-2].path)
    assert {t["written_in"] for t in last.manifest["tables"].values()} == {first.release_id}
    assert_complete(last.path, 1, run_id="run-4")


# ---------------------------------------------------------------- concurrency and kills

READER = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    import duckdb

    database, out, stop, *tables = sys.argv[1:]
    with open(out, "a") as fh:
        while not Path(stop).exists():
            try:
                con = duckdb.connect(database, read_only=True)  # a fresh connection each poll
                try:
                    record = {"run_id": con.execute(
                        "select run_id from publish_meta.release").fetchone()[0]}
                    for name in tables:
                        record[name] = list(con.execute(
                            f"select count(*), min(run_tag), max(run_tag) from {name}"
                        ).fetchone())
                finally:
                    con.close()
            except Exception as exc:
                record = {"error": repr(exc)}
            fh.write(json.dumps(record) + "\\n")
            fh.flush()
    """
)

KILLABLE = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from orchestration.publish import publish

    source, target, manifest, pause_at, run_id = sys.argv[1:6]

    def on_stage(stage):
        if stage == pause_at:
            print("paused", stage, flush=True)
            time.sleep(600)

    publish(Path(source), Path(target), run_id=run_id, as_of=None,
            dbt_manifest=json.loads(Path(manifest).read_text()), on_stage=on_stage)
    """
)


def child_env() -> dict[str, str]:
    return os.environ | {"PYTHONPATH": str(ROOT)}


def wait_for(condition, what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def read_records(path: Path) -> list[dict]:
    if not path.exists():
        return []
    lines = path.read_text().splitlines()
    return [json.loads(line) for line in lines if line.endswith("}")]


@pytest.mark.parametrize("every", [1, 2], ids=["all-changed", "every-other-unchanged"])
def test_reader_never_sees_an_error_or_a_mixed_release(warehouse, tmp_path, every):
    """Six publishes of new data, or new data every other one (the others link every table)."""
    source, target = warehouse
    manifests = {"run-1": run_publish(source, target, 1).manifest}
    data = {"run-1": 1}
    script, out, stop = tmp_path / "reader.py", tmp_path / "polls.jsonl", tmp_path / "stop"
    script.write_text(READER)
    reader = subprocess.Popen(
        [sys.executable, script, target / "bi.duckdb", out, stop, *sorted(PUBLISHED)]
    )
    try:
        wait_for(lambda: any(r.get("run_id") == "run-1" for r in read_records(out)), "run-1")
        for run in range(2, 8):  # six publishes, each of a different size
            if run % every == 0:
                write_source(source, run)
            data[f"run-{run}"] = run if run % every == 0 else data[f"run-{run - 1}"]
            manifests[f"run-{run}"] = run_publish(source, target, run).manifest
            wait_for(
                lambda run=run: any(r.get("run_id") == f"run-{run}" for r in read_records(out)),
                f"the reader to see run-{run}",
            )
    finally:
        stop.touch()
        reader.wait(timeout=WAIT_SECONDS)
    records = read_records(out)
    assert [r for r in records if "error" in r] == []
    assert {r["run_id"] for r in records} == set(manifests)
    for record in records:
        manifest = manifests[record["run_id"]]
        run = data[record["run_id"]]
        for name in PUBLISHED:
            assert record[name] == [manifest["tables"][name]["rows"], run, run], record
    linked = [m["tables_linked"] for _, m in sorted(manifests.items())]
    assert linked == ([0] * 7 if every == 1 else [0, 0, 4, 0, 4, 0, 4])


@pytest.mark.parametrize("linking", [False, True], ids=["changed", "unchanged"])
@pytest.mark.parametrize("stage", STAGES)
def test_killed_publish_leaves_a_complete_release_and_is_cleaned_up(
    warehouse, tmp_path, stage, linking
):
    """Killed at each stage, a publish of new data (every table written) or of the same data
    (every table linked to the files of the release it must leave whole)."""
    source, target = warehouse
    first = run_publish(source, target, 1)
    files = {p: sha256(p) for p in first.path.rglob("*") if p.is_file()}
    data = 1 if linking else 2
    write_source(source, data)
    (manifest := tmp_path / "dbt_manifest.json").write_text(json.dumps(DBT_MANIFEST))
    (script := tmp_path / "killable.py").write_text(KILLABLE)
    child = subprocess.Popen(
        [sys.executable, str(script), str(source), str(target), str(manifest), stage, "run-2"],
        stdout=subprocess.PIPE,
        text=True,
        env=child_env(),
    )
    try:
        ready, _, _ = select.select([child.stdout], [], [], WAIT_SECONDS)
        assert ready and child.stdout.readline().split() == ["paused", stage]
        # The working warehouse is free again: a refresh could write to it now.
        duckdb.connect(str(source)).close()
        # A second publish into the same directory is refused, not interleaved.
        with pytest.raises(PublishError, match="another publish"):
            run_publish(source, target, 2)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=WAIT_SECONDS)

    releases = target / RELEASES_DIR
    killed = [p for p in releases.iterdir() if p.name != first.release_id]
    assert len(killed) == 1  # what the killed publish left
    if stage == "swapped":
        assert current_release(target) == killed[0]
        assert_complete(killed[0], data, run_id="run-2")
    else:
        assert current_release(target) == first.path
        assert os.readlink(target / CURRENT_LINK) == f"{RELEASES_DIR}/{first.release_id}"
        assert killed[0].name.startswith(TMP_PREFIX) == (stage != "release_renamed")
    assert_complete(first.path, 1)
    assert {p: sha256(p) for p in first.path.rglob("*") if p.is_file()} == files

    if not linking:
        write_source(source, 3)
    third = run_publish(source, target, 3)
    kept = [third.release_id, killed[0].name if stage == "swapped" else first.release_id]
    assert sorted(p.name for p in releases.iterdir()) == sorted(kept)
    assert [p for p in target.iterdir() if p.name.startswith(TMP_PREFIX)] == []
    assert_complete(third.path, 1 if linking else 3, run_id="run-3")
    published = {t["published"] for t in third.manifest["tables"].values()}
    assert published == {"linked" if linking else "written"}
    if linking:  # the killed copy's links are gone, the files kept by the releases left
        assert {p.stat().st_nlink for p in third.path.rglob("*.parquet")} == {2}


# ---------------------------------------------------------------- the Dagster asset


def test_asset_publishes_every_mart_seed_and_analytics_table(tmp_path, monkeypatch):
    """The asset against the project's real dbt manifest, on a warehouse holding one row in
    every BI table it names (documented columns, as text but dates and timestamps, which the
    partition expressions of the tables published by part read) and a staging table."""
    from dagster import AssetKey, materialize
    from dagster_duckdb import DuckDBResource

    from orchestration.assets.dbt import warehouse_dbt_assets
    from orchestration.assets.publish import build_published_warehouse
    from orchestration.assets.value import customer_concentration

    monkeypatch.delenv("WH_PUBLISH_DIR", raising=False)
    manifest_path = ROOT / "target" / "manifest.json"
    nodes = bi_dbt_nodes(json.loads(manifest_path.read_text()))
    source = tmp_path / "wh.duckdb"
    with duckdb.connect(str(source)) as con:
        for n in nodes:
            columns = {c: (d.get("data_type") or "").lower() for c, d in n["columns"].items()}
            values = {
                c: AS_OF_SQL
                if c == "as_of_on" or kind == "date"
                else f"cast({AS_OF_SQL} as timestamp)"
                if kind.startswith("timestamp")
                else repr("v")
                for c, kind in (columns or {"id": ""}).items()
            }
            con.execute(
                f'create table "{n["schema"]}"."{n["alias"]}" as select '
                + ", ".join(f'{value} as "{c}"' for c, value in values.items())
            )
        con.execute("create table main.stg_crm__contacts as select 'Ann' as contact_name")
        con.execute("create schema analytics")
        con.execute("create table analytics.customer_concentration as select 0.25 as hhi")

    asset_def = build_published_warehouse(warehouse_dbt_assets, [customer_concentration])
    deps = asset_def.asset_deps[AssetKey("published_warehouse")]
    assert AssetKey("dim_customers") in deps and customer_concentration.key in deps
    assert AssetKey("stg_crm__contacts") not in deps
    resources = {"duckdb": DuckDBResource(database=str(source)), "settings": Settings.from_env()}
    result = materialize([asset_def], resources=resources)
    assert result.success

    target = tmp_path / "published"
    expected = {f"{published_schema(n)}.{n['alias']}" for n in nodes}
    assert {"catalogue.indicator_catalogue", "catalogue.code_labels", "config.fx_rates"} <= expected
    assert "main.dim_customers" in expected
    expected |= {"analytics.customer_concentration"}
    manifest = read_manifest(current_release(target))
    assert set(manifest["tables"]) == expected
    assert all(t["rows"] == 1 for t in manifest["tables"].values())
    # descriptions: dbt's for the marts and seeds, the asset's for the analytics table (whose
    # one column here, hhi, is not among those it describes, so the manifest lists it)
    [dim_customers] = [n for n in nodes if n["alias"] == "dim_customers"]
    with duckdb.connect(str(target / "bi.duckdb"), read_only=True) as bi:
        comments = dict(
            bi.execute(
                "select schema_name || '.' || table_name, comment from duckdb_tables()"
            ).fetchall()
        )
        region = bi.execute(
            "select comment from duckdb_columns() where schema_name = 'main' "
            "and table_name = 'dim_customers' and column_name = 'region'"
        ).fetchone()[0]
    assert comments["main.dim_customers"] == " ".join(dim_customers["description"].split())
    assert region == " ".join(dim_customers["columns"]["region"]["description"].split())
    assert comments["analytics.customer_concentration"] == " ".join(
        customer_concentration.specs_by_key[customer_concentration.key].description.split()
    )
    assert manifest["tables"]["analytics.customer_concentration"]["undescribed_columns"] == ["hhi"]
    assert manifest["run_id"] == result.run_id
    assert manifest["as_of"] == "2026-06-30"  # read back from customer_facts.as_of_on
    [materialization] = result.asset_materializations_for_node("published_warehouse")
    assert materialization.metadata["release"].value == manifest["release"]
    counts = {k: materialization.metadata[k].value for k in ("tables_written", "tables_linked")}
    assert counts == {"tables_written": len(expected), "tables_linked": 0}
    # again with nothing changed: every table linked, none written
    again = materialize([asset_def], resources=resources)
    [materialization] = again.asset_materializations_for_node("published_warehouse")
    counts = {k: materialization.metadata[k].value for k in ("tables_written", "tables_linked")}
    assert counts == {"tables_written": 0, "tables_linked": len(expected)}


def test_a_failed_upstream_step_publishes_nothing(warehouse, tmp_path, monkeypatch):
    """A refresh that fails before the publish (here a Python asset that raises) skips it:
    the last good release stays current."""
    from dagster import asset, materialize
    from dagster_duckdb import DuckDBResource

    from orchestration.assets.dbt import warehouse_dbt_assets
    from orchestration.assets.publish import build_published_warehouse

    monkeypatch.setenv("WH_PUBLISH_DIR", str(tmp_path / "published"))
    source, target = warehouse
    first = run_publish(source, target, 1)

    @asset(key=["analytics", "c"])
    def failing_analytics_asset() -> None:
        raise RuntimeError("the refresh failed")

    asset_def = build_published_warehouse(warehouse_dbt_assets, [failing_analytics_asset])
    result = materialize(
        [failing_analytics_asset, asset_def],
        resources={"duckdb": DuckDBResource(database=str(source)), "settings": Settings.from_env()},
        raise_on_error=False,
    )
    assert not result.success
    assert result.asset_materializations_for_node("published_warehouse") == []
    assert current_release(target) == first.path
    assert [p.name for p in (target / RELEASES_DIR).iterdir()] == [first.release_id]


def test_analytics_assets_describe_their_tables_and_columns():
    """What the publish reads from the analytics assets (bi_metadata): a description for
    every table, the column descriptions of the modules that declare them, the empty
    reasons; and the churn backtest's empty tables have the columns it describes."""
    from orchestration.assets import actions, churn, indices, renewal, value
    from orchestration.assets.publish import analytics_docs
    from orchestration.churn import tables as churn_tables
    from orchestration.definitions import ANALYTICS_ASSETS, action_assets
    from orchestration.fitcache import FIT_COLUMN_DOCS

    docs = analytics_docs([*ANALYTICS_ASSETS, action_assets])
    assert all(table.description for table in docs.values())
    declared = {
        **churn.COLUMN_DOCS,
        **indices.COLUMN_DOCS,
        **actions.COLUMN_DOCS,
        "renewal_book": renewal.COLUMN_DOCS,
        "customer_concentration": value.COLUMN_DOCS,
    }
    for table, columns in declared.items():
        assert docs[table].columns == columns, table
        assert all(text.strip() for text in columns.values()), table
    assert docs["segment_migration"].empty_reason == indices.EMPTY_REASONS["segment_migration"]
    assert docs["customer_indices"].empty_reason is None  # every customer has a row
    assert "score_window" in docs["management_level"].columns
    for name, types in (
        ("early_warning_backtest", churn_tables.BACKTEST_TYPES),
        ("early_warning_reliability", churn_tables.RELIABILITY_TYPES),
    ):
        assert [*types, "as_of", *FIT_COLUMN_DOCS] == list(churn.COLUMN_DOCS[name]), name


def test_a_mart_that_is_a_view_is_published_as_a_table(warehouse):
    """A mart materialised as a view in the working warehouse (loyalty_indicator_catalogue,
    a view over its seed) is found and published as a table of the same rows; a view of
    no BI node (a staging one) is not published."""
    source, target = warehouse
    with duckdb.connect(str(source)) as con:
        con.execute("create view main.lookup_v as select i, label from main.cat")
        con.execute("create view main.stg_v as select 1 as i")
    manifest = copy.deepcopy(DBT_MANIFEST)
    manifest["nodes"]["x.view"] = node("model", ["marts", "core", "lookup_v"], "view")
    manifest["nodes"]["x.stg_view"] = node("model", ["staging", "crm", "stg_v"], "view")
    release = run_publish(source, target, 1, manifest)
    assert set(release.manifest["tables"]) == PUBLISHED | {"main.lookup_v"}
    assert release.manifest["tables"]["main.lookup_v"]["rows"] == 3
    with duckdb.connect(str(target / "bi.duckdb"), read_only=True) as bi:
        kind = bi.execute(
            "select count(*) from duckdb_tables() where schema_name = 'main' "
            "and table_name = 'lookup_v'"
        ).fetchone()[0]
        rows = bi.execute("select i, label from main.lookup_v order by i").fetchall()
    assert kind == 1
    assert rows == [(0, "row 0"), (1, "row 1"), (2, "row 2")]
