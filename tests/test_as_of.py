"""`as_of_date()` (macros/as_of.sql): one reporting day for a whole dbt invocation.

Without the `as_of` var the macro once rendered the database's `current_date`, which every
query reads anew: a full refresh whose dbt build started at 23:59:41 wrote a trailing-year row
ending on the old day, and a data test run at 00:00:01 looked for the new one, so the job
failed. The macro now renders the day dbt's `run_started_at` falls on in the local time zone
of the machine that runs dbt, as a literal: every model and test of the build sees the same
day. Two zones 25 hours apart always lie on different days, so they show the local zone is
the one used (not UTC); with the var, the var wins.
"""

from __future__ import annotations

import datetime as dt
import re

INLINE = "select {{ as_of_date() }} as as_of"
# POSIX TZ strings (no zone database needed; the sign is west of UTC): Kiritimati's
# UTC+14 and Pago Pago's UTC-11, whose calendar days never coincide.
ZONES = {
    "KIR-14": dt.timezone(dt.timedelta(hours=14)),
    "SST11": dt.timezone(dt.timedelta(hours=-11)),
}


def _compiled_as_of(dbt_compiled, tmp_path, extra: tuple[str, ...] = ()) -> str:
    return dbt_compiled(INLINE, tmp_path / "as_of.duckdb", tmp_path, extra)


def _literal_day(compiled: str) -> dt.date:
    found = re.fullmatch(r"select cast\('(\d{4}-\d{2}-\d{2})' as date\) as as_of", compiled.strip())
    assert found, f"as_of_date() did not render a date literal: {compiled!r}"
    return dt.date.fromisoformat(found.group(1))


def test_without_the_var_as_of_is_the_local_day_dbt_started(dbt_compiled, tmp_path, monkeypatch):
    days = {}
    for zone, offset in ZONES.items():
        monkeypatch.setenv("TZ", zone)
        before = dt.datetime.now(offset).date()
        day = _literal_day(_compiled_as_of(dbt_compiled, tmp_path))
        after = dt.datetime.now(offset).date()
        assert before <= day <= after, (zone, day)
        days[zone] = day
    assert days["KIR-14"] > days["SST11"]


def test_the_var_wins(dbt_compiled, tmp_path):
    compiled = _compiled_as_of(dbt_compiled, tmp_path, ("--vars", '{"as_of": "2026-06-30"}'))
    assert _literal_day(compiled) == dt.date(2026, 6, 30)


def test_an_empty_var_is_today(dbt_compiled, tmp_path):
    before = dt.date.today()
    day = _literal_day(_compiled_as_of(dbt_compiled, tmp_path, ("--vars", '{"as_of": ""}')))
    assert before <= day <= dt.date.today()
