"""Tables published by part (`config.meta.publish_partition_by`): one Parquet file per part,
the parts a day left unchanged linked from the last release, the others written and
sanitised, and bi.duckdb's table equal to the one a publish into an empty folder gives.

The working warehouse holds main.fct_p, published by (year(booked_on), kind): rows of 2024,
2025 and 2026 of kinds a and b, `rows_per_part` rows each.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import duckdb
import pytest

from orchestration import publish as publishing
from orchestration.publish import PublishError, part_name, publish

PARTITION_BY = ["year(booked_on)", "kind"]
PARTS = {f"{year}_{kind}" for year in (2024, 2025, 2026) for kind in "ab"}
PROVENANCE = ("published", "linked_from", "linked_by", "written_in")


def manifest(partition_by: list[str] = PARTITION_BY) -> dict:
    def node(name: str, meta: dict) -> dict:
        return {
            "resource_type": "model",
            "fqn": ["loyalty_warehouse", "marts", "core", name],
            "name": name,
            "alias": name,
            "schema": "main",
            "config": {"materialized": "table", "meta": meta},
        }

    nodes = [node("fct_p", {"publish_partition_by": partition_by}), node("dim_b", {})]
    return {"nodes": {f"model.{n['name']}": n for n in nodes}}


def write_source(path: Path, rows_per_part: int = 4) -> None:
    with duckdb.connect(str(path)) as con:
        con.execute("create or replace table main.dim_b as select range as i from range(3)")
        con.execute(
            "create or replace table main.fct_p as select "
            "make_date(y, 1 + (i % 12), 1) as booked_on, kind, "
            "'note ' || y || kind || i as note, i * 1.5 as amount "
            "from range(2024, 2027) as years(y), (values ('a'), ('b')) as kinds(kind), "
            f"range({rows_per_part}) as rows(i)"
        )


def run(source: Path, target: Path, run_id: str, dbt_manifest: dict | None = None):
    return publish(
        source,
        target,
        run_id=run_id,
        as_of="2026-06-30",
        dbt_manifest=dbt_manifest or manifest(),
    )


def inode(release: Path, entry: dict) -> int:
    return (release / entry["parquet"]).stat().st_ino


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def bi_rows(release: Path) -> list[tuple]:
    with duckdb.connect(str(release / "bi.duckdb"), read_only=True) as con:
        return con.execute("select * from main.fct_p order by all").fetchall()


def parquet_rows(release: Path) -> list[tuple]:
    folder = release / "parquet" / "main" / "fct_p"
    with duckdb.connect() as con:
        return con.execute(
            f"select * from read_parquet('{folder}/*.parquet') order by all"
        ).fetchall()


def without_provenance(entry: dict) -> dict:
    kept = {k: v for k, v in entry.items() if k not in (*PROVENANCE, "parquet_sha256")}
    if "partitions" in kept:
        kept["partitions"] = {
            name: {k: v for k, v in part.items() if k not in (*PROVENANCE, "parquet_sha256")}
            for name, part in kept["partitions"].items()
        }
        kept.pop("partitions_written"), kept.pop("partitions_linked")
    return kept


@pytest.fixture
def warehouse(tmp_path: Path) -> tuple[Path, Path]:
    source = tmp_path / "wh.duckdb"
    write_source(source)
    return source, tmp_path / "published"


def test_a_table_published_by_part_has_one_file_per_part_with_its_rows(warehouse):
    source, target = warehouse
    release = run(source, target, "run-1")
    info = release.manifest["tables"]["main.fct_p"]
    assert info["parquet"] == "parquet/main/fct_p"
    assert info["partition_by"] == PARTITION_BY
    assert set(info["partitions"]) == PARTS
    assert (info["partitions_written"], info["partitions_linked"]) == (6, 0)
    with duckdb.connect(str(release.path / "bi.duckdb"), read_only=True) as con:
        checksums = dict(
            (part_name((year, kind)), (rows, str(total)))
            for year, kind, rows, total in con.execute(
                "select year(booked_on), kind, count(*), sum(hash(t)) from main.fct_p as t "
                "group by all"
            ).fetchall()
        )
        whole = con.execute("select count(*), sum(hash(t)) from main.fct_p as t").fetchone()
    for name, part in info["partitions"].items():
        path = release.path / part["parquet"]
        assert part["parquet"] == f"parquet/main/fct_p/{name}.parquet"
        assert (part["rows"], part["content_checksum"]) == checksums[name]
        assert part["rows"] == 4
        assert sha256(path) == part["parquet_sha256"]
        assert path.stat().st_size == part["parquet_bytes"]
        with duckdb.connect() as con:
            values = con.execute(
                f"select distinct year(booked_on), kind from read_parquet('{path}')"
            ).fetchall()
        assert [part_name(row) for row in values] == [name]
        assert part["values"] == name.split("_")
    assert (info["rows"], info["content_checksum"]) == (24, str(whole[1]))
    assert info["parquet_bytes"] == sum(p["parquet_bytes"] for p in info["partitions"].values())
    assert parquet_rows(release.path) == bi_rows(release.path)
    with duckdb.connect(str(source), read_only=True) as con:
        assert (
            bi_rows(release.path) == con.execute("select * from main.fct_p order by all").fetchall()
        )
    # a table without partition expressions keeps its one file
    assert release.manifest["tables"]["main.dim_b"]["parquet"] == "parquet/main/dim_b.parquet"
    assert release.manifest["database_copies"] == 0


def test_the_parts_a_day_left_unchanged_are_linked_and_the_others_written(warehouse, tmp_path):
    """2026/a gets a phone number and a formula, 2024/b goes, 2027/a comes: those two parts
    are written (2026/a sanitised), the four others linked; the release reads as a publish of
    the same warehouse into an empty folder does. Then the same data again (every part
    linked, the sanitised counts carried), then one more part changed (2026/a still linked,
    its counts still the table's)."""
    source, target = warehouse
    first = run(source, target, "run-1")
    phone, formula = "张伟 13812345678", "=HYPERLINK(1)"
    with duckdb.connect(str(source)) as con:
        con.execute(
            "update main.fct_p set note = case when amount = 0 then ? else ? end "
            "where year(booked_on) = 2026 and kind = 'a' and amount < 3",
            [phone, formula],
        )
        con.execute("delete from main.fct_p where year(booked_on) = 2024 and kind = 'b'")
        con.execute("insert into main.fct_p values (date '2027-01-01', 'a', 'new', 1.0)")
    second = run(source, target, "run-2")

    info = second.manifest["tables"]["main.fct_p"]
    parts = info["partitions"]
    assert info["published"] == "written"
    assert {name: p["published"] for name, p in parts.items()} == {
        "2024_a": "linked",
        "2025_a": "linked",
        "2025_b": "linked",
        "2026_b": "linked",
        "2026_a": "written",
        "2027_a": "written",
    }
    assert (info["partitions_written"], info["partitions_linked"]) == (2, 4)
    before = first.manifest["tables"]["main.fct_p"]["partitions"]
    for name, part in parts.items():
        if name in before:
            same_file = inode(second.path, part) == inode(first.path, before[name])
            assert same_file == (part["published"] == "linked"), name
    assert parts["2024_a"]["written_in"] == first.release_id
    assert parts["2026_a"]["written_in"] == second.release_id
    assert not (second.path / "parquet/main/fct_p/2024_b.parquet").exists()
    sanitised = {"note": {"personal_data_masked": 1, "formula_neutralised": 1}}
    assert parts["2026_a"]["sanitised"] == sanitised
    assert info["sanitised"] == sanitised
    assert "sanitised" not in parts["2027_a"]
    rows = bi_rows(second.path)
    notes = {note for _, _, note, _ in rows}
    assert {"张伟 138****5678", "'=HYPERLINK(1)"} <= notes
    assert phone not in notes and formula not in notes
    assert not any(d.year == 2024 and kind == "b" for d, kind, _, _ in rows)
    assert parquet_rows(second.path) == rows
    with duckdb.connect(str(second.path / "bi.duckdb"), read_only=True) as con:
        schemas = con.execute("select schema_name from duckdb_schemas() where not internal")
        assert "publish_scratch" not in {name for (name,) in schemas.fetchall()}

    fresh = run(source, tmp_path / "fresh", "run-2")
    assert bi_rows(fresh.path) == rows
    assert without_provenance(fresh.manifest["tables"]["main.fct_p"]) == without_provenance(info)

    third = run(source, target, "run-3")
    info = third.manifest["tables"]["main.fct_p"]
    assert info["published"] == "linked"
    assert {p["published"] for p in info["partitions"].values()} == {"linked"}
    assert {p["linked_by"] for p in info["partitions"].values()} == {"hard link"}
    assert info["linked_by"] == "hard link"
    assert info["sanitised"] == sanitised
    assert bi_rows(third.path) == rows

    with duckdb.connect(str(source)) as con:
        con.execute("update main.fct_p set amount = amount + 1 where year(booked_on) = 2025")
    fourth = run(source, target, "run-4")
    info = fourth.manifest["tables"]["main.fct_p"]
    assert {n for n, p in info["partitions"].items() if p["published"] == "written"} == {
        "2025_a",
        "2025_b",
    }
    assert info["sanitised"] == sanitised  # 2026/a's, linked
    assert info["partitions"]["2026_a"]["written_in"] == second.release_id
    fresh = run(source, tmp_path / "fresh-4", "run-4")
    assert bi_rows(fourth.path) == bi_rows(fresh.path)
    assert without_provenance(fresh.manifest["tables"]["main.fct_p"]) == without_provenance(info)


def test_a_null_partition_value_publishes_the_table_whole(warehouse):
    source, target = warehouse
    with duckdb.connect(str(source)) as con:
        con.execute("insert into main.fct_p values (null, 'a', 'undated', 1.0)")
    info = run(source, target, "run-1").manifest["tables"]["main.fct_p"]
    assert "partitions" not in info
    assert info["parquet"] == "parquet/main/fct_p.parquet"
    assert "NULL" in info["unpartitioned_because"]
    assert info["rows"] == 25


def test_a_partition_expression_that_fails_names_the_table(warehouse):
    source, target = warehouse
    with pytest.raises(PublishError, match=r"main\.fct_p.*publish_partition_by"):
        run(source, target, "run-1", manifest(["year(no_such_column)"]))
    assert not (target / "current").exists()


def test_bi_duckdb_is_written_afresh_after_database_copies_max(warehouse, monkeypatch):
    source, target = warehouse
    monkeypatch.setattr(publishing, "DATABASE_COPIES_MAX", 2)
    copies, written = [], []
    for n in range(1, 5):
        release = run(source, target, f"run-{n}")
        copies.append(release.manifest["database_copies"])
        written.append(release.manifest["tables_written"])
    assert copies == [0, 1, 2, 0]
    assert written == [2, 0, 0, 2]


def test_part_names_are_safe_file_names_and_distinct():
    assert part_name((2026, "month")) == "2026_month"
    assert part_name((dt.date(2026, 1, 1),)) == "2026-01-01"
    odd = [("a b",), ("a-b",), ("a/b",), ("",), (None,), ("null",), ("销售",)]
    names = [part_name(values) for values in odd]
    assert len(set(names)) == len(names)
    assert all(name and all(c.isalnum() or c in "-_" for c in name) for name in names)
    assert names[1] == "a-b"  # safe already: no digest
