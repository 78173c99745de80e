"""Load landing drop files into the `raw` schema, validating every row against the contract.

The work is done inside DuckDB (read_csv / read_parquet as text, then typed and checked in SQL)
so that millions of rows load without passing through Python one by one. Each file lands in
one transaction: its accepted rows in `raw.<table>`, its failing rows in
`raw_quarantine.<table>` with the rules they broke, and a line in `raw_meta.load_ledger`.

`python -m orchestration.ingest check <landing dir>` prints what would load, writing nothing.
"""

from __future__ import annotations

import argparse
import codecs
import csv
import datetime as dt
import hashlib
import json
import math
import re
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb
import openpyxl
import pandas as pd

from .contract import TABLE_NAMES, Column, Table, load_order, table
from .pii import pseudonymise
from .raw_schema import create_raw_tables

DROP_NAME = re.compile(r"^(?P<day>\d{4}-\d{2}-\d{2})(?:_(?P<n>\d+))?\.(?P<ext>csv|parquet|xlsx)$")
# A file at least this large (MB) also reports its rows and time when loaded.
PROGRESS_MIN_MB = 20.0

# Names an exporter or a copy in progress leaves behind; such files are never picked up.
PARTIAL_MARKERS = (".tmp", ".part", ".partial", ".crdownload", ".filepart", ".swp")
EARLIEST_DATE = dt.date(1990, 1, 1)
# Wide survey exports (Qualtrics, Wenjuanxing): one row per respondent, one column per question.
WIDE_SURVEY_FOLDER = "survey_wide"
WIDE_SURVEY_TABLES = ("survey_responses", "survey_answers")
TRUE_WORDS = ("true", "t", "1", "yes", "y", "是", "对", "√")
FALSE_WORDS = ("false", "f", "0", "no", "n", "否", "错", "×")
FULL_WIDTH = "０１２３４５６７８９．，－＋：／（）　"
HALF_WIDTH = "0123456789.,-+:/() "
CURRENCY_PREFIX = r"^(HK\$|US\$|RMB|CNY|USD|EUR|HKD|[¥￥$€])\s*"
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日", "%Y%m%d")
TIMESTAMP_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y年%m月%d日 %H:%M:%S",
    "%Y年%m月%d日 %H:%M",
)
TYPE_HINTS = {
    "int": "a whole number",
    "decimal": "a number with at most 2 decimals",
    "date": "a date (YYYY-MM-DD)",
    "timestamp": "a timestamp (YYYY-MM-DD HH:MM:SS)",
    "bool": "a boolean (true/false)",
}


class FileRejectedError(Exception):
    """The whole file is unusable; nothing of it is loaded."""


@dataclass
class DropFile:
    """One file in a table folder of the landing directory."""

    table: str  # the raw table the rows go to
    path: Path
    relative: str  # "<folder>/<file name>", as stored in `_file` and the ledger
    drop_name: str  # "<folder>/<YYYY-MM-DD>[_<n>]": what a corrected file replaces

    @property
    def is_wide_survey(self) -> bool:
        return self.relative.startswith(WIDE_SURVEY_FOLDER + "/")

    @property
    def fmt(self) -> str:
        return self.path.suffix.lstrip(".").lower()


@dataclass
class FileResult:
    """What happened to one file: one ledger line."""

    table_name: str
    file: str
    drop_name: str | None
    checksum: str | None
    size_bytes: int | None
    status: str
    rows_in: int = 0
    rows_accepted: int = 0
    rows_quarantined: int = 0
    error: str | None = None
    extra_columns: list[str] = field(default_factory=list)
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def is_partial(name: str) -> bool:
    lower = name.lower()
    return name.startswith((".", "~$")) or lower.endswith(PARTIAL_MARKERS)


