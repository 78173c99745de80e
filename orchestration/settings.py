"""Paths and secrets, from environment variables with safe project-local defaults.

Stdlib only: the Makefile runs `python3 -m orchestration.settings salt` before the virtual
environment exists.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import secrets
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SALT_ENV = "WH_PII_SALT"


def landing_dir() -> Path:
    """Where CRM and survey exports are dropped (`WH_LANDING_DIR`, default `landing/`)."""
    return Path(os.environ.get("WH_LANDING_DIR", ROOT / "landing")).resolve()


def duckdb_path() -> Path:
    """The warehouse file (`WH_DUCKDB_PATH`, default `warehouse/warehouse.duckdb`)."""
    return Path(os.environ.get("WH_DUCKDB_PATH", ROOT / "warehouse" / "warehouse.duckdb")).resolve()


def duckdb_config() -> dict[str, str]:
    """DuckDB settings for the Dagster process's own connections (ingestion, the Python
    assets), the same variables and defaults as the dbt profile's: `WH_DUCKDB_MEMORY_LIMIT`
    (8GB), `WH_DUCKDB_THREADS` (2), `WH_DUCKDB_TEMP_DIR` (spill folder,
    `$TMPDIR/loyalty-duckdb`)."""
    temp = os.environ.get("TMPDIR", "/tmp") + "/loyalty-duckdb"
    return {
        "memory_limit": os.environ.get("WH_DUCKDB_MEMORY_LIMIT", "8GB"),
        "threads": os.environ.get("WH_DUCKDB_THREADS", "2"),
        "temp_directory": os.environ.get("WH_DUCKDB_TEMP_DIR", temp),
    }


def dbt_target() -> str:
    """The dbt target, and so the warehouse engine (`WH_DBT_TARGET`: `dev` = DuckDB, the
    default; `pg` = PostgreSQL, the whole Dagster pipeline included; `spark` = the dbt models
    only, docs/engines.md)."""
    return os.environ.get("WH_DBT_TARGET", "dev")


class AsOfError(ValueError):
    """A reporting date that no step could honour; raised before anything runs."""


def _extra_dbt_vars() -> dict:
    """`WH_DBT_VARS` as a dict; a malformed value is a clear error, not an ignored setting."""
    raw = os.environ.get("WH_DBT_VARS", "").strip()
    try:
        values = json.loads(raw) if raw else {}
    except json.JSONDecodeError as exc:
        raise ValueError(f"WH_DBT_VARS is not a JSON object: {exc}: {raw!r}") from exc
    if not isinstance(values, dict):
        raise ValueError(f"WH_DBT_VARS must be a JSON object, got {raw!r}")
    return values


def calendar_range() -> tuple[dt.date, dt.date]:
    """The dbt calendar (`calendar_start_date`, `calendar_end_date`): the vars of
    dbt_project.yml, overridden by `WH_DBT_VARS`. The spine and `dim_dates` stop there."""
    text = (ROOT / "dbt_project.yml").read_text(encoding="utf-8")
    found = dict(re.findall(r'^\s*(calendar_(?:start|end)_date):\s*"?([0-9-]+)"?', text, re.M))
    found.update({k: v for k, v in _extra_dbt_vars().items() if k in found})
    return (
        dt.date.fromisoformat(str(found["calendar_start_date"])),
        dt.date.fromisoformat(str(found["calendar_end_date"])),
    )


def validate_as_of(text: str, today: dt.date | None = None) -> dt.date:
    """The reporting date `text` as a date, or AsOfError saying what is wrong with it.

    It must be a real date written YYYY-MM-DD, inside the dbt calendar (an as_of after its
    end would silently stop every spine at the calendar's last day), and not in the future:
    the marts would count days that have not happened. `WH_AS_OF_ALLOW_FUTURE=1` allows a
    future date (e.g. to rehearse a month end)."""
    try:
        day = dt.datetime.strptime(text.strip(), "%Y-%m-%d").date()
    except ValueError:
        raise AsOfError(
            f"WH_AS_OF={text!r} is not a date: write it YYYY-MM-DD, e.g. 2026-06-30"
        ) from None
    start, end = calendar_range()
    if not start <= day <= end:
        raise AsOfError(
            f"WH_AS_OF={text} is outside the dbt calendar {start} .. {end}: choose a date "
            "inside it or widen calendar_start_date / calendar_end_date (WH_DBT_VARS)"
        )
    today = today or dt.date.today()
    if day > today and os.environ.get("WH_AS_OF_ALLOW_FUTURE", "").strip() not in ("1", "true"):
        raise AsOfError(
            f"WH_AS_OF={text} is in the future (today is {today}); set "
            "WH_AS_OF_ALLOW_FUTURE=1 if that is meant"
        )
    return day


def as_of() -> str | None:
    """The reporting date (`WH_AS_OF`, YYYY-MM-DD), validated; unset means today."""
    text = (os.environ.get("WH_AS_OF") or "").strip()
    return validate_as_of(text).isoformat() if text else None


def dbt_vars() -> dict:
    """dbt vars for every run: `WH_DBT_VARS` (a JSON object) plus `as_of` from `WH_AS_OF`;
    an as_of from either is validated (`validate_as_of`)."""
    values = _extra_dbt_vars()
    if as_of():
        values["as_of"] = as_of()
    elif values.get("as_of"):
        values["as_of"] = validate_as_of(str(values["as_of"])).isoformat()
    return values


def dbt_var(name: str) -> object:
    """A dbt var as every dbt run sees it: `WH_DBT_VARS` (and `WH_AS_OF`) over the default in
    `dbt_project.yml`. The one place Python reads a dbt var, so a setting the SQL and the
    Python assets share (the activity window) cannot disagree between them."""
    values = dbt_vars()
    if name in values:
        return values[name]
    import yaml  # the venv's (dbt's dependency); not needed by `salt` before the venv exists

    defaults = yaml.safe_load((ROOT / "dbt_project.yml").read_text()).get("vars") or {}
    if name not in defaults:
        raise KeyError(f"dbt var {name!r} is neither in WH_DBT_VARS nor in dbt_project.yml")
    return defaults[name]


def activity_window_days() -> int:
    """Days an invoice keeps a customer active (dbt var `activity_window_days`, default 365 in
    `dbt_project.yml`): the customer-month spine, the churn model's population and labels,
    and CLV's live customers all follow it."""
    value = dbt_var("activity_window_days")
    try:
        days = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"activity_window_days must be a whole number of days, got {value!r}"
        ) from exc
    if days < 1 or days != float(value):  # type: ignore[arg-type]
        raise ValueError(f"activity_window_days must be a whole number of days >= 1, got {value!r}")
    return days


