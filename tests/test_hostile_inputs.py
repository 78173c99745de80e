"""Hostile inputs: files as a careless exporter or an attacker would write them.

Each case states the outcome the ingestion must give — a row quarantined with a named rule,
a file rejected with a message naming the problem, an entry refused without being read —
and every case ends with the same two checks (`settle`): for every ledger line
rows_in = rows_accepted + rows_quarantined + rows_blank, the raw and quarantine tables hold
exactly the rows the effective ledger lines count, and a second run changes nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from decimal import Decimal
from pathlib import Path

import duckdb
import openpyxl
import pytest

from orchestration.contract import TABLE_NAMES, TABLES, Table, load_order, table
from orchestration.ingest import FileResult, load_table, reject_unknown_folders
from orchestration.raw_schema import create_raw_tables

RUN_DATE = dt.date(2026, 11, 1)
CUSTOMER_HEADER = [c.name for c in table("customers").columns]
# A value of each type whose last character cut off still parses as that type: the cut the
# ingestion must notice (10447.14 -> 10447.1, 2024-03-15 -> 2024-03-1, 45 -> 4).
CUT_PARSES = {
    "string": "abc",
    "int": "45",
    "decimal": "10447.14",
    "date": "2024-03-15",
    "timestamp": "2024-03-05 10:00:15",
    "bool": "true",
}


def customer(cid: str = "C2", **kw: str) -> list[str]:
    values = {
        "customer_id": cid,
        "customer_name": "乙公司",
        "industry": "food",
        "province": "江苏",
        "region": "east",
        "city": "苏州",
        "size_band": "small",
        "acquired_on": "2024-03-05",
        "acquisition_channel": "online",
        "acquisition_cost": "100.00",
    } | kw
    return [values[c] for c in CUSTOMER_HEADER]


def line(cells: list[str]) -> str:
    """One CSV line, quoting a cell that needs it."""
    out = []
    for cell in cells:
        if any(ch in cell for ch in ',"\n\r'):
            cell = '"' + cell.replace('"', '""') + '"'
        out.append(cell)
    return ",".join(out)


def csv_bytes(*lines: str, end: str = "\n") -> bytes:
    return ("\n".join(lines) + end).encode("utf-8")


def put(landing: Path, relative: str, content: bytes) -> Path:
    path = landing / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def load(con: duckdb.DuckDBPyConnection, landing: Path, *tables: str) -> list[FileResult]:
    results: list[FileResult] = []
    for tbl in load_order():
        if tbl.name in tables:
            results += load_table(con, landing, tbl.name, run_id="run", run_date=RUN_DATE)
    return results


def state(con: duckdb.DuckDBPyConnection) -> list:
    """Everything the ingestion wrote, less run ids and times."""
    out = []
    for t in TABLES:
        out.append(
            con.execute(
                f"select * exclude (_loaded_at, _run_id) from raw.{t.name} order by all"
            ).fetchall()
        )
        out.append(
            con.execute(
                f"select * exclude (_loaded_at, _run_id) from raw_quarantine.{t.name} order by all"
            ).fetchall()
        )
    out.append(
        con.execute(
            "select * exclude (run_id, started_at, finished_at) from raw_meta.load_ledger "
            "order by all"
        ).fetchall()
    )
    return out


def assert_balanced(con: duckdb.DuckDBPyConnection) -> None:
    """rows_in = accepted + quarantined + blank on every line; raw and quarantine hold exactly
    the rows of each drop's effective (latest loaded or replaced) line."""
    unbalanced = con.execute(
        "select file, status, rows_in, rows_accepted, rows_quarantined, rows_blank "
        "from raw_meta.load_ledger "
        "where rows_in <> rows_accepted + rows_quarantined + rows_blank"
    ).fetchall()
    assert unbalanced == []
    effective = con.execute(
        "select table_name, file, rows_accepted, rows_quarantined from ("
        "select *, row_number() over (partition by table_name, drop_name "
        "order by started_at desc) as recency from raw_meta.load_ledger "
        "where status in ('loaded', 'replaced')) where recency = 1"
    ).fetchall()
    for table_name, file, accepted, quarantined in effective:
        counts = con.execute(
            f"select (select count(*) from raw.{table_name} where _file = $1), "
            f"(select count(*) from raw_quarantine.{table_name} where _file = $1)",
            [file],
        ).fetchone()
        assert counts == (accepted, quarantined), file
    for t in TABLES:
        held = con.execute(
            f"select (select count(*) from raw.{t.name}), "
            f"(select count(*) from raw_quarantine.{t.name})"
        ).fetchone()
        counted = [(a, q) for name, _, a, q in effective if name == t.name]
        assert held == (sum(a for a, _ in counted), sum(q for _, q in counted)), t.name


