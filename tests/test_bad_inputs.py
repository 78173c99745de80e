"""The bad-input corpus: each case is a file as real exports write it, named for what it is,
with the exact outcome the ingestion must give — loaded, a quarantine rule and message, or a
file-level rejection — and the ledger invariant rows_in = accepted + quarantined.

Every case starts from a warehouse holding one customer C1, one contract K1 and one survey
question Q1 (scale 1–5), so references can be checked.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb
import openpyxl
import pytest

from orchestration.ingest import load_table

RUN_DATE = dt.date(2026, 11, 1)
CUST_HEADER = (
    "customer_id,customer_name,industry,province,region,city,size_band,acquired_on,"
    "acquisition_channel,acquisition_cost"
)
ORDER_HEADER = (
    "order_id,customer_id,ordered_on,amount,currency,product_line,is_credit_note,contract_id"
)


def cust(cid: str = "C2", acquired: str = "2024-03-05", cost: str = "100.00", **kw) -> str:
    values = {
        "customer_id": cid,
        "customer_name": "乙公司",
        "industry": "food",
        "province": "江苏",
        "region": "east",
        "city": "苏州",
        "size_band": "small",
        "acquired_on": acquired,
        "acquisition_channel": "online",
        "acquisition_cost": cost,
    } | kw
    return ",".join(values[c] for c in CUST_HEADER.split(","))


def order(oid: str = "O1", amount: str = "100.00", credit: str = "false", **kw) -> str:
    values = {
        "order_id": oid,
        "customer_id": "C1",
        "ordered_on": "2025-01-01",
        "amount": amount,
        "currency": "CNY",
        "product_line": "consulting",
        "is_credit_note": credit,
        "contract_id": "",
    } | kw
    return ",".join(values[c] for c in ORDER_HEADER.split(","))


def text(*lines: str, encoding: str = "utf-8", newline: str = "\n") -> bytes:
    return (newline.join(lines) + newline).encode(encoding)


def workbook(*sheets: tuple[str, list[list[object]]]) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        book = openpyxl.Workbook()
        book.remove(book.active)
        for title, rows in sheets:
            sheet = book.create_sheet(title)
            for row in rows:
                sheet.append(row)
        book.save(path)

    return write


def parquet(sql: str) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        with duckdb.connect() as con:
            con.execute(f"copy ({sql}) to '{path}' (format parquet)")

    return write


@dataclass(frozen=True)
class Case:
    name: str
    table: str
    file: str  # "<folder>/<file name>"
    content: bytes | Callable[[Path], None]
    status: str = "loaded"  # loaded / rejected / skipped (nothing picked up)
    rule: str | None = None  # expected quarantine rule(s) of the one bad row
    message: str | None = None  # expected text in the quarantine message or the error
    check: Callable[[duckdb.DuckDBPyConnection], None] | None = None


def value_of(sql: str, expected: object) -> Callable[[duckdb.DuckDBPyConnection], None]:
    def check(con: duckdb.DuckDBPyConnection) -> None:
        assert con.execute(sql).fetchone()[0] == expected

    return check


C2_ACQUIRED = "select acquired_on from raw.customers where customer_id = 'C2'"
C2_COST = "select acquisition_cost from raw.customers where customer_id = 'C2'"
O1_AMOUNT = "select amount from raw.orders where order_id = 'O1'"
MAR5 = dt.date(2024, 3, 5)

CASES = [
    # --- encodings and value forms that load -------------------------------------------
    Case(
        "utf8_with_bom",
        "customers",
        "customers/2026-10-01.csv",
        b"\xef\xbb\xbf" + text(CUST_HEADER, cust()),
        check=value_of(C2_ACQUIRED, MAR5),
    ),
    Case(
        "gbk_encoded",
        "customers",
        "customers/2026-10-01.csv",
        text(CUST_HEADER, cust(), encoding="gbk"),
        check=value_of("select customer_name from raw.customers where customer_id='C2'", "乙公司"),
    ),
    Case(
        "gb18030_only_character",
        "customers",
        "customers/2026-10-01.csv",
        text(CUST_HEADER, cust(customer_name="䶮公司"), encoding="gb18030"),
        check=value_of("select customer_name from raw.customers where customer_id='C2'", "䶮公司"),
    ),
    Case(
        "windows_line_endings",
        "customers",
        "customers/2026-10-01.csv",
        text(CUST_HEADER, cust(), newline="\r\n"),
        check=value_of(C2_ACQUIRED, MAR5),
    ),
    Case(
        "date_with_slashes",
        "customers",
        "customers/2026-10-01.csv",
        text(CUST_HEADER, cust(acquired="2024/3/5")),
        check=value_of(C2_ACQUIRED, MAR5),
    ),
    Case(
        "date_in_chinese",
        "customers",
        "customers/2026-10-01.csv",
        text(CUST_HEADER, cust(acquired="2024年3月5日")),
        check=value_of(C2_ACQUIRED, MAR5),
    ),
    Case(
        "date_as_excel_serial",
        "customers",
        "customers/2026-10-01.csv",
        text(CUST_HEADER, cust(acquired="45356")),
        check=value_of(C2_ACQUIRED, MAR5),
    ),
    Case(
        "date_compact",
        "customers",
        "customers/2026-10-01.csv",
        text(CUST_HEADER, cust(acquired="20240305")),
        check=value_of(C2_ACQUIRED, MAR5),
    ),
    Case(
        "date_with_full_width_digits",
        "customers",
        "customers/2026-10-01.csv",
        text(CUST_HEADER, cust(acquired="２０２４-０３-０５")),
        check=value_of(C2_ACQUIRED, MAR5),
    ),
    Case(
        "amount_with_currency_and_thousands",
        "customers",
        "customers/2026-10-01.csv",
        text(CUST_HEADER, cust(cost='"¥1,234.50"')),
        check=value_of(C2_COST, 1234.5),
    ),
    Case(
        "amount_with_yuan_suffix",
        "customers",
        "customers/2026-10-01.csv",
        text(CUST_HEADER, cust(cost="88元")),
        check=value_of(C2_COST, 88),
    ),
    Case(
        "amount_full_width",
        "customers",
        "customers/2026-10-01.csv",
        text(CUST_HEADER, cust(cost="１２３．４")),
        check=value_of(C2_COST, Decimal("123.40")),
    ),
    Case(
        "accounting_negative_credit_note",
        "orders",
        "orders/2026-10-01.csv",
        text(ORDER_HEADER, order(amount="(100.00)", credit="true")),
        check=value_of(O1_AMOUNT, -100),
    ),
    Case(
        "boolean_in_chinese",
        "orders",
        "orders/2026-10-01.csv",
        text(ORDER_HEADER, order(amount="-5", credit="是")),
        check=value_of("select is_credit_note from raw.orders", True),
    ),
    Case(
        "boolean_y_n",
        "orders",
        "orders/2026-10-01.csv",
        text(ORDER_HEADER, order(credit="N")),
        check=value_of("select is_credit_note from raw.orders", False),
    ),
    Case(
        "blank_stays_missing_zero_stays_zero",
        "customers",
        "customers/2026-10-01.csv",
        text(CUST_HEADER, cust(cost=""), cust("C3", cost="0")),
        check=value_of(
            "select count(acquisition_cost) || '/' || sum(acquisition_cost) "
            "from raw.customers where customer_id in ('C2', 'C3')",
            "1/0.00",
        ),
    ),
    Case(
        "excel_dates_and_numbers",
        "customers",
        "customers/2026-10-01.xlsx",
        workbook(
            (
                "客户",
                [
                    CUST_HEADER.split(","),
                    [
                        "C2",
                        "乙",
                        "food",
                        "江苏",
                        "east",
                        "苏州",
                        "small",
                        dt.datetime(2024, 3, 5),
                        "online",
                        1234.5,
                    ],
                ],
            )
        ),
        check=value_of(C2_COST, 1234.5),
    ),
    Case(
        "excel_data_on_second_sheet",
        "customers",
        "customers/2026-10-01.xlsx",
        workbook(
            ("说明", [["导出说明"], ["本表由CRM导出"]]),
            (
                "data",
                [
                    CUST_HEADER.split(","),
                    [
                        "C2",
                        "乙",
                        "food",
                        "江苏",
                        "east",
                        "苏州",
                        "small",
                        "2024-03-05",
                        "online",
                        None,
                    ],
                ],
            ),
        ),
        check=value_of(C2_ACQUIRED, MAR5),
    ),
    Case(
        "parquet_drop",
        "customers",
        "customers/2026-10-01.parquet",
        parquet(
            "select 'C2' as customer_id, '乙' as customer_name, 'food' as industry, "
            "'江苏' as province, 'east' as region, '苏州' as city, 'small' as size_band, "
            "date '2024-03-05' as acquired_on, 'online' as acquisition_channel, "
            "12.5 as acquisition_cost"
        ),
        check=value_of(C2_COST, 12.5),
    ),
    Case(
        "extra_column_kept_as_json",
        "customers",
        "customers/2026-10-01.csv",
        text(CUST_HEADER + ",备注", cust() + ",重点客户"),
        check=value_of(
            "select _extra from raw.customers where customer_id = 'C2'", '{"备注":"重点客户"}'
        ),
    ),
    # --- rows that are quarantined ------------------------------------------------------
    Case(
        "required_value_blank",
        "customers",
        "customers/2026-10-01.csv",
        text(CUST_HEADER, cust(customer_name="")),
        rule="required",
        message="customer_name is required but blank",
    ),
    Case(
        "date_as_free_text",
        "customers",
        "customers/2026-10-01.csv",
        text(CUST_HEADER, cust(acquired="下周")),
        rule="type",
        message="acquired_on value '下周' is not a date (YYYY-MM-DD)",
    ),
    Case(
        "impossible_date",
        "customers",
        "customers/2026-10-01.csv",
        text(CUST_HEADER, cust(acquired="2024-02-30")),
        rule="type",
        message="acquired_on value '2024-02-30' is not a date",
    ),
    Case(
        "date_before_1990",
        "customers",
        "customers/2026-10-01.csv",
        text(CUST_HEADER, cust(acquired="1989-12-31")),
        rule="plausible_date",
        message="acquired_on 1989-12-31 lies outside 1990-01-01 .. 2026-11-02",
    ),
    Case(
        "date_after_the_run_date",
        "customers",
        "customers/2026-10-01.csv",
        text(CUST_HEADER, cust(acquired="2026-11-03")),
        rule="plausible_date",
        message="acquired_on 2026-11-03 lies outside",
    ),
    Case(
        "amount_with_three_decimals",
        "customers",
        "customers/2026-10-01.csv",
        text(CUST_HEADER, cust(cost="1.234")),
        rule="type",
        message="acquisition_cost value '1.234' is not a number with at most 2 decimals",
    ),
    Case(
        "amount_as_text",
        "customers",
        "customers/2026-10-01.csv",
        text(CUST_HEADER, cust(cost="面议")),
        rule="type",
        message="acquisition_cost value '面议' is not a number",
    ),
    Case(
        "misplaced_thousands_separator",
        "customers",
        "customers/2026-10-01.csv",
        text(CUST_HEADER, cust(cost='"1,2"')),
        rule="type",
        message="acquisition_cost value '1,2' is not a number",
    ),
    Case(
        "unknown_code",
        "customers",
        "customers/2026-10-01.csv",
        text(CUST_HEADER, cust(industry="制造业")),
        rule="allowed_values",
        message="industry value '制造业' is not one of: manufacturing",
    ),
    Case(
        "negative_cost",
        "customers",
        "customers/2026-10-01.csv",
        text(CUST_HEADER, cust(cost="-5")),
        rule="min_value",
        message="acquisition_cost value -5.00 is below the minimum 0",
    ),
    Case(
        "score_above_its_scale",
        "complaints",
        "complaints/2026-10-01.csv",
        text(
            "complaint_id,customer_id,opened_at,resolved_at,category,outcome,satisfaction_after",
            "P1,C1,2025-01-01 09:00:00,2025-01-03 09:00:00,quality,resolved,6",
        ),
        rule="max_value",
        message="satisfaction_after value 6 is above the maximum 5",
    ),
    Case(
        "unparseable_boolean",
        "orders",
        "orders/2026-10-01.csv",
        text(ORDER_HEADER, order(credit="maybe")),
        rule="type",
        message="is_credit_note value 'maybe' is not a boolean",
    ),
    Case(
        "duplicate_key_in_file",
        "customers",
        "customers/2026-10-01.csv",
        text(CUST_HEADER, cust(), cust()),
        rule="duplicate_key_in_file",
        message="key (customer_id) = C2 repeats line 2",
    ),
    Case(
        "duplicate_key_across_drops",
        "customers",
        "customers/2026-10-01.csv",
        text(CUST_HEADER, cust("C1", cost="5.00")),
        rule="duplicate_key_across_drops",
        message="was already loaded from customers/2026-01-01.csv",
    ),
    Case(
        "order_for_unknown_customer",
        "orders",
        "orders/2026-10-01.csv",
        text(ORDER_HEADER, order(customer_id="C404")),
        rule="unknown_reference",
        message="customer_id 'C404' does not match any customers.customer_id",
    ),
    Case(
        "order_for_unknown_contract",
        "orders",
        "orders/2026-10-01.csv",
        text(ORDER_HEADER, order(contract_id="K404")),
        rule="unknown_reference",
        message="contract_id 'K404' does not match any contracts.contract_id",
    ),
    Case(
        "credit_note_with_positive_amount",
        "orders",
        "orders/2026-10-01.csv",
        text(ORDER_HEADER, order(credit="true")),
        rule="credit_note_sign",
        message="breaks rule credit_note_sign",
    ),
    Case(
        "zero_amount_credit_note",
        "orders",
        "orders/2026-10-01.csv",
        text(ORDER_HEADER, order(amount="0", credit="true")),
        rule="credit_note_sign",
    ),
    Case(
        "contract_ends_before_it_starts",
        "contracts",
        "contracts/2026-10-01.csv",
        text(
            "contract_id,customer_id,product_line,start_on,end_on,contract_value,currency,"
            "renewal_of,status",
            "K2,C1,maintenance,2025-01-01,2024-12-31,1000,CNY,K1,active",
        ),
        rule="contract_term",
        message="end_on is on or after start_on",
    ),
    Case(
        "ticket_answered_before_opened",
        "service_tickets",
        "service_tickets/2026-10-01.csv",
        text(
            "ticket_id,customer_id,opened_at,first_response_at,resolved_at,category,"
            "priority,status",
            "T1,C1,2025-01-02 10:00:00,2025-01-01 10:00:00,,defect,high,open",
        ),
        rule="ticket_timeline",
    ),
    Case(
        "converted_referral_without_customer",
        "referrals",
        "referrals/2026-10-01.csv",
        text(
            "referral_id,referrer_customer_id,referred_customer_id,referred_on,is_converted",
            "R1,C1,,2025-01-01,true",
        ),
        rule="referral_conversion",
    ),
    Case(
        "survey_answer_outside_scale",
        "survey_answers",
        "survey_answers/2026-10-01.csv",
        text("response_id,question_id,value", "W1,Q1,9"),
        rule="answer_in_scale",
        message="value, when given, lies within the question's scale_min..scale_max",
    ),
    Case(
        "survey_question_scale_inverted",
        "survey_questions",
        "survey_questions/2026-10-01.csv",
        text(
            "question_id,survey_id,question_text,dimension,scale_min,scale_max,is_reverse_coded",
            "Q2,S1,服务质量,service_quality,5,1,false",
        ),
        rule="question_scale",
    ),
    Case(
        "several_rules_on_one_row",
        "customers",
        "customers/2026-10-01.csv",
        text(CUST_HEADER, cust(customer_name="", industry="x", cost="-1")),
        rule="required,allowed_values,min_value",
        message="customer_name is required but blank; industry value 'x' is not one of",
    ),
    # --- files rejected whole -------------------------------------------------------------
    Case(
        "empty_file",
        "customers",
        "customers/2026-10-01.csv",
        b"",
        status="rejected",
        message="customers/2026-10-01.csv: the file is empty",
    ),
    Case(
        "header_only",
        "customers",
        "customers/2026-10-01.csv",
        text(CUST_HEADER),
        status="rejected",
        message="has a header but no data rows",
    ),
    Case(
        "truncated_last_line",
        "customers",
        "customers/2026-10-01.csv",
        text(CUST_HEADER, cust())
        + "C3,丙公司,food,江苏".encode(),  # cut inside the row: no line end after it
        status="rejected",
        message="the file looks truncated: it ends without a line end inside its last row, "
        "line 3, which has 4 of the header's 10 fields: 'C3,丙公司,food,江苏'",
    ),
    Case(
        "semicolon_separated",
        "customers",
        "customers/2026-10-01.csv",
        text(CUST_HEADER.replace(",", ";"), cust().replace(",", ";")),
        status="rejected",
        message="the file looks semicolon-separated",
    ),
    Case(
        "tab_separated",
        "customers",
        "customers/2026-10-01.csv",
        text(CUST_HEADER.replace(",", "\t"), cust().replace(",", "\t")),
        status="rejected",
        message="the file looks tab-separated",
    ),
    Case(
        "column_renamed",
        "customers",
        "customers/2026-10-01.csv",
        text(CUST_HEADER.replace("customer_id", "cust_id"), cust()),
        status="rejected",
        message="missing required column(s) customer_id; expected customer_id, customer_name",
    ),
    Case(
        "column_repeated",
        "customers",
        "customers/2026-10-01.csv",
        text(CUST_HEADER + ",city", cust() + ",苏州"),
        status="rejected",
        message="the header repeats column(s): city",
    ),
    Case(
        "undecodable_bytes",
        "customers",
        "customers/2026-10-01.csv",
        text(CUST_HEADER) + b"\xff\xfe\x00\x81\x30\xff\n",
        status="rejected",
        message="neither UTF-8 nor GBK/GB18030",
    ),
    Case(
        "file_name_without_date",
        "customers",
        "customers/customers_export.csv",
        text(CUST_HEADER, cust()),
        status="rejected",
        message="file name does not follow",
    ),
    Case(
        "excel_without_the_columns",
        "customers",
        "customers/2026-10-01.xlsx",
        workbook(("Sheet1", [["编号", "名称"], ["C2", "乙"]])),
        status="rejected",
        message="no sheet has the required column(s)",
    ),
    Case(
        "corrupt_workbook",
        "customers",
        "customers/2026-10-01.xlsx",
        b"PK\x03\x04 not really a zip",
        status="rejected",
        message="not a readable .xlsx workbook",
    ),
    Case(
        "corrupt_parquet",
        "customers",
        "customers/2026-10-01.parquet",
        b"PAR1 garbage",
        status="rejected",
        message="not a readable Parquet file",
    ),
    # --- files that are not picked up -----------------------------------------------------
    Case(
        "half_written_part_file",
        "customers",
        "customers/2026-10-01.csv.part",
        text(CUST_HEADER, cust()),
        status="skipped",
    ),
    Case("office_lock_file", "customers", "customers/~$2026-10-01.xlsx", b"lock", status="skipped"),
]


def _base(landing: Path, con: duckdb.DuckDBPyConnection) -> None:
    files = {
        "customers/2026-01-01.csv": text(CUST_HEADER, cust("C1")),
        "contracts/2026-01-01.csv": text(
            "contract_id,customer_id,product_line,start_on,end_on,contract_value,currency,"
            "renewal_of,status",
            "K1,C1,maintenance,2024-01-01,2024-12-31,1000,CNY,,renewed",
        ),
        "surveys/2026-01-01.csv": text(
            "survey_id,survey_name,kind,fielded_on", "S1,满意度,satisfaction,2025-06-01"
        ),
        "survey_questions/2026-01-01.csv": text(
            "question_id,survey_id,question_text,dimension,scale_min,scale_max,is_reverse_coded",
            "Q1,S1,总体满意度,overall_satisfaction,1,5,false",
        ),
        "survey_responses/2026-01-01.csv": text(
            "response_id,survey_id,customer_id,contact_id,submitted_at",
            "W1,S1,C1,,2025-06-03 10:00:00",
        ),
    }
    for name, content in files.items():
        path = landing / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        load_table(con, landing, name.split("/")[0], run_id="base", run_date=RUN_DATE)


@pytest.fixture
def warehouse(tmp_path):
    with duckdb.connect() as con:
        _base(tmp_path, con)
        yield tmp_path, con


def test_the_corpus_has_at_least_forty_distinct_cases():
    names = [c.name for c in CASES]
    assert len(names) == len(set(names)) >= 40


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input(case: Case, warehouse):
    landing, con = warehouse
    path = landing / case.file
    path.parent.mkdir(parents=True, exist_ok=True)
    if callable(case.content):
        case.content(path)
    else:
        path.write_bytes(case.content)
    before = con.execute("select count(*) from raw_meta.load_ledger").fetchone()[0]
    results = load_table(con, landing, case.table, run_id="case", run_date=RUN_DATE)
    new = [r for r in results if r.file == case.file]
    if case.status == "skipped":
        assert new == []
        assert con.execute("select count(*) from raw_meta.load_ledger").fetchone()[0] == before
        return
    [result] = new
    assert result.status == case.status, result.error
    ledger = con.execute(
        "select status, rows_in, rows_accepted, rows_quarantined, error "
        "from raw_meta.load_ledger where file = ?",
        [case.file],
    ).fetchone()
    assert ledger[0] == case.status
    assert ledger[1] == ledger[2] + ledger[3]
    if case.status == "rejected":
        assert case.message in ledger[4]
        assert ledger[1] == 0
        return
    quarantined = con.execute(
        f"select rule, message from raw_quarantine.{case.table} where _file = ?", [case.file]
    ).fetchall()
    if case.rule is None:
        assert quarantined == []
    else:
        assert len(quarantined) == 1
        rule, message = quarantined[0]
        assert rule == case.rule
        assert message.startswith(case.file + " line ")
        if case.message:
            assert case.message in message
    if case.check:
        case.check(con)


def test_the_same_file_three_times_loads_once(warehouse):
    landing, con = warehouse
    content = text(CUST_HEADER, cust())
    for name in ("2026-10-01.csv", "2026-10-01.csv", "2026-10-02.csv"):
        (landing / "customers" / name).write_bytes(content)
        load_table(con, landing, "customers", run_id="again", run_date=RUN_DATE)
    statuses = con.execute(
        "select status, file, duplicate_of from raw_meta.load_ledger "
        "where table_name = 'customers' and run_id = 'again' order by started_at"
    ).fetchall()
    # The same file again is no decision; the same content under another drop is, recorded.
    assert statuses == [
        ("loaded", "customers/2026-10-01.csv", None),
        ("skipped-duplicate", "customers/2026-10-02.csv", "customers/2026-10-01.csv"),
    ]
    assert (
        con.execute("select count(*) from raw.customers where customer_id = 'C2'").fetchone()[0]
        == 1
    )


def test_a_corrected_redrop_replaces_the_drop(warehouse):
    landing, con = warehouse
    path = landing / "customers" / "2026-10-01.csv"
    path.write_bytes(text(CUST_HEADER, cust(), cust("C3", industry="bad")))
    load_table(con, landing, "customers", run_id="first", run_date=RUN_DATE)
    path.write_bytes(text(CUST_HEADER, cust(cost="999.00"), cust("C3")))
    [*_, result] = load_table(con, landing, "customers", run_id="fix", run_date=RUN_DATE)
    assert (result.status, result.rows_accepted, result.rows_quarantined) == ("replaced", 2, 0)
    assert con.execute(C2_COST).fetchone()[0] == 999
    assert con.execute("select count(*) from raw_quarantine.customers").fetchone()[0] == 0
    assert con.execute("select count(*) from raw.customers").fetchone()[0] == 3


def test_reloading_any_number_of_times_leaves_identical_tables(warehouse):
    landing, con = warehouse
    (landing / "orders").mkdir(exist_ok=True)
    (landing / "orders" / "2026-10-01.csv").write_bytes(
        text(ORDER_HEADER, order(), order("O2", customer_id="C404"))
    )
    snapshots = []
    for _ in range(3):
        load_table(con, landing, "orders", run_id="loop", run_date=RUN_DATE)
        snapshots.append(
            con.execute(
                "select (select list(order_id order by order_id) from raw.orders), "
                "(select list(_line order by _line) from raw_quarantine.orders)"
            ).fetchone()
        )
    assert snapshots[0] == snapshots[1] == snapshots[2] == (["O1"], [3])


def test_a_folder_that_names_no_table_is_rejected_in_the_ledger(warehouse):
    from orchestration.ingest import reject_unknown_folders

    landing, con = warehouse
    (landing / "orderz").mkdir()
    (landing / "orderz" / "2026-10-01.csv").write_bytes(text(ORDER_HEADER, order()))
    for _ in range(2):
        [result] = reject_unknown_folders(con, landing, "run")
    assert "unknown table folder 'orderz'" in result.error
    rows = con.execute(
        "select status, error from raw_meta.load_ledger where table_name = 'orderz'"
    ).fetchall()
    assert len(rows) == 1 and rows[0][0] == "rejected"