def discover(landing_dir: Path, table_name: str) -> tuple[list[DropFile], list[FileResult]]:
    """Drop files of one table in load order, and the files rejected for their name.

    survey_responses and survey_answers also take their rows from wide survey exports in
    the `survey_wide/` folder (one row per respondent, one column per question).
    """
    folders = [table_name]
    if table_name in WIDE_SURVEY_TABLES:
        folders.append(WIDE_SURVEY_FOLDER)
    drops: list[DropFile] = []
    rejected: list[FileResult] = []
    for folder_name in folders:
        folder = landing_dir / folder_name
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if not path.is_file() or is_partial(path.name):
                continue
            relative = f"{folder_name}/{path.name}"
            if DROP_NAME.match(path.name) is None:
                # A misnamed wide export is reported once, by survey_responses.
                if folder_name == table_name or table_name == WIDE_SURVEY_TABLES[0]:
                    rejected.append(_misnamed(table_name, relative, path))
                continue
            drop_name = f"{folder_name}/{path.name.rsplit('.', 1)[0]}"
            drops.append(DropFile(table_name, path, relative, drop_name))

    def order(d: DropFile) -> tuple[str, int, str]:
        m = DROP_NAME.match(d.path.name)
        assert m is not None
        return m["day"], int(m["n"] or 0), d.relative

    drops.sort(key=order)
    return drops, rejected


def _misnamed(table_name: str, relative: str, path: Path) -> FileResult:
    return FileResult(
        table_name=table_name,
        file=relative,
        drop_name=None,
        checksum=None,
        size_bytes=path.stat().st_size,
        status="rejected",
        error=f"{relative}: file name does not follow <YYYY-MM-DD>[_<n>].csv|.parquet|.xlsx",
    )


