"""The published copy read as a BI tool reads it (DuckDB's catalogue functions and
information_schema, the Parquet files' metadata), on the firm the `built` fixture publishes:
every table and column described, the layout docs/bi.md gives, a label for every code, no
reserved-word column, no unexplained empty table, and `is_complete_period` on period rows."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from orchestration.publish import CATALOGUE_TABLES, CODED_COLUMNS

pytestmark = pytest.mark.slow

# Tables of the weekly job, which the refresh jobs of the fixture do not run.
WEEKLY_TABLES = {"analytics.customer_actions", "analytics.action_outcomes",
                 "analytics.action_deliveries"}  # fmt: skip


@pytest.fixture(scope="module")
def published(built) -> Path:
    return Path(built["database"]).parent / "published"


@pytest.fixture(scope="module")
def bi(published):
    with duckdb.connect(str(published / "bi.duckdb"), read_only=True) as con:
        yield con


@pytest.fixture(scope="module")
def manifest(published) -> dict:
    return json.loads((published / "manifest.json").read_text(encoding="utf-8"))


def test_every_table_and_column_has_a_comment(bi):
    tables = bi.execute(
        "select table_schema || '.' || table_name, table_comment from information_schema.tables "
        "where table_catalog = current_database()"
    ).fetchall()
    columns = bi.execute(
        "select schema_name || '.' || table_name || '.' || column_name, comment "
        "from duckdb_columns() where database_name = current_database() and not internal"
    ).fetchall()
    assert len(tables) > 40 and len(columns) > 600
    assert [name for name, comment in tables if not (comment or "").strip()] == []
    assert [name for name, comment in columns if not (comment or "").strip()] == []


def parquet_files(info: dict) -> list[str]:
    """A table's Parquet files: its one file, or one per part of a table published by part."""
    return [part["parquet"] for part in info.get("partitions", {}).values()] or [info["parquet"]]


def test_parquet_files_carry_the_same_descriptions(bi, published, manifest):
    for key, info in manifest["tables"].items():
        schema, table = key.split(".", 1)
        with duckdb.connect() as con:
            kvs = [
                dict(
                    con.execute(
                        "select decode(key), decode(value) from parquet_kv_metadata(?)",
                        [str(published / path)],
                    ).fetchall()
                )
                for path in parquet_files(info)
            ]
        kv = kvs[0]
        assert all(other == kv for other in kvs), key
        comment = bi.execute(
            "select comment from duckdb_tables() where schema_name = ? and table_name = ?",
            [schema, table],
        ).fetchone()[0]
        columns = dict(
            bi.execute(
                "select column_name, comment from duckdb_columns() "
                "where schema_name = ? and table_name = ?",
                [schema, table],
            ).fetchall()
        )
        assert kv["description"] == comment, key
        assert json.loads(kv["column_descriptions"]) == {
            column: comment or "" for column, comment in columns.items()
        }, key


def test_marts_analytics_config_and_catalogue_each_in_their_schema(bi):
    schemas = {
        name: schema
        for schema, name in bi.execute(
            "select schema_name, table_name from duckdb_tables() "
            "where database_name = current_database()"
        ).fetchall()
    }
    seeds = {p.stem for p in (Path(__file__).parents[1] / "seeds").glob("*.csv")}
    assert {schemas[s] for s in seeds & CATALOGUE_TABLES} == {"catalogue"}
    assert {schemas[s] for s in seeds - CATALOGUE_TABLES} == {"config"}
    assert {"fx_rates", "lifecycle_rules", "segment_actions"} <= seeds - CATALOGUE_TABLES
    assert schemas["loyalty_indicators"] == schemas["dim_customers"] == "main"
    assert schemas["management_level"] == "analytics"
    assert set(schemas.values()) == {"main", "analytics", "config", "catalogue", "publish_meta"}


def test_no_column_is_named_by_a_reserved_word(bi):
    reserved = bi.execute(
        "select c.schema_name || '.' || c.table_name || '.' || c.column_name "
        "from duckdb_columns() as c join duckdb_keywords() as k "
        "on lower(c.column_name) = k.keyword_name "
        "where k.keyword_category = 'reserved' and c.database_name = current_database()"
    ).fetchall()
    assert reserved == []
    assert "score_window" in {
        c for (c,) in bi.execute("select column_name from duckdb_columns()").fetchall()
    }


