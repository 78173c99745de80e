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
import contextlib
import csv
import datetime as dt
import hashlib
import json
import math
import os
import re
import shutil
import stat
import sys
import tempfile
import time
import uuid
from array import array
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import openpyxl
import pandas as pd

from .contract import TABLE_NAMES, Column, Table, load_order, table
from .pii import pseudonymise
from .raw_schema import CHANGE_COLUMNS, LEDGER_COLUMNS, create_raw_tables
from .settings import Settings

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
# A message quotes at most this many characters of an offending line, control characters
# escaped, so that a ledger line never carries a whole file or a terminal escape sequence.
SHOWN_MAX_CHARS = 120
# Longest CSV field read (characters); DuckDB's own limit on a line is 2 MiB.
CSV_FIELD_MAX_CHARS = 1 << 21
# Separators an export may use instead of the comma the contract requires.
OTHER_SEPARATORS = ((";", "semicolon"), ("\t", "tab"), ("|", "pipe"))
# Control characters a text value may not hold (RE2 class): NUL, U+0001-U+001F except tab,
# line feed and carriage return (legitimate in a multi-line cell), and DEL. Such a row is
# quarantined (rule `control_character`) rather than stripped: raw keeps only what the
# source said, and the row's original text stays in raw_record.
CONTROL_CHARACTERS = "[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f]"
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
    rows_in: int = 0  # rows_accepted + rows_quarantined + rows_blank
    rows_accepted: int = 0
    rows_quarantined: int = 0
    error: str | None = None
    extra_columns: list[str] = field(default_factory=list)
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    rows_blank: int = 0  # rows whose every cell is empty: skipped, not loaded
    duplicate_of: str | None = None  # skipped-duplicate: the file whose load holds the content


@dataclass
class FileText:
    """What reading a file into `_file_text` found besides its rows."""

    header: list[str]
    rows_blank: int = 0
    unterminated_line: int | None = None  # a CSV's last row when no line end follows it


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def is_partial(name: str) -> bool:
    lower = name.lower()
    return name.startswith((".", "~$")) or lower.endswith(PARTIAL_MARKERS)


def unsafe_entry(path: Path, root: Path) -> str | None:
    """Why an entry of the landing folder must not be read, or None for a plain file or folder
    inside it.

    Judged with lstat, before anything opens the entry: a symbolic link is never followed
    (it could point at any file the run may read, and its first line would end up in a
    message), a FIFO is never opened (the read would block), a device or socket never read.
    """
    mode = os.lstat(path).st_mode
    if stat.S_ISLNK(mode):
        return "is a symbolic link; links are never followed, so it was not read"
    if stat.S_ISFIFO(mode):
        return "is a FIFO (named pipe), not a regular file; it was not read"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "is a device, not a regular file; it was not read"
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        return "is not a regular file; it was not read"
    if not path.resolve().is_relative_to(root):
        return "resolves outside the landing folder; it was not read"
    return None


def _unsafe(table_name: str, relative: str, path: Path, why: str) -> FileResult:
    return FileResult(
        table_name=table_name,
        file=relative,
        drop_name=None,
        checksum=None,
        size_bytes=os.lstat(path).st_size,
        status="rejected",
        error=f"{relative}: {why}",
    )


def discover(landing_dir: Path, table_name: str) -> tuple[list[DropFile], list[FileResult]]:
    """Drop files of one table in load order, and the entries rejected for their name or kind.

    survey_responses and survey_answers also take their rows from wide survey exports in
    the `survey_wide/` folder (one row per respondent, one column per question). Only
    regular files inside the landing folder are read (`unsafe_entry`); a link, FIFO or
    device in it, or a table folder that is a link, is rejected with a ledger line.
    """
    root = Path(landing_dir).resolve()
    folders = [table_name]
    if table_name in WIDE_SURVEY_TABLES:
        folders.append(WIDE_SURVEY_FOLDER)
    drops: list[DropFile] = []
    rejected: list[FileResult] = []
    for folder_name in folders:
        folder = landing_dir / folder_name
        # A problem of the shared wide-survey folder is reported once, by survey_responses.
        reports = folder_name == table_name or table_name == WIDE_SURVEY_TABLES[0]
        if not os.path.lexists(folder):
            continue
        why = unsafe_entry(folder, root)
        if why is not None:
            if reports:
                rejected.append(_unsafe(table_name, folder_name + "/", folder, "the folder " + why))
            continue
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if is_partial(path.name):
                continue
            relative = f"{folder_name}/{path.name}"
            why = unsafe_entry(path, root)
            if why is not None:
                if reports:
                    rejected.append(_unsafe(table_name, relative, path, why))
                continue
            if not path.is_file():
                continue  # a sub-folder: nothing of it is read
            if DROP_NAME.match(path.name) is None:
                if reports:
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