def settle(con: duckdb.DuckDBPyConnection, landing: Path, *tables: str) -> list[FileResult]:
    """Load, check the balance, load again and check that nothing changed."""
    results = load(con, landing, *tables)
    assert_balanced(con)
    before = state(con)
    load(con, landing, *tables)
    assert state(con) == before
    return results


def ledger(con: duckdb.DuckDBPyConnection, file: str) -> list[tuple]:
    return con.execute(
        "select status, rows_in, rows_accepted, rows_quarantined, rows_blank, error, "
        "duplicate_of from raw_meta.load_ledger where file = ? order by started_at",
        [file],
    ).fetchall()


def quarantined(con: duckdb.DuckDBPyConnection, table_name: str) -> list[tuple]:
    return con.execute(
        f"select _line, rule, message, raw_record from raw_quarantine.{table_name} order by _line"
    ).fetchall()


@pytest.fixture
def warehouse(tmp_path):
    """A landing folder and a warehouse already holding customer C1."""
    landing = tmp_path / "landing"
    put(
        landing,
        "customers/2026-01-01.csv",
        csv_bytes(",".join(CUSTOMER_HEADER), line(customer("C1"))),
    )
    with duckdb.connect() as con:
        load(con, landing, "customers")
        yield landing, con


# --- 1. every file ends where a row ends ---------------------------------------------------


def _generic_row(tbl: Table, cut_last: bool = False) -> list[str]:
    cells = []
    for col in tbl.columns:
        value = col.allowed[0] if col.allowed else CUT_PARSES[col.type]
        cells.append(value)
    if cut_last:
        cells[-1] = cells[-1][:-1]
    return cells


@pytest.mark.parametrize("tbl", TABLES, ids=[t.name for t in TABLES])
def test_a_row_cut_inside_its_last_value_never_loads_on_any_table(tbl: Table, tmp_path):
    """The file stops inside the last value, with no line end: that row is quarantined with
    a rule saying so, whatever the type of the table's last column; the row before loads
    or is quarantined on its own merits, never because of the cut."""
    header = ",".join(c.name for c in tbl.columns)
    relative = f"{tbl.name}/2026-10-01.csv"
    content = csv_bytes(
        header, line(_generic_row(tbl)), line(_generic_row(tbl, cut_last=True)), end=""
    )
    with duckdb.connect() as con:
        put(tmp_path, relative, content)
        [result] = [r for r in settle(con, tmp_path, tbl.name) if r.file == relative]
        assert result.status == "loaded"
        assert (result.rows_in, result.rows_blank) == (2, 0)
        rows = {r[0]: r[1].split(",") for r in quarantined(con, tbl.name)}
        assert "unterminated_last_row" in rows[3]
        assert "unterminated_last_row" not in rows.get(2, [])
        assert (
            con.execute(f"select count(*) from raw.{tbl.name} where _line = 3").fetchone()[0] == 0
        )