def _q(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _numeric_text(source: str) -> str:
    """SQL cleaning a number as exports write it: full-width digits, currency symbols,
    thousands separators, a trailing 元, accounting negatives in parentheses."""
    text = f"translate({source}, {_lit(FULL_WIDTH)}, {_lit(HALF_WIDTH)})"
    text = f"regexp_replace({text}, {_lit(CURRENCY_PREFIX)}, '', 'i')"
    text = f"regexp_replace({text}, '\\s*元$', '')"
    text = f"regexp_replace({text}, '^\\((.*)\\)$', '-\\1')"
    # Only well-placed thousands separators are removed: "1,234.5" yes, "1,2" no.
    return (
        f"case when regexp_matches({text}, '^[+-]?[0-9]{{1,3}}(,[0-9]{{3}})+(\\.[0-9]+)?$') "
        f"then replace({text}, ',', '') else {text} end"
    )


def _excel_serial(source: str) -> str:
    """SQL reading an Excel serial day number (e.g. 45356 or 45356.5) as a timestamp."""
    return (
        f"case when regexp_matches({source}, '^[0-9]{{5}}(\\.[0-9]+)?$') "
        f"then timestamp '1899-12-30' + to_microseconds(cast(round(cast({source} as double) "
        "* 86400000000) as bigint)) end"
    )


def _typed_expr(col: Column, source: str) -> str:
    """SQL turning the text value `source` into the column's type; NULL when it does not parse.

    Accepted forms are listed in the landing contract: ISO, slashed and Chinese dates, Excel
    serial dates, full-width digits, currency symbols and thousands separators in amounts,
    true/false, 1/0, Y/N and 是/否 booleans.
    """
    if col.type == "bool":
        true_list = ", ".join(_lit(w) for w in TRUE_WORDS)
        false_list = ", ".join(_lit(w) for w in FALSE_WORDS)
        return (
            f"case when lower({source}) in ({true_list}) then true "
            f"when lower({source}) in ({false_list}) then false end"
        )
    if col.type in ("date", "timestamp"):
        text = f"translate({source}, {_lit(FULL_WIDTH)}, {_lit(HALF_WIDTH)})"
        formats = DATE_FORMATS if col.type == "date" else TIMESTAMP_FORMATS + DATE_FORMATS
        parsed = (
            f"coalesce(try_strptime({text}, [{', '.join(_lit(f) for f in formats)}]), "
            f"{_excel_serial(text)})"
        )
        if col.type == "date":
            # A date column given a time of day other than midnight is not a date.
            midnight = f"cast({parsed} as time) = time '00:00:00'"
            return f"case when {midnight} then cast({parsed} as date) end"
        return parsed
    if col.type == "decimal":
        text = _numeric_text(source)
        # A value with more than 2 decimals would be rounded silently by the cast: refuse it.
        return (
            f"case when try_cast({text} as double) = try_cast({text} as decimal(18, 2)) "
            f"then try_cast({text} as decimal(18, 2)) end"
        )
    if col.type == "int":
        text = _numeric_text(source)
        return (
            f"case when regexp_matches({text}, '^[+-]?[0-9]+$') then try_cast({text} as bigint) end"
        )
    return source


def _checks(tbl: Table, run_date: dt.date) -> list[tuple[str, str, str]]:
    """(rule, SQL condition that flags a failing row, SQL message) over the staged row `t`."""
    checks: list[tuple[str, str, str]] = []
    latest = run_date + dt.timedelta(days=1)
    for col in tbl.columns:
        text = f"t.{_q('_txt_' + col.name)}"
        typed = f"t.{_q(col.name)}"
        name = col.name
        if col.required:
            checks.append(("required", f"{text} is null", _lit(f"{name} is required but blank")))
        if col.type != "string":
            checks.append(
                (
                    "type",
                    f"{text} is not null and {typed} is null",
                    f"'{name} value ''' || {text} || ''' is not {TYPE_HINTS[col.type]}'",
                )
            )
        if col.allowed:
            allowed = ", ".join(_lit(v) for v in col.allowed)
            checks.append(
                (
                    "allowed_values",
                    f"{typed} is not null and {typed} not in ({allowed})",
                    f"'{name} value ''' || {typed} || ''' is not one of: {', '.join(col.allowed)}'",
                )
            )
        if col.min_value is not None:
            checks.append(
                (
                    "min_value",
                    f"{typed} < {col.min_value}",
                    f"'{name} value ' || {typed} || ' is below the minimum {col.min_value:g}'",
                )
            )
        if col.max_value is not None:
            checks.append(
                (
                    "max_value",
                    f"{typed} > {col.max_value}",
                    f"'{name} value ' || {typed} || ' is above the maximum {col.max_value:g}'",
                )
            )
        if col.type in ("date", "timestamp"):
            upper = "" if col.future_allowed else f" or cast({typed} as date) > date '{latest}'"
            bound = "" if col.future_allowed else f" .. {latest} (run date + 1 day)"
            checks.append(
                (
                    "plausible_date",
                    f"cast({typed} as date) < date '{EARLIEST_DATE}'{upper}",
                    f"'{name} ' || cast({typed} as varchar) || ' lies outside "
                    f"{EARLIEST_DATE}{bound}'",
                )
            )
    key_text = " || '/' || ".join(f"coalesce(cast(t.{_q(k)} as varchar), '')" for k in tbl.key)
    checks.append(
        (
            "duplicate_key_in_file",
            "t._key_rank > 1",
            f"'key ({', '.join(tbl.key)}) = ' || {key_text} || ' repeats line ' || t._key_first",
        )
    )
    match_existing = " and ".join(f"r.{_q(k)} = t.{_q(k)}" for k in tbl.key)
    checks.append(
        (
            "duplicate_key_across_drops",
            f"exists (select 1 from raw.{tbl.name} r where {match_existing} "
            f"and r._file <> t._file)",
            f"'key ({', '.join(tbl.key)}) = ' || {key_text} || ' was already loaded from '"
            f" || (select min(r._file) from raw.{tbl.name} r where {match_existing}"
            f" and r._file <> t._file)",
        )
    )
    for col in tbl.columns:
        if not col.references:
            continue
        ref_table, ref_col = col.references.split(".")
        typed = f"t.{_q(col.name)}"
        candidates = f"select {_q(ref_col)} from raw.{ref_table}"
        if ref_table == tbl.name:  # a self-reference may point at a row of the same file
            candidates += f" union all select {_q(ref_col)} from _staged"
        checks.append(
            (
                "unknown_reference",
                f"{typed} is not null and {typed} not in ({candidates})",
                f"'{col.name} ''' || {typed} || ''' does not match any {col.references}'",
            )
        )
    for rule in tbl.rules:
        checks.append(
            (
                rule.name,
                f"not coalesce({rule.check}, true)",
                _lit(f"breaks rule {rule.name}: {rule.description}"),
            )
        )
    return checks


def _decoded_csv(path: Path, scratch: Path) -> tuple[Path, str]:
    """The file to hand to DuckDB as UTF-8, and the encoding it was found in.

    UTF-8 (with or without a byte-order mark) is read as it is. Anything else is tried as
    GB18030, the superset of GBK and GB2312 that Chinese Excel and CRM exports write, and
    transcoded to a scratch file (DuckDB reads only UTF-8 without its encodings extension).
    """
    for encoding in ("utf-8", "gb18030"):
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with path.open("rb") as fh:
                for block in iter(lambda fh=fh: fh.read(1 << 20), b""):
                    decoder.decode(block)
                decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        if encoding == "utf-8":
            return path, encoding
        target = scratch / "transcoded.csv"
        with (
            path.open(encoding=encoding, newline="") as src,
            target.open("w", encoding="utf-8", newline="") as dst,
        ):
            shutil.copyfileobj(src, dst, 1 << 20)
        return target, encoding
    raise FileRejectedError("the file is neither UTF-8 nor GBK/GB18030 text")


def _csv_header(path: Path) -> list[str]:
    """Column names of a (UTF-8) CSV file's header line."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        first = fh.readline()
    if not first.strip():
        raise FileRejectedError("the file is empty (no header line)")
    header = [h.strip() for h in next(csv.reader([first]))]
    if len(header) == 1:
        for sep, name in ((";", "semicolon"), ("\t", "tab"), ("|", "pipe")):
            if sep in header[0]:
                raise FileRejectedError(
                    f"the header has one column {header[0][:80]!r}: the file looks "
                    f"{name}-separated, the contract requires commas"
                )
    return header


def _excel_text(value: object) -> str | None:
    """One Excel cell as the text an export would have written."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d" if value.time() == dt.time() else "%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _read_excel(path: Path, required: list[str]) -> tuple[pd.DataFrame, list[str], str]:
    """The first sheet whose header row holds the table's required columns, as text."""
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise FileRejectedError(f"not a readable .xlsx workbook ({_first_line(exc)})") from None
    found: list[str] = []
    try:
        for sheet in book.worksheets:
            rows = sheet.iter_rows(values_only=True)
            first = next(rows, None)
            if first is None:
                continue
            header = [str(h).strip() if h is not None else "" for h in first]
            while header and header[-1] == "":
                header.pop()
            found.append(f"sheet {sheet.title!r}: {', '.join(header) or 'no columns'}")
            if all(c in header for c in required):
                width = len(header)
                data = [[_excel_text(v) for v in (list(r) + [None] * width)[:width]] for r in rows]
                while data and all(v is None for v in data[-1]):
                    data.pop()  # Excel often carries formatted but empty trailing rows
                return pd.DataFrame(data, columns=header, dtype=object), header, sheet.title
    finally:
        book.close()
    raise FileRejectedError(
        f"no sheet has the required column(s) {', '.join(required)}; "
        f"found {'; '.join(found) or 'no sheets'}"
    )


def _read_text(con: duckdb.DuckDBPyConnection, drop: DropFile, required: list[str]) -> list[str]:
    """Read a file into the temp table `_file_text`: every column as trimmed text (blank as
    NULL) plus `_line`. Returns the header. Rejects the file when it cannot be read whole or
    lacks a required column."""
    with tempfile.TemporaryDirectory(prefix="wh-ingest-") as scratch:
        registered = False
        if drop.fmt == "csv":
            readable, _ = _decoded_csv(drop.path, Path(scratch))
            header = _csv_header(readable)
            columns = "{" + ", ".join(f"{_lit(h)}: 'varchar'" for h in header) + "}"
            relation = (
                f"read_csv({_lit(str(readable))}, header = false, skip = 1, delim = ',', "
                f"quote = '\"', escape = '\"', auto_detect = false, columns = {columns}, "
                "strict_mode = true, null_padding = false)"
            )
            line_offset = 2
        elif drop.fmt == "xlsx":
            frame, header, _ = _read_excel(drop.path, required)
            con.register("_excel_frame", frame)
            registered = True
            relation = "_excel_frame"
            line_offset = 2
        else:
            try:
                described = con.execute(
                    f"describe select * from read_parquet({_lit(str(drop.path))})"
                ).fetchall()
            except duckdb.Error as exc:
                raise FileRejectedError(
                    f"not a readable Parquet file ({_first_line(exc)})"
                ) from None
            header = [r[0] for r in described]
            relation = f"read_parquet({_lit(str(drop.path))})"
            line_offset = 1
        if len(set(header)) != len(header):
            dupes = sorted({h for h in header if header.count(h) > 1})
            raise FileRejectedError(f"the header repeats column(s): {', '.join(dupes)}")
        missing = [c for c in required if c not in header]
        if missing:
            raise FileRejectedError(
                f"missing required column(s) {', '.join(missing)}; expected "
                f"{', '.join(required)}; found {', '.join(header) or 'no columns'}"
            )
        selects = ", ".join(
            f"nullif(trim(cast({_q(h)} as varchar)), '') as {_q(h)}" for h in header if h
        )
        try:
            con.execute(
                f"create or replace temp table _file_text as select {selects}, "
                f"cast(row_number() over () + {line_offset - 1} as bigint) as _line "
                f"from {relation}"
            )
        except duckdb.Error as exc:
            raise FileRejectedError(f"could not be parsed ({_first_line(exc)})") from None
        finally:
            if registered:
                con.unregister("_excel_frame")
    return [h for h in header if h]


def _json_of(columns: list[str]) -> str:
    if not columns:
        return "cast(null as varchar)"
    return "to_json(struct_pack(" + ", ".join(f"{_q(c)} := {_q(c)}" for c in columns) + "))"


def _stage(con: duckdb.DuckDBPyConnection, drop: DropFile, tbl: Table) -> list[str]:
    """Put the file's rows for `tbl` into the temp table `_raw_text` (the contract's columns
    as text, `_extra`, `_line`). Returns the columns the contract does not know."""
    if drop.is_wide_survey:
        return _stage_wide_survey(con, drop, tbl)
    required = tbl.required_columns
    # Report the whole expected header in the message, not only the required part.
    try:
        header = _read_text(con, drop, required)
    except FileRejectedError as exc:
        raise FileRejectedError(
            str(exc).replace(
                f"expected {', '.join(required)};", f"expected {', '.join(tbl.column_names)};"
            )
        ) from None
    extras = [h for h in header if h not in tbl.column_names]
    selects = [
        _q(c.name) if c.name in header else f"cast(null as varchar) as {_q(c.name)}"
        for c in tbl.columns
    ]
    con.execute(
        "create or replace temp table _raw_text as "
        f"select {', '.join(selects)}, {_json_of(extras)} as _extra, _line from _file_text"
    )
    con.execute("drop table _file_text")
    return extras


def _stage_wide_survey(con: duckdb.DuckDBPyConnection, drop: DropFile, tbl: Table) -> list[str]:
    """A wide survey export as rows of survey_responses or of survey_answers.

    A question column is named by its question_id or by its exact question_text in
    `raw.survey_questions`; a skipped question (empty cell) becomes an answer with no value,
    never 0. Columns that name no question are kept in the response's `_extra`.
    """
    responses = table("survey_responses")
    header = _read_text(con, drop, responses.required_columns)
    question_of: dict[str, str] = {}
    for question_id, text in con.execute(
        "select question_id, question_text from raw.survey_questions"
    ).fetchall():
        question_of.setdefault(text, question_id)
        question_of[question_id] = question_id
    questions = [h for h in header if h not in responses.column_names and h in question_of]
    extras = [h for h in header if h not in responses.column_names and h not in question_of]
    if tbl.name == "survey_responses":
        selects = [
            _q(c.name) if c.name in header else f"cast(null as varchar) as {_q(c.name)}"
            for c in responses.columns
        ]
        sql = f"select {', '.join(selects)}, {_json_of(extras)} as _extra, _line from _file_text"
    elif not questions:
        raise FileRejectedError(
            "no column names a question of raw.survey_questions by question_id or exact "
            f"question_text; found {', '.join(header)}"
        )
    else:
        sql = " union all ".join(
            f"select response_id, {_lit(question_of[q])} as question_id, {_q(q)} as value, "
            "cast(null as varchar) as _extra, _line from _file_text"
            for q in questions
        )
    con.execute(f"create or replace temp table _raw_text as {sql}")
    con.execute("drop table _file_text")
    return extras


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _validate_and_insert(
    con: duckdb.DuckDBPyConnection,
    drop: DropFile,
    tbl: Table,
    run_id: str,
    run_date: dt.date,
    loaded_at: dt.datetime,
) -> tuple[int, int, int]:
    """Type and check `_raw_text`; insert accepted and quarantined rows. (in, ok, quarantined)."""
    typed_cols = ", ".join(
        f"{_typed_expr(c, 't.' + _q(c.name))} as {_q(c.name)}, t.{_q(c.name)} as "
        f"{_q('_txt_' + c.name)}"
        for c in tbl.columns
    )
    key_typed = ", ".join(_q(k) for k in tbl.key)
    con.execute(
        "create or replace temp table _staged as "
        f"select {typed_cols}, t._line, t._extra, {_lit(drop.relative)} as _file "
        "from _raw_text t"
    )
    con.execute(
        "create or replace temp table _staged as select *, "
        f"row_number() over (partition by {key_typed} order by _line) as _key_rank, "
        f"min(_line) over (partition by {key_typed}) as _key_first from _staged"
    )
    checks = _checks(tbl, run_date)
    rules = ", ".join(f"case when {cond} then {_lit(rule)} end" for rule, cond, _ in checks)
    messages = ", ".join(f"case when {cond} then {msg} end" for _, cond, msg in checks)
    con.execute(
        "create or replace temp table _checked as "
        f"select t.*, concat_ws(',', {rules}) as _rules, concat_ws('; ', {messages}) as _messages "
        "from _staged t"
    )
    cols = ", ".join(_q(c.name) for c in tbl.columns)
    con.execute(
        f"insert into raw.{tbl.name} ({cols}, _file, _line, _extra, _loaded_at, _run_id) "
        f"select {cols}, _file, _line, _extra, ?, ? from _checked where _rules = '' "
        "order by _line",
        [loaded_at, run_id],
    )
    raw_record = (
        "to_json(struct_pack("
        + ", ".join(f"{_q(c.name)} := {_q('_txt_' + c.name)}" for c in tbl.columns)
        + "))"
    )
    con.execute(
        f"insert into raw_quarantine.{tbl.name} "
        "(_file, _line, raw_record, rule, message, _loaded_at, _run_id) "
        f"select _file, _line, {raw_record}, _rules, "
        f"{_lit(drop.relative)} || ' line ' || _line || ': ' || _messages, ?, ? "
        "from _checked where _rules <> '' order by _line",
        [loaded_at, run_id],
    )
    rows_in, accepted = con.execute(
        "select count(*), count(*) filter (where _rules = '') from _checked"
    ).fetchone()
    for temp in ("_raw_text", "_staged", "_checked"):
        con.execute(f"drop table if exists {temp}")
    return int(rows_in), int(accepted), int(rows_in) - int(accepted)


def _prior(con: duckdb.DuckDBPyConnection, drop: DropFile, checksum: str) -> str | None:
    """'duplicate' if this content is already loaded for the table, 'replace' if the drop
    was loaded with other content, else None."""
    same_content = con.execute(
        "select count(*) from raw_meta.load_ledger where table_name = ? and checksum = ? "
        "and status in ('loaded', 'replaced')",
        [drop.table, checksum],
    ).fetchone()[0]
    if same_content:
        return "duplicate"
    same_drop = con.execute(
        "select count(*) from raw_meta.load_ledger where table_name = ? and drop_name = ? "
        "and status in ('loaded', 'replaced')",
        [drop.table, drop.drop_name],
    ).fetchone()[0]
    return "replace" if same_drop else None


def load_file(
    con: duckdb.DuckDBPyConnection,
    drop: DropFile,
    run_id: str,
    run_date: dt.date,
    dry_run: bool = False,
) -> FileResult:
    """Load one drop file in one transaction (or, with dry_run, roll everything back)."""
    tbl = table(drop.table)
    started = dt.datetime.now()
    checksum = sha256_of(drop.path)
    result = FileResult(
        table_name=drop.table,
        file=drop.relative,
        drop_name=drop.drop_name,
        checksum=checksum,
        size_bytes=drop.path.stat().st_size,
        status="loaded",
        started_at=started,
    )
    prior = _prior(con, drop, checksum)
    if prior == "duplicate":
        result.status = "skipped-duplicate"
        result.finished_at = dt.datetime.now()
        return result
    con.execute("begin transaction")
    try:
        if prior == "replace":
            # A corrected file for a drop already loaded: its rows replace that drop's rows.
            for schema in ("raw", "raw_quarantine"):
                con.execute(
                    f"delete from {schema}.{tbl.name} where _file in "
                    "(select file from raw_meta.load_ledger where table_name = ? "
                    "and drop_name = ?)",
                    [drop.table, drop.drop_name],
                )
            result.status = "replaced"
        result.extra_columns = _stage(con, drop, tbl)
        result.rows_in, result.rows_accepted, result.rows_quarantined = _validate_and_insert(
            con, drop, tbl, run_id, run_date, started
        )
        if result.rows_in == 0:
            raise FileRejectedError("the file has a header but no data rows")
        result.finished_at = dt.datetime.now()
        if dry_run:
            con.execute("rollback")
        else:
            _write_ledger(con, run_id, result)
            con.execute("commit")
    except FileRejectedError as exc:
        con.execute("rollback")
        result.status = "rejected"
        result.error = f"{drop.relative}: {exc}"
        result.rows_in = result.rows_accepted = result.rows_quarantined = 0
        result.finished_at = dt.datetime.now()
    except Exception:
        con.execute("rollback")
        raise
    return result


def _write_ledger(con: duckdb.DuckDBPyConnection, run_id: str, r: FileResult) -> None:
    con.execute(
        "insert into raw_meta.load_ledger values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            run_id,
            r.table_name,
            r.file,
            r.drop_name,
            r.checksum,
            r.size_bytes,
            r.rows_in,
            r.rows_accepted,
            r.rows_quarantined,
            r.status,
            r.error,
            ", ".join(r.extra_columns) or None,
            r.started_at,
            r.finished_at,
        ],
    )