def _checks(
    tbl: Table, run_date: dt.date, unterminated_line: int | None = None
) -> list[tuple[str, str, str]]:
    """(rule, SQL condition that flags a failing row, SQL message) over the staged row `t`,
    with its rank among the file's rows of its key (`_key_rank`, `_key_first`) and the first
    other file that loaded its key (`_loaded_from`)."""
    checks: list[tuple[str, str, str]] = []
    latest = run_date + dt.timedelta(days=1)
    if unterminated_line is not None:
        # The file stops after this row with no line end: an export cut short there would
        # read as a shorter last value (10447.1 for 10447.14), so the row is not trusted.
        checks.append(
            (
                "unterminated_last_row",
                f"t._line = {int(unterminated_line)}",
                _lit(
                    "the file ends inside this row, with no line end after it: the export may "
                    "have been cut short here, so its last value may be incomplete; re-export "
                    "the file"
                ),
            )
        )
    for col in tbl.columns:
        text = f"t.{_q('_txt_' + col.name)}"
        typed = f"t.{_q(col.name)}"
        name = col.name
        checks.append(
            (
                "control_character",
                f"t._has_control and regexp_matches({text}, {_lit(CONTROL_CHARACTERS)})",
                _lit(
                    f"{name} holds a control character (NUL or another of U+0001-U+001F or "
                    "U+007F, tab and line breaks excepted)"
                ),
            )
        )
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
    checks.append(
        (
            "duplicate_key_across_drops",
            # the first file that holds the key in raw.<table> (_validate_and_insert)
            "t._loaded_from is not null",
            f"'key ({', '.join(tbl.key)}) = ' || {key_text} || ' was already loaded from '"
            " || t._loaded_from",
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
        for sep, name in OTHER_SEPARATORS:
            if sep in header[0]:
                raise FileRejectedError(
                    f"the header has one column {shown(header[0])}: the file looks "
                    f"{name}-separated, the contract requires commas"
                )
    return header


def shown(text: str, limit: int = SHOWN_MAX_CHARS) -> str:
    """A piece of a file as a message may quote it: in quotes, control characters escaped
    (`\\x00`, `\\t`), cut after `limit` characters with an ellipsis."""
    return "'" + _escaped(text[:limit]) + ("…" if len(text) > limit else "") + "'"


def _escaped(text: str) -> str:
    return "".join(
        c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text
    )


def _names(header: list[str]) -> str:
    """Column names of a file as a message lists them (escaped, the list shortened)."""
    return _escaped(", ".join(header))[: SHOWN_MAX_CHARS * 4]


@dataclass
class CsvScan:
    """The physical layout of a CSV file's rows, found by reading it once with Python's csv."""

    lines: array  # physical line on which each row DuckDB will read starts (blank lines skip)
    empty_lines: int  # lines with nothing on them, which DuckDB skips: blank rows
    unterminated_line: int | None  # the last row when no line end follows it


def _physical_line(path: Path, number: int) -> str:
    """Line `number` (1-based) of a UTF-8 file, without its line end."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        for current, line in enumerate(fh, start=1):
            if current == number:
                return line.rstrip("\r\n")
    return ""


def _ends_with_line_end(path: Path) -> bool:
    with path.open("rb") as fh:
        fh.seek(0, os.SEEK_END)
        if fh.tell() == 0:
            return True
        fh.seek(-1, os.SEEK_END)
        return fh.read(1) in (b"\n", b"\r")


def _shape_problem(path: Path, start: int, found: int, width: int, truncated: bool) -> str:
    """The message for a row with another number of fields than the header: a wrong
    separator, a truncated file or a ragged row, each named as such."""
    line = _physical_line(path, start)
    if truncated and found < width:
        return (
            f"the file looks truncated: it ends without a line end inside its last row, "
            f"line {start}, which has {found} of the header's {width} fields: {shown(line)}"
        )
    for sep, name in OTHER_SEPARATORS:
        if found < width and line.count(sep) >= max(width - 1, 1):
            return (
                f"wrong separator: line {start} has {found} field(s) where the header has "
                f"{width} columns, and {line.count(sep)} {name}s: the rows look "
                f"{name}-separated while the header and the contract use commas: {shown(line)}"
            )
    hint = "; a value holding a comma must be in double quotes" if found > width else ""
    return (
        f"ragged row: line {start} has {found} field(s) where the header has {width} "
        f"columns{hint}: {shown(line)}"
    )


def _scan_csv(path: Path, width: int) -> CsvScan:
    """Walk a UTF-8 CSV file once, record the physical line where each row starts, and
    reject it with a message that names the problem when a row does not fit the header.

    DuckDB's reader numbers rows, not lines: after a blank line or a quoted cell spanning
    lines its count falls behind the file. These line numbers are what `_line` holds.
    """
    csv.field_size_limit(max(csv.field_size_limit(), CSV_FIELD_MAX_CHARS))
    terminated = _ends_with_line_end(path)
    lines = array("q")
    empty = 0
    start = last_start = 1
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh, strict=True)
        try:
            next(reader, None)  # the header, read by _csv_header
            end = reader.line_num
            for record in reader:
                start, end = end + 1, reader.line_num
                last_start = start
                if not record:
                    empty += 1
                    continue
                if len(record) != width:
                    try:
                        is_last = next(reader, None) is None
                    except csv.Error:
                        is_last = False
                    truncated = is_last and not terminated
                    raise FileRejectedError(
                        _shape_problem(path, start, len(record), width, truncated)
                    )
                lines.append(start)
        except csv.Error as exc:
            start = end + 1
            line = _physical_line(path, start)
            if "unexpected end of data" in str(exc):
                raise FileRejectedError(
                    f"the file looks truncated: it ends inside a quoted value of the row "
                    f"starting on line {start}: {shown(line)}"
                ) from None
            raise FileRejectedError(
                f"malformed row: line {start} breaks CSV quoting ({exc}): {shown(line)}"
            ) from None
    unterminated = last_start if lines and not terminated and lines[-1] == last_start else None
    return CsvScan(lines, empty, unterminated)


def _normalised_csv(path: Path, scratch: Path) -> Path:
    """The file rewritten in the plainest CSV, the same rows and values: DuckDB refuses some
    files Python's csv reads, such as one whose rows end in both CRLF and LF (edited on two
    systems)."""
    target = scratch / "normalised.csv"
    with (
        path.open(encoding="utf-8-sig", newline="") as src,
        target.open("w", encoding="utf-8", newline="") as dst,
    ):
        csv.writer(dst, lineterminator="\r\n").writerows(csv.reader(src, strict=True))
    return target


def _parse_failure(exc: Exception) -> str:
    """A DuckDB read error as a message: its first line, the column counts and the offending
    line it names (shortened, control characters escaped), not its advice to us."""
    parts = [str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__]
    for raw in str(exc).splitlines()[1:]:
        line = raw.strip()
        if line.startswith("Expected Number of Columns"):
            parts.append(line)
        elif line.startswith("Original Line:"):
            parts.append("line " + shown(line.removeprefix("Original Line:").strip()))
    return "could not be parsed (" + "; ".join(parts) + ")"


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
            found.append(f"sheet {shown(sheet.title)}: {_names(header) or 'no columns'}")
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


def _read_text(con: duckdb.DuckDBPyConnection, drop: DropFile, required: list[str]) -> FileText:
    """Read a file into the temp table `_file_text`: every column as trimmed text (blank as
    NULL) plus `_line`, the physical line where the row starts (Excel row; Parquet row number).
    Rows whose every cell is empty are left out and counted. Rejects the file when it cannot
    be read whole or lacks a required column."""
    scan: CsvScan | None = None
    with tempfile.TemporaryDirectory(prefix="wh-ingest-") as scratch:
        registered: list[str] = []
        line_expr = "cast(row_number() over () + {offset} as bigint)"
        if drop.fmt == "csv":
            readable, _ = _decoded_csv(drop.path, Path(scratch))
            header = _csv_header(readable)
            columns = "{" + ", ".join(f"{_lit(h)}: 'varchar'" for h in header) + "}"
            line_offset = 0
        elif drop.fmt == "xlsx":
            frame, header, _ = _read_excel(drop.path, required)
            con.register("_excel_frame", frame)
            registered.append("_excel_frame")
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
            raise FileRejectedError(f"the header repeats column(s): {_names(dupes)}")
        missing = [c for c in required if c not in header]
        if missing:
            raise FileRejectedError(
                f"missing required column(s) {', '.join(missing)}; expected "
                f"{', '.join(required)}; found {_names(header) or 'no columns'}"
            )
        if drop.fmt == "csv":
            scan = _scan_csv(readable, len(header))
            lines = np.frombuffer(scan.lines, np.int64)  # a view of the scan's array
            con.register("_csv_lines", pd.DataFrame({"_wh_line": lines}, copy=False))
            registered.append("_csv_lines")
            # Rows pair with their lines by position; _wh_read tells a row DuckDB read from
            # padding, should the two readers ever disagree on the number of rows.

            def relation_of(path: Path) -> str:
                return (
                    f"(select *, true as _wh_read from read_csv({_lit(str(path))}, "
                    "header = false, skip = 1, delim = ',', quote = '\"', escape = '\"', "
                    f"auto_detect = false, columns = {columns}, strict_mode = true, "
                    "null_padding = false)) positional join _csv_lines"
                )

            relation = relation_of(readable)
            line_expr = "_wh_line"
        named = [h for h in header if h]
        selects = ", ".join(f"nullif(trim(cast({_q(h)} as varchar)), '') as {_q(h)}" for h in named)

        def create(relation: str) -> str:
            return (
                f"create or replace temp table _file_text as select {selects}, "
                f"{line_expr.format(offset=line_offset - 1)} as _line"
                + (", _wh_read" if scan else "")
                + f" from {relation}"
            )

        try:
            try:
                con.execute(create(relation))
            except duckdb.Error:
                if scan is None:
                    raise
                # Python's csv read the file whole (the scan), DuckDB did not: hand it the
                # same rows rewritten plainly. (Staging runs outside the load's transaction,
                # so the failed statement leaves nothing to roll back.)
                con.execute(create(relation_of(_normalised_csv(readable, Path(scratch)))))
        except duckdb.Error as exc:
            raise FileRejectedError(_parse_failure(exc)) from None
        finally:
            for name in registered:
                # after a failed read the transaction is aborted; the rollback drops them
                with contextlib.suppress(duckdb.Error):
                    con.unregister(name)
    if scan is not None:
        read, paired = con.execute(
            "select count(_wh_read), count(_line) from _file_text"
        ).fetchone()
        if read != len(scan.lines) or paired != len(scan.lines):
            raise FileRejectedError(
                f"could not be parsed: DuckDB read {read} rows where the line scan found "
                f"{len(scan.lines)}"
            )
        con.execute("alter table _file_text drop column _wh_read")
    blank = " and ".join(f"{_q(h)} is null" for h in named) or "true"
    [blank_rows] = con.execute(f"select count(*) from _file_text where {blank}").fetchone()
    if blank_rows:
        con.execute(f"delete from _file_text where {blank}")
    return FileText(
        header=named,
        rows_blank=int(blank_rows) + (scan.empty_lines if scan else 0),
        unterminated_line=scan.unterminated_line if scan else None,
    )


def _json_of(columns: list[str]) -> str:
    if not columns:
        return "cast(null as varchar)"
    return "to_json(struct_pack(" + ", ".join(f"{_q(c)} := {_q(c)}" for c in columns) + "))"


def _stage(
    con: duckdb.DuckDBPyConnection, drop: DropFile, tbl: Table
) -> tuple[list[str], FileText]:
    """Put the file's rows for `tbl` into the temp view `_raw_text` (the contract's columns
    as text, `_extra`, `_line`, and `_part`, which with `_line` names a row) over the temp
    table `_file_text`. Returns the columns the
    contract does not know and what the read found (blank rows, an unterminated last row)."""
    if drop.is_wide_survey:
        return _stage_wide_survey(con, drop, tbl)
    required = tbl.required_columns
    # Report the whole expected header in the message, not only the required part.
    try:
        read = _read_text(con, drop, required)
    except FileRejectedError as exc:
        raise FileRejectedError(
            str(exc).replace(
                f"expected {', '.join(required)};", f"expected {', '.join(tbl.column_names)};"
            )
        ) from None
    header = read.header
    extras = [h for h in header if h not in tbl.column_names]
    selects = [
        _q(c.name) if c.name in header else f"cast(null as varchar) as {_q(c.name)}"
        for c in tbl.columns
    ]
    con.execute(
        "create or replace temp view _raw_text as "
        f"select {', '.join(selects)}, {_json_of(extras)} as _extra, _line, 0 as _part "
        "from _file_text"
    )
    return extras, read


def _stage_wide_survey(
    con: duckdb.DuckDBPyConnection, drop: DropFile, tbl: Table
) -> tuple[list[str], FileText]:
    """A wide survey export as rows of survey_responses or of survey_answers.

    A question column is named by its question_id or by its exact question_text in
    `raw.survey_questions`; a skipped question (empty cell) becomes an answer with no value,
    never 0. Columns that name no question are kept in the response's `_extra`.
    """
    responses = table("survey_responses")
    read = _read_text(con, drop, responses.required_columns)
    header = read.header
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
        sql = (
            f"select {', '.join(selects)}, {_json_of(extras)} as _extra, _line, 0 as _part "
            "from _file_text"
        )
    elif not questions:
        raise FileRejectedError(
            "no column names a question of raw.survey_questions by question_id or exact "
            f"question_text; found {_names(header)}"
        )
    else:
        # One row per answered column; `_part` (the column's place) tells apart the rows
        # of one line.
        sql = " union all ".join(
            f"select response_id, {_lit(question_of[q])} as question_id, {_q(q)} as value, "
            f"cast(null as varchar) as _extra, _line, {part} as _part from _file_text"
            for part, q in enumerate(questions, start=1)
        )
    con.execute(f"create or replace temp view _raw_text as {sql}")
    return extras, read


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _validate_and_insert(
    con: duckdb.DuckDBPyConnection,
    drop: DropFile,
    tbl: Table,
    run_id: str,
    run_date: dt.date,
    loaded_at: dt.datetime,
    unterminated_line: int | None = None,
) -> tuple[int, int, int]:
    """Type and check `_raw_text`; insert accepted and quarantined rows; drop the load's temp
    tables and views. (in, ok, quarantined), blank rows not counted (they never reach
    `_raw_text`)."""
    typed_cols = ", ".join(
        f"{_typed_expr(c, 't.' + _q(c.name))} as {_q(c.name)}, t.{_q(c.name)} as "
        f"{_q('_txt_' + c.name)}"
        for c in tbl.columns
    )
    keys = ", ".join(_q(k) for k in tbl.key)
    # Only the file's text (`_file_text`) and its quarantined rows (`_verdict`) are stored:
    # `_staged`, each value typed beside its text, is a view read once to check the rows and
    # once to insert the accepted ones, so that a file of 18 M rows is held (or spilled) once.
    con.execute(
        "create or replace temp view _staged as "
        f"select {typed_cols}, t._line, t._part, t._extra, {_lit(drop.relative)} as _file, "
        # one test of the whole row first: the per-column tests run only where it holds
        f"regexp_matches(concat_ws('', {', '.join('t.' + _q(c.name) for c in tbl.columns)}), "
        f"{_lit(CONTROL_CHARACTERS)}) as _has_control "
        "from _raw_text t"
    )
    # The rows whose key the file holds more than once, ranked in the order of the file:
    # the window runs over these few rows, not over the whole file.
    same_key = " and ".join(f"d.{_q(k)} is not distinct from s.{_q(k)}" for k in tbl.key)
    staged_keys = ", ".join(f"s.{_q(k)}" for k in tbl.key)
    con.execute(
        "create or replace temp table _repeats as "
        f"select _line, _part, row_number() over (partition by {staged_keys} "
        "order by _line, _part) as _key_rank, "
        f"min(_line) over (partition by {staged_keys}) as _key_first "
        f"from _staged s inner join (select {keys} from _staged group by {keys} "
        f"having count(*) > 1) as d on {same_key}"
    )
    # The keys of the file that another file already loaded, with the first such file: a
    # join on the keys (no subquery per row, which would keep the whole file aside).
    same_loaded = " and ".join(f"r.{_q(k)} = s.{_q(k)}" for k in tbl.key)
    raw_keys = ", ".join(f"r.{_q(k)}" for k in tbl.key)
    con.execute(
        "create or replace temp table _known as "
        f"select {raw_keys}, min(r._file) as _loaded_from "
        f"from raw.{tbl.name} r inner join (select distinct {keys} from _staged) as s "
        f"on {same_loaded} where r._file <> {_lit(drop.relative)} group by {raw_keys}"
    )
    known = " and ".join(f"k.{_q(k)} = s.{_q(k)}" for k in tbl.key)
    checks = _checks(tbl, run_date, unterminated_line)
    rules = ", ".join(f"case when {cond} then {_lit(rule)} end" for rule, cond, _ in checks)
    messages = ", ".join(f"case when {cond} then {msg} end" for _, cond, msg in checks)
    raw_record = (
        "to_json(struct_pack("
        + ", ".join(f"{_q(c.name)} := {_q('_txt_' + c.name)}" for c in tbl.columns)
        + "))"
    )
    con.execute(
        "create or replace temp table _verdict as "
        f"select _line, _part, _rules, _messages, {raw_record} as _raw_record from ("
        f"select t._line, t._part, {', '.join('t.' + _q('_txt_' + c.name) for c in tbl.columns)}, "
        f"concat_ws(',', {rules}) as _rules, concat_ws('; ', {messages}) as _messages from ("
        "select s.*, coalesce(r._key_rank, 1) as _key_rank, r._key_first, k._loaded_from "
        "from _staged s left join _repeats r on r._line = s._line and r._part = s._part "
        f"left join _known k on {known}"
        ") as t) as checked where _rules <> ''"
    )
    cols = ", ".join(_q(c.name) for c in tbl.columns)
    con.execute(
        f"insert into raw.{tbl.name} ({cols}, _file, _line, _extra, _loaded_at, _run_id) "
        f"select {cols}, _file, _line, _extra, ?, ? from _staged s where not exists "
        "(select 1 from _verdict v where v._line = s._line and v._part = s._part) "
        "order by _line",
        [loaded_at, run_id],
    )
    con.execute(
        f"insert into raw_quarantine.{tbl.name} "
        "(_file, _line, raw_record, rule, message, _loaded_at, _run_id) "
        f"select {_lit(drop.relative)}, _line, _raw_record, _rules, "
        f"{_lit(drop.relative)} || ' line ' || _line || ': ' || _messages, ?, ? "
        "from _verdict order by _line",
        [loaded_at, run_id],
    )
    rows_in, quarantined = con.execute(
        "select (select count(*) from _raw_text), (select count(*) from _verdict)"
    ).fetchone()
    drop_staging(con)
    return int(rows_in), int(rows_in) - int(quarantined), int(quarantined)


def drop_staging(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the temp tables and views a load leaves (`_file_text` and what reads it)."""
    for kind, name in (
        ("table", "_verdict"),
        ("table", "_repeats"),
        ("table", "_known"),
        ("view", "_staged"),
        ("view", "_raw_text"),
        ("table", "_file_text"),
    ):
        con.execute(f"drop {kind} if exists {name}")