@pytest.mark.parametrize(
    ("column", "whole", "cut"),
    [
        ("acquisition_cost", "10447.14", "10447.1"),
        ("acquired_on", "2024-03-15", "2024-03-1"),
        ("customer_name", "丙公司有限", "丙公司有"),
    ],
    ids=["number", "date", "text"],
)
def test_customers_cut_inside_a_number_a_date_or_a_text(column, whole, cut, warehouse):
    """The issue's case: `...,referral,10447.1` loaded as 10447.10. Columns reordered so the
    cut value is the last one of the line."""
    landing, con = warehouse
    header = [c for c in CUSTOMER_HEADER if c != column] + [column]
    cells = dict(zip(CUSTOMER_HEADER, customer("C3"), strict=True)) | {column: whole}
    full = [cells[c] for c in header]
    content = csv_bytes(
        ",".join(header), line(customer_reordered(header, "C2")), line(full[:-1] + [cut]), end=""
    )
    put(landing, "customers/2026-10-01.csv", content)
    settle(con, landing, "customers")
    [(status, rows_in, accepted, held, blank, _, _)] = ledger(con, "customers/2026-10-01.csv")
    assert (status, rows_in, accepted, held, blank) == ("loaded", 2, 1, 1, 0)
    [(number, rule, message, record)] = quarantined(con, "customers")
    assert (number, rule) == (3, "unterminated_last_row")
    assert "the file ends inside this row, with no line end after it" in message
    assert json.loads(record)[column] == cut  # the quarantine keeps the text as it came
    assert (
        con.execute("select count(*) from raw.customers where customer_id = 'C3'").fetchone()[0]
        == 0
    )


def customer_reordered(header: list[str], cid: str) -> list[str]:
    cells = dict(zip(CUSTOMER_HEADER, customer(cid), strict=True))
    return [cells[c] for c in header]


def test_a_file_cut_inside_a_quoted_text_is_rejected_as_truncated(warehouse):
    landing, con = warehouse
    content = csv_bytes(",".join(CUSTOMER_HEADER), line(customer())) + (
        'C3,"丙公司\n有限,food'.encode()
    )
    put(landing, "customers/2026-10-01.csv", content)
    settle(con, landing, "customers")
    [(status, rows_in, *_, error, _)] = ledger(con, "customers/2026-10-01.csv")
    assert (status, rows_in) == ("rejected", 0)
    assert error == (
        "customers/2026-10-01.csv: the file looks truncated: it ends inside a quoted value "
        "of the row starting on line 3: 'C3,\"丙公司'"
    )


def test_an_orders_file_cut_short_of_its_last_fields_is_rejected_as_truncated(warehouse):
    landing, con = warehouse
    header = ",".join(c.name for c in table("orders").columns)
    width = len(table("orders").columns)
    content = csv_bytes(header, ",".join(["O1", "C1", "2025-01-01", "100.00"] + [""] * (width - 4)))
    put(landing, "orders/2026-10-01.csv", content + b"O2,C1,2025-01-0")
    settle(con, landing, "orders")
    [(status, *_, error, _)] = ledger(con, "orders/2026-10-01.csv")
    assert status == "rejected"
    assert error == (
        "orders/2026-10-01.csv: the file looks truncated: it ends without a line end inside "
        f"its last row, line 3, which has 3 of the header's {width} fields: 'O2,C1,2025-01-0'"
    )


def test_a_terminated_file_loads_its_last_row(warehouse):
    landing, con = warehouse
    put(
        landing,
        "customers/2026-10-01.csv",
        csv_bytes(
            ",".join(CUSTOMER_HEADER), line(customer(acquisition_cost="10447.14")), end="\r\n"
        ),
    )
    settle(con, landing, "customers")
    assert con.execute(
        "select acquisition_cost from raw.customers where customer_id = 'C2'"
    ).fetchone()[0] == Decimal("10447.14")


# --- 2. Excel's CSV habits -------------------------------------------------------------------


def test_excel_trailing_comma_rows_are_skipped_and_counted(warehouse):
    """Excel writes `,,,,,,,,,` rows after the data: they are blank rows, not 3 quarantined
    rows that push a small drop past the quarantine limit."""
    landing, con = warehouse
    blank = "," * (len(CUSTOMER_HEADER) - 1)
    content = csv_bytes(
        ",".join(CUSTOMER_HEADER), line(customer()), blank, blank, blank, end="\r\n"
    )
    put(landing, "customers/2026-10-01.csv", content)
    settle(con, landing, "customers")
    [(status, rows_in, accepted, held, blank_rows, error, _)] = ledger(
        con, "customers/2026-10-01.csv"
    )
    assert (status, rows_in, accepted, held, blank_rows, error) == ("loaded", 4, 1, 0, 3, None)
    assert quarantined(con, "customers") == []