def load_table(
    con: duckdb.DuckDBPyConnection,
    landing_dir: Path,
    table_name: str,
    run_id: str | None = None,
    run_date: dt.date | None = None,
    dry_run: bool = False,
    progress: Callable[[str], None] | None = None,
) -> list[FileResult]:
    """Load every new drop file of one table. Safe to call any number of times.

    `progress` receives a line before each file and after each large one (file k of n, size,
    rows, seconds), so a long drop shows where it is in the terminal and in Dagster's log.
    """
    run_id = run_id or uuid.uuid4().hex
    run_date = run_date or dt.date.today()
    create_raw_tables(con)
    drops, rejected = discover(Path(landing_dir), table_name)
    results: list[FileResult] = []
    for r in rejected:
        r.started_at = r.finished_at = dt.datetime.now()
        if not dry_run and not _already_rejected(con, r):
            _write_ledger(con, run_id, r)
        results.append(r)
    for number, drop in enumerate(drops, start=1):
        size_mb = drop.path.stat().st_size / 1e6 if drop.path.exists() else 0.0
        if progress:
            progress(
                f"{table_name}: file {number} of {len(drops)}, {drop.relative} ({size_mb:.1f} MB)"
            )
        started = time.perf_counter()
        result = load_file(con, drop, run_id, run_date, dry_run=dry_run)
        if progress and size_mb >= PROGRESS_MIN_MB:
            progress(
                f"{table_name}: {drop.relative} {result.status}, {result.rows_in:,} rows in "
                f"{time.perf_counter() - started:.1f} s"
            )
        if result.status == "rejected" and not dry_run and not _already_rejected(con, result):
            _write_ledger(con, run_id, result)
        results.append(result)
    if not dry_run:
        pseudonymise(con, table_name)  # personal data hashed in Python: orchestration/pii.py
    return results