# How often each model is fitted again (orchestration/fitcache.py): its environment variable
# and default. Between refits the assets score every day from the cached fit.
REFIT_CADENCES = {
    "churn": ("WH_CHURN_REFIT", "monthly"),
    "clv": ("WH_CLV_REFIT", "weekly"),
    "indices": ("WH_INDEX_REFIT", "monthly"),
}


def refit_cadence(model: str) -> str:
    """`daily`, `weekly` or `monthly`: how often `model` (churn, clv, indices) is refitted
    (`WH_CHURN_REFIT` monthly, `WH_CLV_REFIT` weekly, `WH_INDEX_REFIT` monthly)."""
    name, default = REFIT_CADENCES[model]
    value = (os.environ.get(name) or default).strip().lower()
    if value not in ("daily", "weekly", "monthly"):
        raise ValueError(f"{name}={value!r}: use daily, weekly or monthly")
    return value


def salt_file() -> Path:
    """Where the generated salt lives: outside the repository, in the user's config folder."""
    config = Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config"))
    return Path(os.environ.get("WH_PII_SALT_FILE", config / "loyalty-warehouse" / "pii_salt"))


def pii_salt() -> str:
    """The salt of personal-data hashes: `WH_PII_SALT`, else a generated one kept in
    `salt_file()` (created on first use, readable by its owner only).

    The salt never enters the repository, so hashes cannot be reversed by hashing a phone
    book with a salt read from the code.
    """
    if os.environ.get(SALT_ENV):
        return os.environ[SALT_ENV]
    path = salt_file()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return path.read_text().strip()


def export_environment() -> None:
    """Set the variables that the dbt subprocess reads (profiles.yml, dbt_project.yml).

    Runs when the Dagster definitions load (orchestration/project.py), so an invalid
    `WH_AS_OF` stops `make dev` and every job there, before any step, with its reason."""
    as_of()
    os.environ.setdefault("WH_DUCKDB_PATH", str(duckdb_path()))
    os.environ.setdefault("WH_LANDING_DIR", str(landing_dir()))
    os.environ[SALT_ENV] = pii_salt()
    os.environ.setdefault("DBT_PROFILES_DIR", str(ROOT))
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")


if __name__ == "__main__":
    if sys.argv[1:] == ["salt"]:
        print(pii_salt())
    else:
        sys.exit("usage: python -m orchestration.settings salt")