def _prior(
    con: duckdb.DuckDBPyConnection, drop: DropFile, checksum: str
) -> tuple[str | None, str | None]:
    """What an earlier load means for this file, judged on the content now in effect only.

    - ('unchanged', file): the file's own latest decision (loaded, replaced or skipped as
      a duplicate) was about this content; nothing to do.
    - ('duplicate', file): this content is what another file's load holds in effect now
      (the latest load of its drop); the file is skipped and recorded as such.
    - ('replace', None): the drop was loaded with other content; this file replaces it, also
      when its content was loaded once and superseded since (A, then B, then A again).
    - (None, None): a new drop.
    """
    latest = (
        "select file, checksum, drop_name, row_number() over (partition by {by} "
        "order by started_at desc, finished_at desc) as recency from raw_meta.load_ledger "
        "where table_name = ? and status in ({statuses})"
    )
    own = con.execute(
        "select checksum from ("
        + latest.format(by="file", statuses="'loaded', 'replaced', 'skipped-duplicate'")
        + ") where recency = 1 and file = ?",
        [drop.table, drop.relative],
    ).fetchall()  # fetched whole: a pending result would block con.register later
    if own and own[0][0] == checksum:
        return "unchanged", None
    holder = con.execute(
        "select min(file) from ("
        + latest.format(by="drop_name", statuses="'loaded', 'replaced'")
        + ") where recency = 1 and checksum = ?",
        [drop.table, checksum],
    ).fetchall()[0][0]
    if holder is not None:
        return "duplicate", holder
    same_drop = con.execute(
        "select count(*) from raw_meta.load_ledger where table_name = ? and drop_name = ? "
        "and status in ('loaded', 'replaced')",
        [drop.table, drop.drop_name],
    ).fetchall()[0][0]
    return ("replace", None) if same_drop else (None, None)


