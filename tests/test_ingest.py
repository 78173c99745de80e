"""Ingestion of landing files: loads, quarantines with reasons, never twice, never half."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from orchestration.ingest import load_table, main

RUN_DATE = dt.date(2026, 11, 1)
CUSTOMERS_HEADER = (
    "customer_id,customer_name,industry,province,region,city,size_band,acquired_on,"
    "acquisition_channel,acquisition_cost"
)
GOOD_CUSTOMER = (
    "C1,苏州精工自动化有限公司,manufacturing,江苏,east,苏州,small,2024-01-05,referral,1000.50"
)
ORDERS_HEADER = (
    "order_id,customer_id,ordered_on,amount,currency,product_line,is_credit_note,contract_id"
)


def write(landing: Path, table: str, name: str, lines: list[str]) -> Path:
    path = landing / table / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def con():
    with duckdb.connect() as connection:
        yield connection


def load(con, landing, table):
    return load_table(con, landing, table, run_id="test", run_date=RUN_DATE)


def quarantine(con, table):
    return con.execute(
        f"select _line, rule, message from raw_quarantine.{table} order by _line"
    ).fetchall()


def test_good_rows_load_typed(con, tmp_path):
    write(tmp_path, "customers", "2026-10-01.csv", [CUSTOMERS_HEADER, GOOD_CUSTOMER])
    [result] = load(con, tmp_path, "customers")
    assert (result.status, result.rows_in, result.rows_accepted) == ("loaded", 1, 1)
    row = con.execute(
        "select acquired_on, acquisition_cost, _file, _line from raw.customers"
    ).fetchone()
    assert row[0] == dt.date(2024, 1, 5)
    assert float(row[1]) == 1000.50
    assert row[2:] == ("customers/2026-10-01.csv", 2)


def test_progress_names_each_file_and_its_place(con, tmp_path, monkeypatch):
    write(tmp_path, "customers", "2026-10-01.csv", [CUSTOMERS_HEADER, GOOD_CUSTOMER])
    write(tmp_path, "customers", "2026-10-02.csv", [CUSTOMERS_HEADER])
    monkeypatch.setattr("orchestration.ingest.PROGRESS_MIN_MB", 0.0)  # report every file
    lines: list[str] = []
    load_table(con, tmp_path, "customers", run_id="t", run_date=RUN_DATE, progress=lines.append)
    assert lines[0] == "customers: file 1 of 2, customers/2026-10-01.csv (0.0 MB)"
    assert lines[1].startswith("customers: customers/2026-10-01.csv loaded, 1 rows in ")
    assert lines[2] == "customers: file 2 of 2, customers/2026-10-02.csv (0.0 MB)"


def test_bad_rows_are_quarantined_with_rule_and_line(con, tmp_path):
    write(
        tmp_path,
        "customers",
        "2026-10-01.csv",
        [
            CUSTOMERS_HEADER,
            GOOD_CUSTOMER,
            "C2,B,automotive,上海,east,上海,large,2024-13-05,direct_sales,",
            "C1,C,automotiv,上海,east,上海,large,2024-02-05,direct_sales,-5",
            "C3,,energy,上海,east,上海,large,1980-02-05,direct_sales,",
            "C4,D,energy,上海,east,上海,large,2026-11-03,direct_sales,1.234",
        ],
    )
    [result] = load(con, tmp_path, "customers")
    assert (result.rows_in, result.rows_accepted, result.rows_quarantined) == (5, 1, 4)
    rows = quarantine(con, "customers")
    assert rows[0][:2] == (3, "type")
    assert "acquired_on value '2024-13-05' is not a date" in rows[0][2]
    assert rows[1][:2] == (4, "allowed_values,min_value,duplicate_key_in_file")
    assert "key (customer_id) = C1 repeats line 2" in rows[1][2]
    assert rows[2][:2] == (5, "required,plausible_date")
    assert rows[3][:2] == (6, "plausible_date,type")
    assert "acquisition_cost value '1.234' is not a number with at most 2 decimals" in rows[3][2]
    assert rows[3][2].startswith("customers/2026-10-01.csv line 6: ")


def test_orphans_and_table_rules(con, tmp_path):
    write(tmp_path, "customers", "2026-10-01.csv", [CUSTOMERS_HEADER, GOOD_CUSTOMER])
    write(
        tmp_path,
        "orders",
        "2026-10-01.csv",
        [
            ORDERS_HEADER,
            "O1,C1,2025-01-01,100.00,CNY,consulting,false,",
            "O2,C9,2025-01-01,100.00,CNY,consulting,false,",
            "O3,C1,2025-01-01,-100.00,CNY,consulting,false,",
        ],
    )
    load(con, tmp_path, "customers")
    [result] = load(con, tmp_path, "orders")
    assert (result.rows_accepted, result.rows_quarantined) == (1, 2)
    rows = quarantine(con, "orders")
    assert rows[0][1] == "unknown_reference"
    assert "customer_id 'C9' does not match any customers.customer_id" in rows[0][2]
    assert rows[1][1] == "credit_note_sign"


def test_same_file_twice_is_skipped_and_corrected_drop_replaces(con, tmp_path):
    path = write(tmp_path, "customers", "2026-10-01.csv", [CUSTOMERS_HEADER, GOOD_CUSTOMER])
    load(con, tmp_path, "customers")
    [again] = load(con, tmp_path, "customers")
    assert again.status == "skipped-duplicate"
    # The same content under another drop name is still the same content.
    write(tmp_path, "customers", "2026-10-02.csv", [CUSTOMERS_HEADER, GOOD_CUSTOMER])
    statuses = [r.status for r in load(con, tmp_path, "customers")]
    assert statuses == ["skipped-duplicate", "skipped-duplicate"]
    assert con.execute("select count(*) from raw.customers").fetchone()[0] == 1
    # A corrected file for the same drop replaces that drop's rows.
    corrected = GOOD_CUSTOMER.replace("1000.50", "2000.00")
    path.write_text(
        f"{CUSTOMERS_HEADER}\n{corrected}\nC5,E,food,广东,south,广州,micro,2025-01-01,online,\n",
        encoding="utf-8",
    )
    results = load(con, tmp_path, "customers")
    assert [r.status for r in results] == ["replaced", "skipped-duplicate"]
    assert con.execute(
        "select customer_id, acquisition_cost from raw.customers order by 1"
    ).fetchall() == [("C1", 2000), ("C5", None)]


def test_key_already_loaded_from_another_drop_is_quarantined(con, tmp_path):
    write(tmp_path, "customers", "2026-10-01.csv", [CUSTOMERS_HEADER, GOOD_CUSTOMER])
    load(con, tmp_path, "customers")
    write(
        tmp_path,
        "customers",
        "2026-10-02.csv",
        [CUSTOMERS_HEADER, GOOD_CUSTOMER.replace("small", "large")],
    )
    [_, second] = load(con, tmp_path, "customers")
    assert second.rows_quarantined == 1
    [(_, rule, message)] = quarantine(con, "customers")
    assert rule == "duplicate_key_across_drops"
    assert "already loaded from customers/2026-10-01.csv" in message


def test_missing_column_rejects_the_whole_file(con, tmp_path):
    write(tmp_path, "orders", "2026-10-01.csv", ["order_id,customer_id", "O1,C1"])
    [result] = load(con, tmp_path, "orders")
    assert result.status == "rejected"
    assert result.error.startswith("orders/2026-10-01.csv: missing required column(s) ordered_on")
    assert "found order_id, customer_id" in result.error
    assert con.execute("select count(*) from raw.orders").fetchone()[0] == 0
    ledger = con.execute("select status, rows_in from raw_meta.load_ledger").fetchall()
    assert ledger == [("rejected", 0)]
    load(con, tmp_path, "orders")  # a rejected file is recorded once, not on every run
    assert con.execute("select count(*) from raw_meta.load_ledger").fetchone()[0] == 1


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([], "the file is empty"),
        ([CUSTOMERS_HEADER], "has a header but no data rows"),
        (
            [CUSTOMERS_HEADER, GOOD_CUSTOMER + ",extra,cells"],
            "ragged row: line 2 has 12 field(s) where the header has 10 columns",
        ),
    ],
    ids=["empty", "header_only", "too_many_cells"],
)
def test_unusable_files_are_rejected(con, tmp_path, lines, message):
    write(tmp_path, "customers", "2026-10-01.csv", lines)
    [result] = load(con, tmp_path, "customers")
    assert result.status == "rejected"
    assert message in result.error
    assert con.execute("select count(*) from raw.customers").fetchone()[0] == 0


def test_partial_and_misnamed_files(con, tmp_path):
    write(tmp_path, "customers", "2026-10-01.csv.part", [CUSTOMERS_HEADER, GOOD_CUSTOMER])
    write(tmp_path, "customers", "customers_export.csv", [CUSTOMERS_HEADER, GOOD_CUSTOMER])
    [result] = load(con, tmp_path, "customers")
    assert result.status == "rejected"
    assert "does not follow <YYYY-MM-DD>[_<n>]" in result.error


def test_parquet_drop(con, tmp_path):
    (tmp_path / "customers").mkdir()
    con.execute(
        f"copy (select 'C1' as customer_id, 'A' as customer_name, 'food' as industry, "
        "'江苏' as province, 'east' as region, '苏州' as city, 'micro' as size_band, "
        "date '2024-01-05' as acquired_on, 'online' as acquisition_channel, "
        f"100.5 as acquisition_cost) to '{tmp_path / 'customers' / '2026-10-01.parquet'}'"
    )
    [result] = load(con, tmp_path, "customers")
    assert (result.status, result.rows_accepted) == ("loaded", 1)


def test_ledger_balances(con, tmp_path):
    write(
        tmp_path,
        "customers",
        "2026-10-01.csv",
        [CUSTOMERS_HEADER, GOOD_CUSTOMER, "C2,,food,x,east,y,micro,2024-01-01,online,"],
    )
    load(con, tmp_path, "customers")
    assert con.execute(
        "select rows_in, rows_accepted, rows_quarantined from raw_meta.load_ledger"
    ).fetchall() == [(2, 1, 1)]


def test_check_command_writes_nothing(tmp_path, capsys):
    write(
        tmp_path,
        "customers",
        "2026-10-01.csv",
        [CUSTOMERS_HEADER, GOOD_CUSTOMER, "C2,,food,x,east,y,micro,2024-01-01,online,"],
    )
    (tmp_path / "unknown_table").mkdir()
    before = sorted(p.name for p in tmp_path.rglob("*"))
    code = main(["check", str(tmp_path), "--run-date", "2026-11-01"])
    out = capsys.readouterr().out
    assert code == 1
    assert "unknown_table/: unknown table folder" in out
    assert "customers/2026-10-01.csv: 2 rows, 1 would load, 1 would be quarantined" in out
    assert "line 3: customer_name is required but blank" in out
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


def test_real_export_forms_are_understood(con, tmp_path):
    lines = [
        CUSTOMERS_HEADER,
        'C1,甲公司,food,江苏,east,苏州,small,2024/3/5,online,"¥1,234.50"',
        "C2,乙公司,food,江苏,east,苏州,small,2024年3月5日,online,１２３．４",
        "C3,丙公司,food,江苏,east,苏州,small,45356,online,0",
        "C4,丁公司,food,江苏,east,苏州,small,2024-03-05,online,",
    ]
    path = tmp_path / "customers" / "2026-10-01.csv"
    path.parent.mkdir()
    path.write_bytes(("\n".join(lines) + "\n").encode("gb18030"))
    [result] = load(con, tmp_path, "customers")
    assert (result.rows_accepted, result.rows_quarantined) == (4, 0)
    rows = con.execute(
        "select customer_name, acquired_on, acquisition_cost from raw.customers order by 1"
    ).fetchall()
    assert {r[1] for r in rows} == {dt.date(2024, 3, 5)}
    costs = {r[0]: r[2] for r in rows}
    assert costs["甲公司"] == Decimal("1234.50") and costs["乙公司"] == Decimal("123.40")
    assert costs["丙公司"] == 0 and costs["丁公司"] is None  # blank stays missing, not zero


def test_excel_with_data_on_the_second_sheet(con, tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    book.active.title = "说明"
    book.active.append(["本表为客户导出"])
    sheet = book.create_sheet("data")
    sheet.append(CUSTOMERS_HEADER.split(",") + ["备注"])
    sheet.append(
        [
            "C1",
            "甲公司",
            "food",
            "江苏",
            "east",
            "苏州",
            "small",
            dt.datetime(2024, 3, 5),
            "online",
            1000,
            "vip",
        ]
    )
    (tmp_path / "customers").mkdir()
    book.save(tmp_path / "customers" / "2026-10-01.xlsx")
    [result] = load(con, tmp_path, "customers")
    assert (result.status, result.rows_accepted, result.extra_columns) == ("loaded", 1, ["备注"])
    row = con.execute("select acquired_on, _line, _extra from raw.customers").fetchone()
    assert row[:2] == (dt.date(2024, 3, 5), 2)
    assert json.loads(row[2]) == {"备注": "vip"}


def test_semicolon_file_is_rejected_with_a_hint(con, tmp_path):
    write(tmp_path, "customers", "2026-10-01.csv", [CUSTOMERS_HEADER.replace(",", ";")])
    [result] = load(con, tmp_path, "customers")
    assert "looks semicolon-separated" in result.error


def _survey_fixture(con, landing: Path) -> None:
    """One customer, a contact-less NPS survey with a 0–10 item and a 1–5 item."""
    write(landing, "customers", "2026-10-01.csv", [CUSTOMERS_HEADER, GOOD_CUSTOMER])
    write(
        landing,
        "surveys",
        "2026-10-01.csv",
        ["survey_id,survey_name,kind,fielded_on", "S1,2026 NPS,nps,2026-09-01"],
    )
    write(
        landing,
        "survey_questions",
        "2026-10-01.csv",
        [
            "question_id,survey_id,question_text,dimension,scale_min,scale_max,is_reverse_coded",
            "Q1,S1,您向同行推荐我们的可能性有多大？,likelihood_to_recommend,0,10,false",
            "Q2,S1,服务质量,service_quality,1,5,false",
        ],
    )
    for name in ("customers", "surveys", "survey_questions"):
        load(con, landing, name)


def test_wide_survey_export_becomes_long_answers(con, tmp_path):
    _survey_fixture(con, tmp_path)
    write(
        tmp_path,
        "survey_wide",
        "2026-10-02.csv",
        [
            "response_id,survey_id,customer_id,submitted_at,您向同行推荐我们的可能性有多大？,Q2,IP",
            "R1,S1,C1,2026-09-03 10:00,9,4,1.2.3.4",
            "R2,S1,C1,2026/9/4 11:00,,5,1.2.3.5",
            "R3,S1,C1,2026-09-05 12:00,10,7,1.2.3.6",
        ],
    )
    [responses] = load(con, tmp_path, "survey_responses")
    assert (responses.rows_accepted, responses.extra_columns) == (3, ["IP"])
    [answers] = load(con, tmp_path, "survey_answers")
    assert (answers.rows_in, answers.rows_accepted, answers.rows_quarantined) == (6, 5, 1)
    values = con.execute(
        "select response_id, question_id, value from raw.survey_answers order by 1, 2"
    ).fetchall()
    assert values[:3] == [("R1", "Q1", 9), ("R1", "Q2", 4), ("R2", "Q1", None)]  # skipped
    [(line, rule, message)] = quarantine(con, "survey_answers")
    assert (line, rule) == (4, "answer_in_scale")  # 7 on a 1–5 item
    assert message.startswith("survey_wide/2026-10-02.csv line 4: breaks rule answer_in_scale")
    # Loading again changes nothing.
    assert [r.status for r in load(con, tmp_path, "survey_answers")] == ["skipped-duplicate"]


def test_wide_survey_naming_a_question_twice_keeps_the_first_column(con, tmp_path):
    """Two columns of one line naming the same question (by id, then by its text) give two
    answers with one key: the later column's is quarantined as a repeat of that line."""
    _survey_fixture(con, tmp_path)
    write(
        tmp_path,
        "survey_wide",
        "2026-10-02.csv",
        [
            "response_id,survey_id,customer_id,submitted_at,Q2,服务质量",
            "R1,S1,C1,2026-09-03 10:00,4,5",
        ],
    )
    load(con, tmp_path, "survey_responses")
    [answers] = load(con, tmp_path, "survey_answers")
    assert (answers.rows_in, answers.rows_accepted, answers.rows_quarantined) == (2, 1, 1)
    assert con.execute("select question_id, value from raw.survey_answers").fetchall() == [
        ("Q2", 4)
    ]
    [(line, rule, message)] = quarantine(con, "survey_answers")
    assert (line, rule) == (2, "duplicate_key_in_file")
    assert message.endswith("key (response_id, question_id) = R1/Q2 repeats line 2")