def test_line_numbers_are_physical_after_blank_lines_and_multi_line_cells(warehouse):
    landing, con = warehouse
    blank = "," * (len(CUSTOMER_HEADER) - 1)
    lines = [
        ",".join(CUSTOMER_HEADER),  # 1
        line(customer("C2", city="苏州\n工业园区")),  # 2-3: a quoted cell on two lines
        "",  # 4: an empty line
        blank,  # 5: an Excel blank row
        line(customer("C3", industry="bad")),  # 6
        line(customer("C4", customer_name="  ")),  # 7: one blank cell is not a blank row
        line(customer("C5")),  # 8
    ]
    put(landing, "customers/2026-10-01.csv", csv_bytes(*lines))
    settle(con, landing, "customers")
    assert [(r[0], r[1]) for r in quarantined(con, "customers")] == [
        (6, "allowed_values"),
        (7, "required"),
    ]
    assert quarantined(con, "customers")[0][2].startswith("customers/2026-10-01.csv line 6: ")
    assert con.execute(
        "select customer_id, _line, city from raw.customers where _file like '%10-01%' order by 2"
    ).fetchall() == [("C2", 2, "苏州\n工业园区"), ("C5", 8, "苏州")]
    [(_, rows_in, accepted, held, blank_rows, _, _)] = ledger(con, "customers/2026-10-01.csv")
    assert (rows_in, accepted, held, blank_rows) == (6, 2, 2, 2)


def test_gbk_file_with_blank_rows_keeps_physical_line_numbers(warehouse):
    landing, con = warehouse
    content = (
        "\r\n".join(
            [",".join(CUSTOMER_HEADER), "", line(customer("C2", industry="坏")), ""]
        ).encode("gbk")
        + b"\r\n"
    )
    put(landing, "customers/2026-10-01.csv", content)
    settle(con, landing, "customers")
    assert [r[:2] for r in quarantined(con, "customers")] == [(3, "allowed_values")]
    assert ledger(con, "customers/2026-10-01.csv")[0][1:5] == (3, 0, 1, 2)


def test_excel_blank_rows_are_skipped_and_counted_with_excel_row_numbers(warehouse):
    landing, con = warehouse
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(CUSTOMER_HEADER)  # row 1
    sheet.append(customer("C2"))  # row 2
    sheet.append([None] * len(CUSTOMER_HEADER))  # row 3: empty
    sheet.append(["  "] + [None] * (len(CUSTOMER_HEADER) - 1))  # row 4: whitespace only
    sheet.append(customer("C3", industry="bad"))  # row 5
    book.save(landing / "customers" / "2026-10-01.xlsx")
    settle(con, landing, "customers")
    assert [r[:2] for r in quarantined(con, "customers")] == [(5, "allowed_values")]
    assert ledger(con, "customers/2026-10-01.xlsx")[0][:5] == ("loaded", 4, 1, 1, 2)


def test_parquet_all_null_rows_are_skipped_and_counted(warehouse):
    landing, con = warehouse
    columns = ", ".join(f"cast(null as varchar) as {c}" for c in CUSTOMER_HEADER)
    values = ", ".join(f"'{v}' as {c}" for c, v in zip(CUSTOMER_HEADER, customer(), strict=True))
    path = landing / "customers" / "2026-10-01.parquet"
    with duckdb.connect() as scratch:
        scratch.execute(
            f"copy (select {values} union all select {columns}) to '{path}' (format parquet)"
        )
    settle(con, landing, "customers")
    assert ledger(con, "customers/2026-10-01.parquet")[0][:5] == ("loaded", 2, 1, 0, 1)


def test_a_file_of_only_blank_rows_is_rejected(warehouse):
    landing, con = warehouse
    blank = "," * (len(CUSTOMER_HEADER) - 1)
    put(landing, "customers/2026-10-01.csv", csv_bytes(",".join(CUSTOMER_HEADER), blank, "", blank))
    settle(con, landing, "customers")
    [(status, rows_in, *_, error, _)] = ledger(con, "customers/2026-10-01.csv")
    assert (status, rows_in) == ("rejected", 0)
    assert error.endswith("the file has a header but no data rows (only 3 blank rows)")


# --- 3. messages that name the problem --------------------------------------------------------