# Tables whose rows name no customer themselves but through another table's row: the
# change record gives the customer and date of that row (survey answers: their response).
CHANGE_VIA = {"survey_answers": ("survey_responses", "response_id")}


def _change_rows_sql(tbl: Table, rows: str) -> str:
    """(customer_id, touched_on) of `rows`, a query of rows of raw.<tbl>: one line per
    customer column of a row (a referral names two customers); a table without customers
    gives a null customer. The date is the row's first date or timestamp (the one the models
    date it by), null without one. A table in `CHANGE_VIA` takes both from its parent row."""
    source, parent = tbl, None
    if tbl.name in CHANGE_VIA:
        parent_name, key = CHANGE_VIA[tbl.name]
        source, parent = table(parent_name), (parent_name, key)
    customers = [
        c.name
        for c in source.columns
        if c.name == "customer_id" or c.references == "customers.customer_id"
    ]
    dated = next((c.name for c in source.columns if c.type in ("date", "timestamp")), None)
    alias = "p" if parent else "t"
    touched = f"cast({alias}.{_q(dated)} as date)" if dated else "cast(null as date)"
    join = (
        f" inner join raw.{_q(parent[0])} as p on p.{_q(parent[1])} = t.{_q(parent[1])}"
        if parent
        else ""
    )
    return " union all ".join(
        f"select {f'{alias}.{_q(c)}' if c else 'cast(null as varchar)'} as customer_id, "
        f"{touched} as touched_on from ({rows}) as t{join}"
        for c in customers or [None]
    )