def test_every_code_has_an_english_and_a_chinese_label(bi, manifest):
    present = {
        row[0]
        for row in bi.execute(
            "select schema_name || '.' || table_name || '.' || column_name from duckdb_columns() "
            "where database_name = current_database()"
        ).fetchall()
    }
    # the list stays true: every coded column is in the copy, but for the weekly job's tables
    assert [
        key
        for key in CODED_COLUMNS
        if key not in present and ".".join(key.split(".")[:2]) not in WEEKLY_TABLES
    ] == []
    unlabelled = {}
    for key, domain in CODED_COLUMNS.items():
        if key not in present:
            continue
        schema, table, column = key.split(".")
        codes = bi.execute(
            f'select distinct cast("{column}" as varchar) from {schema}.{table} '
            f'where "{column}" is not null except select code from catalogue.code_labels '
            "where domain = ? and label_en <> '' and label_zh <> ''",
            [domain],
        ).fetchall()
        if codes:
            unlabelled[key] = sorted(c for (c,) in codes)
    assert unlabelled == {}
    assert not [t for t in manifest["tables"].values() if t.get("unlabelled_codes")]
    east = bi.execute(
        "select label_en, label_zh from catalogue.code_labels "
        "where domain = 'region' and code = 'east'"
    ).fetchone()
    assert east == ("East China", "华东")


def test_indicator_catalogue_has_names_formula_unit_grain_and_source(bi):
    rows = bi.execute(
        "select indicator_code, name_en, name_zh, formula, unit, grain, source "
        "from catalogue.indicator_catalogue"
    ).fetchall()
    assert len(rows) > 50
    assert [r[0] for r in rows if not all((v or "").strip() for v in r)] == []
    h3 = [r for r in rows if r[0] == "H3"][0]
    assert h3[1:3] == ("Customer management level", "客户管理水平")


def column_names(bi, table: str) -> set[str]:
    return {
        c
        for (c,) in bi.execute(
            "select column_name from duckdb_columns() where schema_name || '.' || table_name = ?",
            [table],
        ).fetchall()
    }


def test_indicator_names_are_in_the_catalogue_not_on_every_row(bi, manifest):
    """loyalty_indicators and loyalty_benchmarks hold codes, no names; the contracted
    main.loyalty_indicator_catalogue (a view in the warehouse, a table here) names every code
    of both, once, with the seed's names."""
    for table in ("main.loyalty_indicators", "main.loyalty_benchmarks"):
        columns = column_names(bi, table)
        assert "indicator_code" in columns, table
        assert [c for c in columns if "name" in c] == [], table
    unnamed = bi.execute(
        "select distinct i.indicator_code from main.loyalty_indicators as i "
        "left join main.loyalty_indicator_catalogue as c on i.indicator_code = c.indicator_code "
        "where c.indicator_code is null "
        "union select distinct b.indicator_code from main.loyalty_benchmarks as b "
        "left join main.loyalty_indicator_catalogue as c on b.indicator_code = c.indicator_code "
        "where c.indicator_code is null"
    ).fetchall()
    assert unnamed == []
    codes, distinct = bi.execute(
        "select count(*), count(distinct indicator_code) from main.loyalty_indicator_catalogue"
    ).fetchone()
    assert codes == distinct == manifest["tables"]["catalogue.indicator_catalogue"]["rows"]
    assert bi.execute(
        "select indicator_name_en, indicator_name_zh, indicator_group, direction "
        "from main.loyalty_indicator_catalogue where indicator_code = 'B2'"
    ).fetchone() == ("Churn rate", "客户流失率", "retention", "lower_is_better")
    differ = bi.execute(
        "select count(*) from main.loyalty_indicator_catalogue as v "
        "full join catalogue.indicator_catalogue as s on v.indicator_code = s.indicator_code "
        "where v.indicator_name_en is distinct from s.name_en "
        "or v.indicator_name_zh is distinct from s.name_zh"
    ).fetchone()[0]
    assert differ == 0


