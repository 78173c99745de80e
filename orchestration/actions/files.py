"""One small HTML page and one CSV file per account manager and week.

`<folder>/<week>/<manager_id>.html` and `.csv`. Every value is escaped in the HTML, and a CSV
cell that a spreadsheet would take for a formula (it starts with = + - @, a tab or a carriage
return) and is not a plain number gets a leading apostrophe, the rule docs/bi.md gives for
every published text (`-12.5` stays a number, `-A12` becomes `'-A12`). Customers
appear by id and firm name only: no person's name, phone or e-mail is in the input.
"""

from __future__ import annotations

import csv
import html
import io
import re
from pathlib import Path

import pandas as pd

from ..pii import neutralise_formula

# The columns a manager sees, in order, with their headings.
FILE_COLUMNS = {
    "priority_rank": "Priority",
    "action_type": "Action",
    "customer_id": "Customer id",
    "customer_name": "Customer",
    "value_cny": "Value (CNY)",
    "reason": "Reason",
    "due_on": "Due",
    "subject_id": "Contract / complaint",
    "action_id": "Action id",
}
ACTION_LABELS = {
    "value_at_risk": "Value at risk: call to keep",
    "renewal_due": "Renewal due",
    "detractor_callback": "Detractor: call back",
    "complaint_overdue": "Complaint open past target",
    "no_contact": "Not contacted",
}
SAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]")


def csv_safe(value: object) -> str:
    """The cell text of a value, with a leading apostrophe when a spreadsheet would take it
    for a formula (it starts with = + - @, tab or carriage return and is not a plain number):
    the publish's rule, docs/bi.md."""
    text = "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)
    return neutralise_formula(text)


def file_stem(manager_id: str) -> str:
    """A manager id as a file name: anything but letters, digits, `_ . -` becomes `_`."""
    stem = SAFE_NAME.sub("_", manager_id).lstrip(".")
    return stem or "_"


def _cells(actions: pd.DataFrame) -> list[list[str]]:
    rows = []
    for row in actions[list(FILE_COLUMNS)].itertuples(index=False):
        record = row._asdict()
        record["value_cny"] = f"{record['value_cny']:.2f}"
        record["due_on"] = pd.Timestamp(record["due_on"]).date().isoformat()
        rows.append([record[c] for c in FILE_COLUMNS])
    return rows


def render_csv(actions: pd.DataFrame) -> str:
    """The manager's list as CSV (UTF-8 with a byte-order mark, which Excel needs)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(FILE_COLUMNS.values())
    writer.writerows([[csv_safe(v) for v in row] for row in _cells(actions)])
    return "\ufeff" + buffer.getvalue()


def render_html(actions: pd.DataFrame, manager_id: str, week: str, as_of: str) -> str:
    """The manager's list as a self-contained HTML page, one table per action type."""
    esc = html.escape
    sections = []
    for kind, label in ACTION_LABELS.items():
        part = actions[actions["action_type"] == kind]
        if part.empty:
            continue
        head = "".join(f"<th>{esc(h)}</th>" for c, h in FILE_COLUMNS.items() if c != "action_type")
        body = "".join(
            "<tr>"
            + "".join(
                f"<td>{esc(str(v))}</td>"
                for c, v in zip(FILE_COLUMNS, row, strict=True)
                if c != "action_type"
            )
            + "</tr>"
            for row in _cells(part)
        )
        sections.append(
            f"<h2>{esc(label)} ({len(part)})</h2>\n<table><tr>{head}</tr>{body}</table>"
        )
    title = f"Actions for {manager_id}, week {week}"
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{esc(title)}</title><style>"
        "body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse;margin:0 0 1.5em}"
        "td,th{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}"
        "</style></head><body>\n"
        f"<h1>{esc(title)}</h1>\n<p>As of {esc(as_of)}: {len(actions)} actions, the most "
        "valuable first within each kind (priority 1 = the largest value of the list).</p>\n"
        + ("\n".join(sections) or "<p>No action this week.</p>")
        + "\n</body></html>\n"
    )


def write_manager_files(actions: pd.DataFrame, folder: Path) -> dict[str, list[Path]]:
    """Write `<folder>/<week>/<manager>.html` and `.csv` for every manager in `actions`;
    returns {manager_id: [html path, csv path]}. The week's folder is rewritten whole, so a
    rerun leaves no file of a manager who no longer has an action."""
    written: dict[str, list[Path]] = {}
    if actions.empty:
        return written
    for week, of_week in actions.groupby("week"):
        target = folder / str(week)
        target.mkdir(parents=True, exist_ok=True)
        for old in target.glob("*"):
            if old.suffix in (".html", ".csv"):
                old.unlink()
        as_of = pd.Timestamp(of_week["as_of_on"].iloc[0]).date().isoformat()
        for manager_id, part in of_week.groupby("manager_id"):
            stem = target / file_stem(str(manager_id))
            page, table = stem.with_suffix(".html"), stem.with_suffix(".csv")
            page.write_text(render_html(part, str(manager_id), str(week), as_of), "utf-8")
            table.write_text(render_csv(part), "utf-8")
            written[str(manager_id)] = [page, table]
    return written