def record_changes(
    con: duckdb.DuckDBPyConnection,
    tbl: Table,
    change_kind: str,
    rows: str,
    load_seq: int,
    run_id: str,
    file: str,
) -> None:
    """Add to raw_meta.load_changes, the change record, one line per customer of `rows` (a
    query of rows of raw.<tbl>): the rows a load added, or those a corrected drop removed.
    The incremental models rebuild these customers (from `earliest_on` on, for the spine)
    instead of comparing every row."""
    names = ", ".join(_q(name) for name, _ in CHANGE_COLUMNS)
    con.execute(
        f"insert into raw_meta.load_changes ({names}) "
        f"select ?, ?, ?, ?, ?, customer_id, min(touched_on), count(*), ? "
        f"from ({_change_rows_sql(tbl, rows)}) as changed group by customer_id",
        [load_seq, run_id, tbl.name, file, change_kind, dt.datetime.now()],
    )


def _record_load_changes(
    con: duckdb.DuckDBPyConnection,
    tbl: Table,
    file: str,
    replaced: bool,
    load_seq: int,
    run_id: str,
) -> None:
    """The change record of one load: every row of a new drop added; for a corrected drop,
    the rows it no longer holds removed and the rows it brings anew added (rows unchanged
    by the correction are in neither)."""
    loaded = f"select * from raw.{_q(tbl.name)} where _file = {_lit(file)}"
    if not replaced:
        record_changes(con, tbl, "added", loaded, load_seq, run_id, file)
        return
    columns = ", ".join(_q(c.name) for c in tbl.columns)
    new = f"select {columns} from ({loaded}) as loaded"
    old = f"select {columns} from _replaced"
    record_changes(con, tbl, "removed", f"{old} except all {new}", load_seq, run_id, file)
    record_changes(con, tbl, "added", f"{new} except all {old}", load_seq, run_id, file)
    con.execute("drop table _replaced")