def test_wrong_separator_ragged_row_and_truncated_file_each_get_their_own_message(warehouse):
    landing, con = warehouse
    header = ",".join(CUSTOMER_HEADER)
    width = len(CUSTOMER_HEADER)
    put(landing, "customers/2026-10-01.csv", csv_bytes(header, ";".join(customer())))
    put(
        landing,
        "customers/2026-10-02.csv",
        csv_bytes(header, line(customer()), ",".join(customer("C3")[:-1])),
    )
    put(landing, "customers/2026-10-03.csv", csv_bytes(header, line(customer("C4"))) + b"C5,x,food")
    settle(con, landing, "customers")
    errors = [ledger(con, f"customers/2026-10-0{n}.csv")[0][5] for n in (1, 2, 3)]
    assert errors[0].startswith(
        f"customers/2026-10-01.csv: wrong separator: line 2 has 1 field(s) where the header "
        f"has {width} columns, and {width - 1} semicolons: the rows look semicolon-separated"
    )
    assert errors[1].startswith(
        f"customers/2026-10-02.csv: ragged row: line 3 has {width - 1} field(s) where the "
        f"header has {width} columns: 'C3,乙公司,"
    )
    assert errors[2] == (
        "customers/2026-10-03.csv: the file looks truncated: it ends without a line end "
        f"inside its last row, line 3, which has 3 of the header's {width} fields: 'C5,x,food'"
    )


def test_the_offending_line_is_shortened_and_its_control_characters_escaped(warehouse):
    landing, con = warehouse
    hostile = "C9,\x1b[31mred\x1b[0m\x00," + "A" * 5000 + ",extra"
    put(landing, "customers/2026-10-01.csv", csv_bytes(",".join(CUSTOMER_HEADER), hostile))
    settle(con, landing, "customers")
    error = ledger(con, "customers/2026-10-01.csv")[0][5]
    assert "ragged row: line 2 has 4 field(s)" in error
    assert "'C9,\\x1b[31mred\\x1b[0m\\x00,AAAA" in error
    assert not any(ch in error for ch in "\x1b\x00")
    assert error.endswith("A…'") and len(error) < 400


def test_malformed_quoting_names_the_line(warehouse):
    landing, con = warehouse
    bad = line(customer()).replace("乙公司", '"乙"公司')
    put(
        landing,
        "customers/2026-10-01.csv",
        csv_bytes(",".join(CUSTOMER_HEADER), line(customer("C3")), bad),
    )
    settle(con, landing, "customers")
    error = ledger(con, "customers/2026-10-01.csv")[0][5]
    assert error.startswith("customers/2026-10-01.csv: malformed row: line 3 breaks CSV quoting")
    assert "C3" not in error  # only the offending row is quoted


# --- 4. landing confined ----------------------------------------------------------------------


def test_a_symlink_to_a_file_outside_the_landing_folder_is_never_read(warehouse, tmp_path):
    landing, con = warehouse
    secret = tmp_path / "secret.csv"
    secret.write_text("SECRET-FIRST-LINE;with;semicolons\nSECRET-SECOND\n")
    (landing / "orders").mkdir()
    (landing / "orders" / "2026-10-01.csv").symlink_to(secret)
    # a link to a good file inside the landing folder is refused all the same
    (landing / "customers" / "2026-10-02.csv").symlink_to(landing / "customers" / "2026-01-01.csv")
    settle(con, landing, "customers", "orders")
    [(status, rows_in, *_, error, _)] = ledger(con, "orders/2026-10-01.csv")
    assert (status, rows_in) == ("rejected", 0)
    assert (
        error
        == "orders/2026-10-01.csv: is a symbolic link; links are never followed, so it was not read"
    )
    assert ledger(con, "customers/2026-10-02.csv")[0][0] == "rejected"
    everything = json.dumps(state(con), default=str)
    assert "SECRET" not in everything
    assert (
        con.execute(
            "select checksum from raw_meta.load_ledger where file = 'orders/2026-10-01.csv'"
        ).fetchone()[0]
        is None
    )