def test_an_empty_table_says_why(bi, manifest):
    for key, info in manifest["tables"].items():
        if info["rows"] == 0 and key.startswith("analytics."):
            assert info.get("empty_reason"), key
            comment = bi.execute(
                "select comment from duckdb_tables() where schema_name || '.' || table_name = ?",
                [key],
            ).fetchone()[0]
            assert comment.endswith(info["empty_reason"]), key
            assert "Empty in this release: " in comment


def test_period_rows_say_whether_the_period_is_complete(bi):
    as_of = bi.execute("select as_of from publish_meta.release").fetchone()[0]
    for table in ("analytics.management_level", "analytics.loyalty_extra_revenue"):
        rows = bi.execute(f"select window_end_on, is_complete_period from {table}").fetchall()
        assert rows and all(complete == (end <= as_of) for end, complete in rows), table
    for table in ("main.loyalty_indicators", "main.loyalty_retention"):
        columns = column_names(bi, table)
        assert "is_complete_period" in columns, table


def test_the_daily_publish_linked_the_tables_the_day_left_unchanged(published, manifest):
    """The fixture publishes twice (full, then incremental refresh): the seeds did not change
    between the two, so the second release shares their Parquet files with the first (the
    same inode), and the same tables in its bi.duckdb, as does loyalty_indicator_catalogue (a
    view over a seed); a table is written exactly when its source checksum moved (an analytics
    table's fit time; loyalty_indicators when a float sum came out in another order)."""
    previous = published / "releases" / manifest["previous_release"]
    tables = manifest["tables"]
    seeds = {name for name in tables if name.split(".")[0] in ("config", "catalogue")}
    seeds.add("main.loyalty_indicator_catalogue")
    assert {tables[name]["published"] for name in seeds} == {"linked"}
    assert manifest["tables_linked"] + manifest["tables_written"] == len(tables)
    last = json.loads((previous / "manifest.json").read_text(encoding="utf-8"))["tables"]
    for name, info in tables.items():
        moved = info["source_checksum"] != last[name]["source_checksum"]
        assert (info["published"] == "written") == moved, name
    for name, info in tables.items():
        if "partitions" in info:  # file by file: a linked part shares the last release's
            before = last[name].get("partitions", {})
            for part, entry in info["partitions"].items():
                if part in before:
                    here = (published / "current" / entry["parquet"]).stat().st_ino
                    was = (previous / before[part]["parquet"]).stat().st_ino
                    assert (here == was) == (entry["published"] == "linked"), (name, part)
            continue
        here = (published / "current" / info["parquet"]).stat().st_ino
        before = (previous / info["parquet"]).stat().st_ino
        assert (here == before) == (info["published"] == "linked"), name


def test_the_largest_facts_and_marts_are_published_by_year(bi, published, manifest):
    """loyalty_indicators, loyalty_cohort_retention, fct_orders and fct_interactions: one
    Parquet file per year, which read together hold the table's rows (the manifest's count
    and checksum)."""
    for name, column in (
        ("main.loyalty_indicators", "period_start_on"),
        ("main.loyalty_cohort_retention", "observed_period_start_on"),
        ("main.fct_orders", "ordered_on"),
        ("main.fct_interactions", "occurred_at"),
    ):
        info = manifest["tables"][name]
        assert info["partition_by"] == [f"year({column})"], name
        years = bi.execute(f"select distinct year({column}) from {name}").fetchall()
        assert set(info["partitions"]) == {str(year) for (year,) in years}, name
        folder = published / info["parquet"]
        with duckdb.connect() as con:
            in_parquet = con.execute(
                f"select count(*), sum(hash(t)) from read_parquet('{folder}/*.parquet') as t"
            ).fetchone()
        in_bi = bi.execute(f"select count(*), sum(hash(t)) from {name} as t").fetchone()
        assert in_parquet == in_bi, name
        assert (in_bi[0], str(in_bi[1])) == (info["rows"], info["content_checksum"]), name