def _already_rejected(con: duckdb.DuckDBPyConnection, r: FileResult) -> bool:
    """A rejected file is recorded once per content, not again on every run."""
    return bool(
        con.execute(
            "select count(*) from raw_meta.load_ledger where file = ? and status = 'rejected' "
            "and coalesce(checksum, '') = coalesce(?, '') and size_bytes = ?",
            [r.file, r.checksum, r.size_bytes],
        ).fetchone()[0]
    )


def unknown_folders(landing_dir: Path) -> list[str]:
    """Folders of the landing directory that are not a table of the contract."""
    if not Path(landing_dir).is_dir():
        return []
    return sorted(
        p.name
        for p in Path(landing_dir).iterdir()
        if p.is_dir()
        and not p.name.startswith(".")
        and p.name not in (*TABLE_NAMES, WIDE_SURVEY_FOLDER)
    )


def reject_unknown_folders(
    con: duckdb.DuckDBPyConnection, landing_dir: Path, run_id: str
) -> list[FileResult]:
    """Record every file of a folder that names no table as rejected (once per content)."""
    create_raw_tables(con)
    results = []
    for folder in unknown_folders(Path(landing_dir)):
        for path in sorted((Path(landing_dir) / folder).iterdir()):
            if not path.is_file() or is_partial(path.name):
                continue
            now = dt.datetime.now()
            result = FileResult(
                table_name=folder,
                file=f"{folder}/{path.name}",
                drop_name=None,
                checksum=sha256_of(path),
                size_bytes=path.stat().st_size,
                status="rejected",
                error=f"{folder}/{path.name}: unknown table folder {folder!r}; the landing "
                f"contract knows: {', '.join((*TABLE_NAMES, WIDE_SURVEY_FOLDER))}",
                started_at=now,
                finished_at=now,
            )
            if not _already_rejected(con, result):
                _write_ledger(con, run_id, result)
            results.append(result)
    return results