def test_a_table_folder_that_is_a_symlink_is_rejected_unread(warehouse, tmp_path):
    landing, con = warehouse
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "2026-10-01.csv").write_text("SECRET-HEADER\nSECRET-ROW\n")
    (landing / "orders").symlink_to(outside, target_is_directory=True)
    (landing / "notes").symlink_to(outside, target_is_directory=True)  # and an unknown one
    settle(con, landing, "orders")
    for _ in range(2):
        reject_unknown_folders(con, landing, "run")
    rows = con.execute(
        "select file, status, checksum, error from raw_meta.load_ledger "
        "where table_name in ('orders', 'notes') order by file"
    ).fetchall()
    assert rows == [
        (
            "notes/",
            "rejected",
            None,
            "notes/: the folder is a symbolic link; links are never followed, so it was not read",
        ),
        (
            "orders/",
            "rejected",
            None,
            "orders/: the folder is a symbolic link; links are never followed, so it was not read",
        ),
    ]
    assert "SECRET" not in json.dumps(state(con), default=str)


def test_a_fifo_is_rejected_without_being_opened(warehouse):
    landing, con = warehouse
    (landing / "orders").mkdir()
    os.mkfifo(landing / "orders" / "2026-10-01.csv")  # opening it to read would block forever
    settle(con, landing, "orders")
    [(status, *_, error, _)] = ledger(con, "orders/2026-10-01.csv")
    assert (status, error) == (
        "rejected",
        "orders/2026-10-01.csv: is a FIFO (named pipe), not a regular file; it was not read",
    )


def test_a_device_is_rejected_without_being_read(warehouse):
    landing, con = warehouse
    (landing / "orders").mkdir()
    try:
        os.mknod(landing / "orders" / "2026-10-01.csv", 0o600 | 0o020000, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("creating a device node needs CAP_MKNOD")
    settle(con, landing, "orders")
    [(status, *_, error, _)] = ledger(con, "orders/2026-10-01.csv")
    assert (status, error) == (
        "rejected",
        "orders/2026-10-01.csv: is a device, not a regular file; it was not read",
    )


def test_a_rejection_quotes_only_the_offending_row(warehouse):
    landing, con = warehouse
    rows = [
        line(customer("C2", customer_name="PRIVATE-NAME-13812345678")),
        ",".join(customer("C3")[:4]),
    ]
    put(landing, "customers/2026-10-01.csv", csv_bytes(",".join(CUSTOMER_HEADER), *rows))
    settle(con, landing, "customers")
    error = ledger(con, "customers/2026-10-01.csv")[0][5]
    assert "ragged row: line 3" in error and "PRIVATE" not in error


# --- 6, 7. every decision recorded, corrections exact -----------------------------------------


def test_a_duplicate_drop_is_recorded_once_pointing_at_the_first_load(warehouse):
    landing, con = warehouse
    content = csv_bytes(",".join(CUSTOMER_HEADER), line(customer()))
    put(landing, "customers/2026-10-01.csv", content)
    load(con, landing, "customers")
    put(landing, "customers/2026-10-05.csv", content)
    results = settle(con, landing, "customers")
    [dup] = [r for r in results if r.file == "customers/2026-10-05.csv"]
    assert (dup.status, dup.duplicate_of) == ("skipped-duplicate", "customers/2026-10-01.csv")
    assert [(r[0], r[1], r[6]) for r in ledger(con, "customers/2026-10-05.csv")] == [
        ("skipped-duplicate", 0, "customers/2026-10-01.csv")
    ]


def _orders(amount: str) -> bytes:
    header = [c.name for c in table("orders").columns]
    values = {
        "order_id": "O1",
        "customer_id": "C1",
        "ordered_on": "2025-01-01",
        "amount": amount,
        "currency": "CNY",
        "product_line": "consulting",
        "is_credit_note": "false",
    }
    return csv_bytes(",".join(header), ",".join(values.get(c, "") for c in header))


def _write_orders(path: Path, amount: str) -> None:
    if path.suffix == ".csv":
        path.write_bytes(_orders(amount))
        return
    lines = _orders(amount).decode().splitlines()
    header, row = lines[0].split(","), lines[1].split(",")
    if path.suffix == ".xlsx":
        book = openpyxl.Workbook()
        book.active.append(header)
        book.active.append([v or None for v in row])
        book.save(path)
    else:
        values = ", ".join(f"'{v}' as {c}" for c, v in zip(header, row, strict=True))
        with duckdb.connect() as scratch:
            scratch.execute(f"copy (select {values}) to '{path}' (format parquet)")


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "parquet"])
def test_a_restored_drop_a_b_a_loads_a(fmt, warehouse):
    """A, corrected to B, then A put back: A is the drop's content (status replaced), not a
    skipped duplicate of A's first, superseded load."""
    landing, con = warehouse
    path = landing / "orders" / f"2026-10-01.{fmt}"
    path.parent.mkdir()
    for amount in ("100.00", "200.00", "100.00"):
        _write_orders(path, amount)
        load(con, landing, "orders")
    settle(con, landing, "orders")
    assert con.execute("select order_id, amount from raw.orders").fetchall() == [
        ("O1", Decimal("100.00"))
    ]
    assert [r[:3] for r in ledger(con, f"orders/2026-10-01.{fmt}")] == [
        ("loaded", 1, 1),
        ("replaced", 1, 1),
        ("replaced", 1, 1),
    ]