def load_file(
    con: duckdb.DuckDBPyConnection,
    drop: DropFile,
    run_id: str,
    run_date: dt.date,
    dry_run: bool = False,
) -> FileResult:
    """Load one drop file in one transaction (or, with dry_run, roll everything back).

    A file skipped because another file already holds its content gets a ledger line
    (`skipped-duplicate`, `duplicate_of` naming that file) once; an unchanged file none.
    """
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
    prior, holder = _prior(con, drop, checksum)
    if prior in ("unchanged", "duplicate"):
        result.status = "skipped-duplicate"
        result.duplicate_of = holder
        result.finished_at = dt.datetime.now()
        if prior == "duplicate" and not dry_run and not _already_recorded(con, result):
            _write_ledger(con, run_id, result)
        return result
    try:
        # Reading into temp tables writes nothing lasting: it runs before the transaction.
        result.extra_columns, read = _stage(con, drop, tbl)
    except FileRejectedError as exc:
        return _rejected(result, exc)
    con.execute("begin transaction")
    try:
        load_seq = con.execute(
            "select coalesce(max(load_seq), 0) + 1 from raw_meta.load_changes"
        ).fetchone()[0]
        if prior == "replace":
            # A corrected file for a drop already loaded: its rows replace that drop's rows;
            # the rows replaced are kept aside to record what the correction changed.
            con.execute(
                f"create or replace temp table _replaced as select * from raw.{_q(tbl.name)} "
                "where _file in (select file from raw_meta.load_ledger where table_name = ? "
                "and drop_name = ?)",
                [drop.table, drop.drop_name],
            )
            for schema in ("raw", "raw_quarantine"):
                con.execute(
                    f"delete from {schema}.{tbl.name} where _file in "
                    "(select file from raw_meta.load_ledger where table_name = ? "
                    "and drop_name = ?)",
                    [drop.table, drop.drop_name],
                )
            result.status = "replaced"
        _, result.rows_accepted, result.rows_quarantined = _validate_and_insert(
            con, drop, tbl, run_id, run_date, started, read.unterminated_line
        )
        _record_load_changes(con, tbl, drop.relative, prior == "replace", load_seq, run_id)
        result.rows_blank = read.rows_blank
        result.rows_in = result.rows_accepted + result.rows_quarantined + result.rows_blank
        if result.rows_accepted + result.rows_quarantined == 0:
            blank = f" (only {result.rows_blank} blank rows)" if result.rows_blank else ""
            raise FileRejectedError(f"the file has a header but no data rows{blank}")
        result.finished_at = dt.datetime.now()
        if dry_run:
            con.execute("rollback")
            drop_staging(con)  # the rollback brought back what was staged before it
        else:
            _write_ledger(con, run_id, result)
            con.execute("commit")
    except FileRejectedError as exc:
        con.execute("rollback")
        drop_staging(con)
        return _rejected(result, exc)
    except Exception:
        con.execute("rollback")
        raise
    return result