def iter_check(
    landing_dir: Path, run_date: dt.date, max_reasons: int = 20
) -> Iterator[tuple[FileResult, list[str]]]:
    """Dry run over a landing directory: each file with the quarantine messages it would get.

    Files are validated in dependency order into a scratch in-memory database, as if the
    warehouse were empty, so that references between the dropped tables are checked too.
    """
    con = duckdb.connect()
    try:
        create_raw_tables(con)
        for tbl in load_order():
            drops, rejected = discover(Path(landing_dir), tbl.name)
            for r in rejected:
                yield r, []
            for drop in drops:
                result = load_file(con, drop, "dry-run", run_date)
                reasons = [
                    row[0]
                    for row in con.execute(
                        f"select message from raw_quarantine.{tbl.name} where _file = ? "
                        "order by _line limit ?",
                        [drop.relative, max_reasons],
                    ).fetchall()
                ]
                yield result, reasons
    finally:
        con.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orchestration.ingest")
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="validate a landing directory, writing nothing")
    check.add_argument("landing_dir", type=Path)
    check.add_argument("--run-date", type=dt.date.fromisoformat, default=dt.date.today())
    check.add_argument("--json", action="store_true", help="one JSON object per file")
    args = parser.parse_args(argv)
    if not args.landing_dir.is_dir():
        print(f"{args.landing_dir}: no such directory", file=sys.stderr)
        return 2
    problems = 0
    for folder in unknown_folders(args.landing_dir):
        problems += 1
        print(f"REJECT  {folder}/: unknown table folder; known: {', '.join(TABLE_NAMES)}")
    for r, reasons in iter_check(args.landing_dir, args.run_date):
        if args.json:
            print(json.dumps(asdict(r) | {"quarantine_messages": reasons}, default=str))
            continue
        if r.status == "rejected":
            problems += 1
            print(f"REJECT  {r.error}")
        else:
            problems += bool(r.rows_quarantined)
            print(
                f"{'OK' if not r.rows_quarantined else 'PARTIAL':7} {r.file}: {r.rows_in} rows, "
                f"{r.rows_accepted} would load, {r.rows_quarantined} would be quarantined"
            )
            for reason in reasons:
                print(f"        quarantine: {reason}")
    return 1 if problems else 0


if __name__ == "__main__":
    start = time.perf_counter()
    code = main()
    print(f"checked in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    sys.exit(code)