def test_a_sibling_skipped_as_a_duplicate_stays_skipped_after_the_drop_it_copied_changes(warehouse):
    landing, con = warehouse
    put(landing, "orders/2026-10-01.csv", _orders("100.00"))
    load(con, landing, "orders")
    put(landing, "orders/2026-10-02.csv", _orders("100.00"))
    load(con, landing, "orders")
    put(landing, "orders/2026-10-01.csv", _orders("300.00"))
    settle(con, landing, "orders")
    assert con.execute("select amount from raw.orders").fetchall() == [(Decimal("300.00"),)]
    assert [r[0] for r in ledger(con, "orders/2026-10-02.csv")] == ["skipped-duplicate"]


def test_a_ledger_of_an_earlier_release_gains_the_new_columns(tmp_path):
    landing = tmp_path / "landing"
    put(
        landing,
        "customers/2026-01-01.csv",
        csv_bytes(",".join(CUSTOMER_HEADER), line(customer("C1"))),
    )
    with duckdb.connect() as con:
        con.execute("create schema raw_meta")
        con.execute(
            "create table raw_meta.load_ledger (run_id varchar, table_name varchar, file varchar, "
            "drop_name varchar, checksum varchar, size_bytes bigint, rows_in bigint, "
            "rows_accepted bigint, rows_quarantined bigint, status varchar, error varchar, "
            "extra_columns varchar, started_at timestamp, finished_at timestamp)"
        )
        con.execute(
            "insert into raw_meta.load_ledger values ('old', 'orders', 'orders/x.csv', null, "
            "null, 1, 0, 0, 0, 'rejected', 'orders/x.csv: old', null, now(), now())"
        )
        create_raw_tables(con)
        create_raw_tables(con)
        assert con.execute(
            "select rows_blank, duplicate_of from raw_meta.load_ledger"
        ).fetchall() == [(0, None)]
        settle(con, landing, "customers")
        assert ledger(con, "customers/2026-01-01.csv")[0][:5] == ("loaded", 1, 1, 0, 0)


# --- 5 (part). control characters -------------------------------------------------------------


@pytest.mark.parametrize(
    ("character", "name"), [("\x00", "NUL"), ("\x07", "BEL"), ("\x1b", "ESC"), ("\x7f", "DEL")]
)
def test_a_control_character_in_a_text_value_is_quarantined(character, name, warehouse):
    landing, con = warehouse
    put(
        landing,
        "customers/2026-10-01.csv",
        csv_bytes(",".join(CUSTOMER_HEADER), line(customer(customer_name=f"甲{character}乙"))),
    )
    settle(con, landing, "customers")
    [(number, rule, message, record)] = quarantined(con, "customers")
    assert (number, rule) == (2, "control_character")
    assert "customer_name holds a control character" in message
    assert json.loads(record)["customer_name"] == f"甲{character}乙"  # the original text kept