def _rejected(result: FileResult, exc: FileRejectedError) -> FileResult:
    result.status = "rejected"
    result.error = f"{result.file}: {exc}"
    result.rows_in = result.rows_accepted = result.rows_quarantined = result.rows_blank = 0
    result.finished_at = dt.datetime.now()
    return result


def _write_ledger(con: duckdb.DuckDBPyConnection, run_id: str, r: FileResult) -> None:
    # Columns by name: a ledger migrated from an earlier release has its added columns last.
    names = ", ".join(_q(name) for name, _ in LEDGER_COLUMNS)
    con.execute(
        f"insert into raw_meta.load_ledger ({names}) "
        f"values ({', '.join('?' for _ in LEDGER_COLUMNS)})",
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
            r.rows_blank,
            r.duplicate_of,
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
        if not dry_run and not _already_recorded(con, r):
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
        if result.status == "rejected" and not dry_run and not _already_recorded(con, result):
            _write_ledger(con, run_id, result)
        results.append(result)
    if not dry_run:
        pseudonymise(con, table_name)  # personal data hashed in Python: orchestration/pii.py
    return results


def _already_recorded(con: duckdb.DuckDBPyConnection, r: FileResult) -> bool:
    """A rejected or skipped file is recorded once per content and decision, not again on
    every run: True when the file's latest ledger line says the same."""
    latest = con.execute(
        "select status, checksum, size_bytes from raw_meta.load_ledger "
        "where table_name = ? and file = ? order by started_at desc, finished_at desc limit 1",
        [r.table_name, r.file],
    ).fetchone()
    return latest == (r.status, r.checksum, r.size_bytes)


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
    root = Path(landing_dir).resolve()
    results = []
    for folder in unknown_folders(Path(landing_dir)):
        folder_path = Path(landing_dir) / folder
        why = unsafe_entry(folder_path, root)
        if why is not None:  # a linked folder is not listed, let alone read
            entries = [(folder_path, f"{folder}/", "the folder " + why)]
        else:
            entries = [
                (path, f"{folder}/{path.name}", unsafe_entry(path, root))
                for path in sorted(folder_path.iterdir())
                if not is_partial(path.name)
            ]
        for path, relative, why in entries:
            if why is None and not path.is_file():
                continue
            now = dt.datetime.now()
            result = FileResult(
                table_name=folder,
                file=relative,
                drop_name=None,
                checksum=sha256_of(path) if why is None else None,
                size_bytes=os.lstat(path).st_size,
                status="rejected",
                error=f"{relative}: {why}"
                if why
                else f"{relative}: unknown table folder {folder!r}; the landing "
                f"contract knows: {', '.join((*TABLE_NAMES, WIDE_SURVEY_FOLDER))}",
                started_at=now,
                finished_at=now,
            )
            if not _already_recorded(con, result):
                _write_ledger(con, run_id, result)
            results.append(result)
    return results


def iter_check(
    landing_dir: Path,
    run_date: dt.date,
    max_reasons: int = 20,
    duckdb_config: dict[str, str] | None = None,
) -> Iterator[tuple[FileResult, list[str]]]:
    """Dry run over a landing directory: each file with the quarantine messages it would get.

    Files are validated in dependency order into a scratch in-memory database, as if the
    warehouse were empty, so that references between the dropped tables are checked too.
    """
    con = duckdb.connect(config=duckdb_config or {})
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
    config = Settings.from_env().duckdb_config()
    for r, reasons in iter_check(args.landing_dir, args.run_date, duckdb_config=config):
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
                + (f", {r.rows_blank} blank skipped" if r.rows_blank else "")
            )
            for reason in reasons:
                print(f"        quarantine: {reason}")
    return 1 if problems else 0


if __name__ == "__main__":
    start = time.perf_counter()
    code = main()
    print(f"checked in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    sys.exit(code)