def test_tabs_and_line_breaks_inside_a_value_are_text(warehouse):
    landing, con = warehouse
    put(
        landing,
        "customers/2026-10-01.csv",
        csv_bytes(
            ",".join(CUSTOMER_HEADER), line(customer(customer_name="甲\t乙", city="苏州\r\n园区"))
        ),
    )
    settle(con, landing, "customers")
    assert quarantined(con, "customers") == []
    assert con.execute(
        "select customer_name, city from raw.customers where customer_id = 'C2'"
    ).fetchone() == ("甲\t乙", "苏州\r\n园区")


def test_a_nul_in_a_parquet_value_is_quarantined(warehouse):
    landing, con = warehouse
    values = ", ".join(
        (f"'甲' || chr(0) || '乙' as {c}" if c == "customer_name" else f"'{v}' as {c}")
        for c, v in zip(CUSTOMER_HEADER, customer(), strict=True)
    )
    path = landing / "customers" / "2026-10-01.parquet"
    with duckdb.connect() as scratch:
        scratch.execute(f"copy (select {values}) to '{path}' (format parquet)")
    settle(con, landing, "customers")
    assert [r[:2] for r in quarantined(con, "customers")] == [(1, "control_character")]


def test_the_hostile_corpus_together_conserves_rows_and_settles(warehouse, tmp_path):
    """All of it in one landing folder, every table loaded in order, twice."""
    landing, con = warehouse
    blank = "," * (len(CUSTOMER_HEADER) - 1)
    header = ",".join(CUSTOMER_HEADER)
    first = csv_bytes(header, line(customer()), blank, "", blank)
    put(landing, "customers/2026-10-01.csv", first)
    put(
        landing,
        "customers/2026-10-02.csv",
        csv_bytes(
            header, line(customer("C3", city="a\nb")), line(customer("C4", customer_name="x\x00"))
        )
        + b"C5,y,food,a,east,b,small,2024-01-01,online,1.5",
    )
    put(landing, "customers/2026-10-03.csv", csv_bytes(header, ";".join(customer("C6"))))
    put(landing, "customers/2026-10-04.csv", first)  # a duplicate
    # rows ending in LF and CRLF, one cell on two lines, a bad row last
    two_lines = line(customer("C7", city="x\r\ny"))
    mixed = header + "\n" + two_lines + "\r\n" + line(customer("C8", region="?")) + "\n"
    put(landing, "customers/2026-10-05.csv", mixed.encode())
    (tmp_path / "outside.csv").write_text("x\n")
    (landing / "orders").mkdir()
    (landing / "orders" / "2026-10-01.csv").symlink_to(tmp_path / "outside.csv")
    put(landing, "orders/2026-10-02.csv", _orders("100.00"))
    settle(con, landing, *TABLE_NAMES)
    statuses = dict(
        con.execute(
            "select file, status from raw_meta.load_ledger where file like '%/2026-10-%'"
        ).fetchall()
    )
    assert statuses == {
        "customers/2026-10-01.csv": "loaded",
        "customers/2026-10-02.csv": "loaded",
        "customers/2026-10-03.csv": "rejected",
        "customers/2026-10-04.csv": "skipped-duplicate",
        "customers/2026-10-05.csv": "loaded",
        "orders/2026-10-01.csv": "rejected",
        "orders/2026-10-02.csv": "loaded",
    }
    assert con.execute(
        "select _line, rule from raw_quarantine.customers order by _file, _line"
    ).fetchall() == [
        (4, "control_character"),  # after the two-line cell of lines 2-3
        (5, "unterminated_last_row"),
        (4, "allowed_values"),  # 2026-10-05: the two-line cell, then line 4
    ]
    assert con.execute("select city from raw.customers where customer_id = 'C7'").fetchone() == (
        "x\r\ny",
    )


def test_a_header_with_control_characters_is_listed_escaped(warehouse):
    landing, con = warehouse
    header = ",".join(CUSTOMER_HEADER).replace("customer_id", "customer\x1b[2J_id\x00")
    put(landing, "customers/2026-10-01.csv", csv_bytes(header, line(customer())))
    settle(con, landing, "customers")
    error = ledger(con, "customers/2026-10-01.csv")[0][5]
    assert "missing required column(s) customer_id" in error
    assert "found customer\\x1b[2J_id\\x00, customer_name" in error
    assert not any(ch in error for ch in "\x1b\x00")
