"""Every setting of the warehouse in one object, read from the `WH_*` environment variables
once and passed on.

`Settings.from_env()` reads and checks them all (a bad value is an error naming its
variable, raised before any step runs); the Dagster definitions resolve it once
(`orchestration/definitions.py`) and hand it to every asset as the `settings` resource, the
dbt build gets its `--vars` from `Settings.dbt_vars_arg()`, and the command-line tools call
`Settings.from_env()` at their entry point. No other module reads a `WH_*` variable
(tests/test_settings.py). The table of the variables in the README is `settings_table()`.

Stdlib only: the Makefile runs `python3 -m orchestration.settings salt` before the virtual
environment exists (so dbt_project.yml's vars are read by `dbt_project_vars`, not PyYAML).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import re
import secrets
import sys
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SALT_ENV = "WH_PII_SALT"
CADENCES = ("daily", "weekly", "monthly")
# The weightings of orchestration.indices.weights (WEIGHTINGS; tests/test_settings.py).
INDEX_WEIGHTINGS = ("expert", "entropy", "critic", "ahp")
REPORT_LANGUAGES = ("zh", "en")
# The units of customer_clv_inputs (dbt var clv_time_unit).
CLV_TIME_UNITS = ("days", "weeks", "months")
# The dbt targets of profiles.yml; the Dagster jobs run on dev and pg (assets/dbt.py).
DBT_TARGETS = ("dev", "pg", "spark", "published")


class SettingsError(ValueError):
    """A `WH_*` variable with a value no step could honour; raised before anything runs."""


class AsOfError(SettingsError):
    """A reporting date that no step could honour; raised before anything runs."""


# --- parsers: text of a variable -> value, or SettingsError naming the variable -------------


def _fail(name: str, text: str, why: str) -> SettingsError:
    return SettingsError(f"{name}={text!r}: {why}")


def _text(name: str, text: str) -> str:
    return text


def _path(name: str, text: str) -> Path:
    return Path(text).expanduser().resolve()


def _flag(name: str, text: str) -> bool:
    value = text.strip().lower()
    if value in ("1", "true", "yes"):
        return True
    if value in ("0", "false", "no"):
        return False
    raise _fail(name, text, "write 1 (on) or 0 (off)")


def _integer(minimum: int) -> Callable[[str, str], int]:
    def parse(name: str, text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise _fail(name, text, "not a whole number") from None
        if value < minimum:
            raise _fail(name, text, f"must be at least {minimum}")
        return value

    return parse


def _number(low: float, high: float | None = None) -> Callable[[str, str], float]:
    def parse(name: str, text: str) -> float:
        try:
            value = float(text.strip())
        except ValueError:
            raise _fail(name, text, "not a number") from None
        if not (value >= low and (high is None or value <= high)):
            bounds = f"between {low:g} and {high:g}" if high is not None else f">= {low:g}"
            raise _fail(name, text, f"must be {bounds}")
        return value

    return parse


_MEMORY = re.compile(r"(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|tb|kib|mib|gib|tib)", re.I)
_MEMORY_UNITS = {
    "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
    "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40,
}  # fmt: skip


def memory_bytes(text: str) -> int:
    """A DuckDB memory size (`8GB`, `1.5GiB`, `512MB`) in bytes (ValueError otherwise)."""
    match = _MEMORY.fullmatch(text.strip())
    if not match:
        raise ValueError(f"not a memory size: {text!r}")
    return int(float(match.group(1)) * _MEMORY_UNITS[match.group(2).lower()])


def _memory(name: str, text: str) -> str:
    try:
        size = memory_bytes(text)
    except ValueError:
        raise _fail(name, text, "write a size with its unit, e.g. 4GB or 512MB") from None
    if size < 64 * 2**20:
        raise _fail(name, text, "DuckDB needs at least 64MB")
    return text.strip()


def _choice(options: tuple[str, ...]) -> Callable[[str, str], str]:
    def parse(name: str, text: str) -> str:
        value = text.strip().lower()
        if value not in options:
            raise _fail(name, text, f"use one of {', '.join(options)}")
        return value

    return parse


def _languages(name: str, text: str) -> tuple[str, ...]:
    languages = tuple(part.strip() for part in text.split(",") if part.strip())
    if not languages or set(languages) - set(REPORT_LANGUAGES):
        raise _fail(name, text, "must list zh and/or en, comma-separated")
    return languages


def _cron(name: str, text: str) -> str:
    if len(text.split()) != 5:
        raise _fail(name, text, "a cron expression has five fields, e.g. '0 6 * * *'")
    return text.strip()


def _timezone(name: str, text: str) -> str:
    try:
        zoneinfo.ZoneInfo(text.strip())
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise _fail(name, text, "not an IANA time zone, e.g. Asia/Shanghai") from None
    return text.strip()


def _json_object(name: str, text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _fail(name, text, f"not a JSON object: {exc}") from None
    if not isinstance(value, dict):
        raise _fail(name, text, "must be a JSON object")
    return value


def _setting(
    env: str,
    default: Any,
    doc: str,
    parse: Callable[[str, str], Any] = _text,
    shown: str | None = None,
    secret: bool = False,
) -> Any:
    """A field read from `env` by `parse`; `doc` and `shown` (the default as the README shows
    it, when `default` is not what a reader should see) make its line of `settings_table()`."""
    metadata = {"env": env, "doc": doc, "parse": parse, "shown": shown}
    if isinstance(default, dict):
        return field(default_factory=lambda: dict(default), metadata=metadata, repr=not secret)
    return field(default=default, metadata=metadata, repr=not secret)


def dbt_project_vars(project_dir: Path = ROOT) -> dict[str, Any]:
    """The `vars:` of dbt_project.yml (flat `name: value` lines), read without PyYAML: quoted
    values are text, numbers are numbers, the rest text (tests/test_settings.py checks the
    result against PyYAML's)."""
    text = (project_dir / "dbt_project.yml").read_text(encoding="utf-8")
    block = re.search(r"^vars:\n((?:[ \t]+.*\n|\s*\n)*)", text, re.M)
    values: dict[str, Any] = {}
    for line in (block.group(1) if block else "").splitlines():
        match = re.match(r"^\s+([A-Za-z_][A-Za-z0-9_]*):\s*(.*?)\s*$", line)
        if not match or line.lstrip().startswith("#"):
            continue
        name, raw = match.groups()
        raw = re.sub(r"\s+#.*$", "", raw)
        if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "\"'":
            values[name] = raw[1:-1]
        elif re.fullmatch(r"-?\d+", raw):
            values[name] = int(raw)
        elif re.fullmatch(r"-?\d+\.\d*", raw):
            values[name] = float(raw)
        else:
            values[name] = raw
    return values


@dataclass(frozen=True)
class Settings:
    """The warehouse's settings: each field is read from the variable in its metadata
    (`env`), documented there (`doc`); `Settings()` holds the defaults."""

    # --- paths ----------------------------------------------------------------------------
    landing_dir: Path = _setting(
        "WH_LANDING_DIR", ROOT / "landing", "where drop files are read", _path, "`landing/`"
    )
    duckdb_path: Path = _setting(
        "WH_DUCKDB_PATH",
        ROOT / "warehouse" / "warehouse.duckdb",
        "the warehouse file",
        _path,
        "`warehouse/warehouse.duckdb`",
    )
    publish_dir: Path | None = _setting(
        "WH_PUBLISH_DIR",
        None,
        "the published BI copy (docs/bi.md)",
        _path,
        "`published/` beside the warehouse file",
    )
    report_dir: Path | None = _setting(
        "WH_REPORT_DIR", None, "report folder", _path, "`reports/` beside the warehouse file"
    )
    actions_dir: Path | None = _setting(
        "WH_ACTIONS_DIR",
        None,
        "folder of the weekly action lists (docs/actions.md)",
        _path,
        "`actions/` beside the warehouse file",
    )
    pii_salt_file: Path | None = _setting(
        "WH_PII_SALT_FILE",
        None,
        "where a generated salt is kept when `WH_PII_SALT` is unset",
        _path,
        "`~/.config/loyalty-warehouse/pii_salt`",
    )
    pii_salt: str | None = _setting(
        SALT_ENV,
        None,
        "key of the personal-data hashes (HMAC-SHA256), read only by the ingestion; keep it "
        "secret and stable, or hashes change",
        shown="generated once into `WH_PII_SALT_FILE`",
        secret=True,
    )
    # --- DuckDB (the dbt profile reads the same variables) ---------------------------------
    duckdb_memory_limit: str = _setting(
        "WH_DUCKDB_MEMORY_LIMIT",
        "5GB",
        "DuckDB memory limit of the dbt build (the dbt subprocess's profile); the memory "
        "budget: [docs/benchmarks.md](docs/benchmarks.md#memory-budget). The whole run at "
        "1,000,000 customers goes through at the default `5GB`, the process tree at 5.9 GiB "
        "([run L](docs/benchmarks.md#run-l-1000000-customers-at-dbts-default-5gb-issues-18-"
        "and-19))",
        _memory,
    )
    dagster_duckdb_memory_limit: str = _setting(
        "WH_DAGSTER_DUCKDB_MEMORY_LIMIT",
        "1GB",
        "DuckDB memory limit of the Dagster process's own connections (ingestion, Python "
        "assets, publish, report); DuckDB spills to `WH_DUCKDB_TEMP_DIR` above it",
        _memory,
    )
    duckdb_threads: int = _setting(
        "WH_DUCKDB_THREADS", 2, "DuckDB threads (dbt profile and Dagster process)", _integer(1)
    )
    duckdb_temp_dir: Path | None = _setting(
        "WH_DUCKDB_TEMP_DIR", None, "DuckDB spill folder", _path, "`$TMPDIR/loyalty-duckdb`"
    )
    # --- dbt ------------------------------------------------------------------------------
    dbt_target: str = _setting(
        "WH_DBT_TARGET",
        "dev",
        "the warehouse: `dev` DuckDB, `pg` PostgreSQL (the whole pipeline, with the `WH_PG_*` "
        "settings), `spark` dbt only ([docs/engines.md](docs/engines.md)), `published` the BI "
        "copy (MetricFlow)",
        _choice(DBT_TARGETS),
    )
    as_of: dt.date | None = _setting(
        "WH_AS_OF",
        None,
        "the reporting date of every mart and Python asset: YYYY-MM-DD, inside the dbt "
        "calendar (`calendar_start_date` .. `calendar_end_date`), not in the future; checked "
        "before any step. The Python assets read back the date dbt built with "
        "(`customer_facts.as_of_on`)",
        shown="today",
    )
    as_of_allow_future: bool = _setting(
        "WH_AS_OF_ALLOW_FUTURE", False, "`1` accepts a `WH_AS_OF` after today", _flag, "unset"
    )
    dbt_vars: Mapping[str, Any] = _setting(
        "WH_DBT_VARS",
        {},
        "other dbt vars, as a JSON object, over the `vars:` of dbt_project.yml (the field holds "
        "the merged vars, `as_of` included)",
        _json_object,
        "none",
    )
    dbt_full_refresh: bool = _setting(
        "WH_DBT_FULL_REFRESH",
        False,
        "`1` rebuilds the incremental models from scratch in any job",
        _flag,
        "unset",
    )
    dbt_unit_tests: bool = _setting(
        "WH_DBT_UNIT_TESTS",
        False,
        "`1` runs dbt's unit tests in the jobs too (`make test` runs them anyway)",
        _flag,
        "unset",
    )
    # --- PostgreSQL (the `pg` target of profiles.yml) -------------------------------------
    pg_host: str = _setting("WH_PG_HOST", "127.0.0.1", "PostgreSQL host")
    pg_port: int = _setting("WH_PG_PORT", 5432, "PostgreSQL port", _integer(1))
    pg_user: str = _setting("WH_PG_USER", "wh", "PostgreSQL user")
    pg_password: str = _setting("WH_PG_PASSWORD", "wh", "PostgreSQL password", secret=True)
    pg_db: str = _setting("WH_PG_DB", "wh", "PostgreSQL database")
    # --- ingestion ------------------------------------------------------------------------
    quarantine_max_rate: float = _setting(
        "WH_QUARANTINE_MAX_RATE",
        0.05,
        "quarantined share of a table above which the marts are held back",
        _number(0.0, 1.0),
    )
    freshness_max_age_days: int = _setting(
        "WH_FRESHNESS_MAX_AGE_DAYS",
        7,
        "age of the newest drop above which a table is reported stale",
        _integer(0),
    )
    # --- automation -----------------------------------------------------------------------
    schedule_cron: str = _setting(
        "WH_SCHEDULE_CRON", "0 6 * * *", "when the daily `incremental_refresh` runs", _cron
    )
    schedule_timezone: str = _setting(
        "WH_SCHEDULE_TIMEZONE", "Asia/Shanghai", "time zone of the schedules", _timezone
    )
    actions_cron: str = _setting(
        "WH_ACTIONS_CRON", "0 7 * * 1", "when the `weekly_actions` job runs", _cron
    )
    sensor_interval_seconds: int = _setting(
        "WH_SENSOR_INTERVAL_SECONDS",
        60,
        "how often the landing sensor looks for new drop files",
        _integer(1),
    )
    mart_freshness_hours: float = _setting(
        "WH_MART_FRESHNESS_HOURS",
        26.0,
        "age of the published copy, the report and the marts above which a freshness check warns",
        _number(0.0),
        "`26`",
    )
    # --- CLV ------------------------------------------------------------------------------
    clv_horizon_months: int = _setting(
        "WH_CLV_HORIZON_MONTHS", 60, "CLV horizon (both parts), months", _integer(1)
    )
    clv_discount_rate: float = _setting(
        "WH_CLV_DISCOUNT_RATE", 0.10, "CLV annual discount rate", _number(0.0, 1.0)
    )
    clv_margin_rate: float = _setting(
        "WH_CLV_MARGIN_RATE",
        1.0,
        "gross margin of a product line missing from `seeds/product_line_margins.csv` (named "
        "in the CLV notes)",
        _number(0.0, 1.0),
    )
    clv_max_zero_rate: float = _setting(
        "WH_CLV_MAX_ZERO_RATE",
        0.05,
        "share of live customers valued at 0 above which the CLV is not published",
        _number(0.0, 1.0),
    )
    clv_equity_multiple_min: float = _setting(
        "WH_CLV_EQUITY_MULTIPLE_MIN",
        0.1,
        "lower end of the band of customer equity on margin / trailing-12-month revenue "
        "outside which it is not published",
        _number(0.0),
    )
    clv_equity_multiple_max: float = _setting(
        "WH_CLV_EQUITY_MULTIPLE_MAX", 10.0, "upper end of that band", _number(0.0), "`10`"
    )
    clv_refit_cadence: str = _setting(
        "WH_CLV_REFIT",
        "weekly",
        "how often the CLV parameters are refitted (daily, weekly, monthly)",
        _choice(CADENCES),
    )
    # --- churn ----------------------------------------------------------------------------
    churn_max_training_rows: int = _setting(
        "WH_CHURN_MAX_TRAINING_ROWS",
        60_000,
        "customer-cutoff rows the churn models learn from, drawn by whole customers above it "
        "(`0`: every row)",
        _integer(0),
        "`60000`",
    )
    churn_refit_cadence: str = _setting(
        "WH_CHURN_REFIT",
        "monthly",
        "how often the churn model and its backtest are refitted (daily, weekly, monthly)",
        _choice(CADENCES),
    )
    # --- indices --------------------------------------------------------------------------
    index_weighting: str = _setting(
        "WH_INDEX_WEIGHTING",
        "expert",
        "weights of the indices: expert, entropy, critic or ahp",
        _choice(INDEX_WEIGHTINGS),
    )
    index_refit_cadence: str = _setting(
        "WH_INDEX_REFIT",
        "monthly",
        "how often the index references are refitted (daily, weekly, monthly)",
        _choice(CADENCES),
    )
    refit_all: bool = _setting(
        "WH_FULL_REFRESH",
        False,
        "`1` refits churn, CLV and the index references in any job (the `full_refresh` job "
        "always does)",
        _flag,
        "unset",
    )
    # --- publish and report ---------------------------------------------------------------
    publish_keep: int = _setting("WH_PUBLISH_KEEP", 2, "published releases kept", _integer(1))
    publish_storage_version: str = _setting(
        "WH_PUBLISH_STORAGE_VERSION",
        "v1.0.0",
        "DuckDB storage version of the published `bi.duckdb` (the oldest reader it serves)",
    )
    report_languages: tuple[str, ...] = _setting(
        "WH_REPORT_LANGUAGES", ("zh", "en"), "report languages", _languages, "`zh,en`"
    )
    # --- weekly actions (docs/actions.md) -------------------------------------------------
    actions_renewal_days: int = _setting(
        "WH_ACTIONS_RENEWAL_DAYS", 90, "contracts ending within this many days", _integer(0)
    )
    actions_detractor_days: int = _setting(
        "WH_ACTIONS_DETRACTOR_DAYS", 90, "detractor answers this recent", _integer(0)
    )
    actions_complaint_target_days: int = _setting(
        "WH_ACTIONS_COMPLAINT_TARGET_DAYS",
        14,
        "age of an open complaint that makes it overdue",
        _integer(0),
    )
    actions_no_contact_days: int = _setting(
        "WH_ACTIONS_NO_CONTACT_DAYS", 90, "days without contact that call for one", _integer(0)
    )
    actions_min_risk: float = _setting(
        "WH_ACTIONS_MIN_RISK", 0.5, "churn risk from which value at risk is listed", _number(0, 1)
    )
    actions_top_at_risk: int = _setting(
        "WH_ACTIONS_TOP_AT_RISK", 10, "value-at-risk customers per manager", _integer(0)
    )
    actions_due_days: int = _setting(
        "WH_ACTIONS_DUE_DAYS", 7, "days an action is due after as_of", _integer(0)
    )
    actions_recipients: Path | None = _setting(
        "WH_ACTIONS_RECIPIENTS",
        None,
        "`manager_id,email` CSV file of the e-mail addresses",
        _path,
        "none",
    )
    smtp_host: str | None = _setting(
        "WH_SMTP_HOST", None, "SMTP server of the action e-mails; unset: no e-mail", shown="unset"
    )
    smtp_port: int = _setting("WH_SMTP_PORT", 25, "port of the SMTP server", _integer(1))
    smtp_from: str | None = _setting(
        "WH_SMTP_FROM", None, "sender address (required with a host)", shown="none"
    )
    smtp_user: str | None = _setting("WH_SMTP_USER", None, "SMTP login (optional)", shown="none")
    smtp_password: str | None = _setting(
        "WH_SMTP_PASSWORD", None, "SMTP password", shown="none", secret=True
    )
    smtp_starttls: bool = _setting(
        "WH_SMTP_STARTTLS", False, "`1` upgrades the connection with STARTTLS", _flag, "`0`"
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, today: dt.date | None = None):
        """The settings of `environ` (default `os.environ`), every value checked: a bad one
        raises SettingsError (AsOfError for `WH_AS_OF`) naming its variable."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for item in dataclasses.fields(cls):
            name = item.metadata["env"]
            text = environ.get(name)
            if text is not None and text.strip():
                values[item.name] = item.metadata["parse"](name, text)
        if values.get("smtp_host") and not values.get("smtp_from"):
            raise SettingsError("WH_SMTP_HOST is set but WH_SMTP_FROM (the sender) is not")
        if "duckdb_temp_dir" not in values:
            values["duckdb_temp_dir"] = Path(environ.get("TMPDIR", "/tmp")) / "loyalty-duckdb"
        if "pii_salt_file" not in values:
            config = Path(environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
            values["pii_salt_file"] = config / "loyalty-warehouse" / "pii_salt"
        dbt_vars = {**dbt_project_vars(), **values.get("dbt_vars", {})}
        if dbt_vars.get("clv_time_unit") not in CLV_TIME_UNITS:
            raise SettingsError(
                f"WH_DBT_VARS: clv_time_unit must be one of {', '.join(CLV_TIME_UNITS)}, got "
                f"{dbt_vars.get('clv_time_unit')!r}"
            )
        as_of_text = (environ.get("WH_AS_OF") or "").strip() or str(dbt_vars.get("as_of") or "")
        allow_future = values.get("as_of_allow_future", False)
        calendar = calendar_range(dbt_vars)
        as_of = validate_as_of(as_of_text, today, calendar, allow_future) if as_of_text else None
        dbt_vars["as_of"] = as_of.isoformat() if as_of else ""
        values["as_of"] = as_of
        values["dbt_vars"] = MappingProxyType(dbt_vars)  # read-only, like the rest
        settings = cls(**values)
        settings.activity_window_days  # noqa: B018 (checked here, before anything runs)
        return settings

    # --- derived values -------------------------------------------------------------------
    @property
    def activity_window_days(self) -> int:
        """Days an invoice keeps a customer active (dbt var `activity_window_days`, 365 in
        dbt_project.yml): the customer-month spine, the churn model's population and labels,
        and CLV's live customers all follow it."""
        value = self.dbt_vars.get("activity_window_days")
        try:
            days = int(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            days = 0
        if days < 1 or days != float(value):  # type: ignore[arg-type]
            raise SettingsError(
                f"WH_DBT_VARS: activity_window_days must be a whole number of days >= 1, "
                f"got {value!r}"
            )
        return days

    def dbt_var(self, name: str) -> Any:
        """A dbt var as every dbt run sees it (WH_DBT_VARS over dbt_project.yml)."""
        if name not in self.dbt_vars:
            raise KeyError(f"dbt var {name!r} is neither in WH_DBT_VARS nor in dbt_project.yml")
        return self.dbt_vars[name]

    def dbt_vars_arg(self) -> list[str]:
        """`--vars` for a dbt command: the vars that differ from dbt_project.yml's (WH_DBT_VARS
        and WH_AS_OF); none when all are the defaults."""
        defaults = dbt_project_vars()
        changed = {k: v for k, v in self.dbt_vars.items() if defaults.get(k, None) != v}
        return ["--vars", json.dumps(changed)] if changed else []

    def duckdb_config(self) -> dict[str, str]:
        """DuckDB settings of the Dagster process's own connections: its own memory limit
        (`WH_DAGSTER_DUCKDB_MEMORY_LIMIT`), the threads and spill folder of the dbt profile."""
        return {
            "memory_limit": self.dagster_duckdb_memory_limit,
            "threads": str(self.duckdb_threads),
            "temp_directory": str(self.duckdb_temp_dir),
        }

    def salt(self) -> str:
        """The PII salt: `WH_PII_SALT`, else the one kept in `pii_salt_file` (created on
        first use, readable by its owner only). It never enters the repository, so hashes
        cannot be reversed by hashing a phone book with a salt read from the code."""
        if self.pii_salt:
            return self.pii_salt
        path = self.pii_salt_file
        if path is None:
            raise SettingsError("no WH_PII_SALT and no WH_PII_SALT_FILE: use Settings.from_env()")
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32))
        return path.read_text().strip()

    def published_dir(self, database: Path | str | None = None) -> Path:
        """`publish_dir`, else `published/` beside the warehouse file (`database`, default
        `duckdb_path`)."""
        if self.publish_dir is not None:
            return self.publish_dir
        return Path(database or self.duckdb_path).resolve().parent / "published"

    def dbt_environment(self) -> dict[str, str]:
        """The variables the dbt subprocess reads (profiles.yml), from these settings."""
        return {
            "WH_DBT_TARGET": self.dbt_target,
            "WH_DUCKDB_PATH": str(self.duckdb_path),
            "WH_LANDING_DIR": str(self.landing_dir),
            "WH_DUCKDB_MEMORY_LIMIT": self.duckdb_memory_limit,
            "WH_DUCKDB_THREADS": str(self.duckdb_threads),
            "WH_DUCKDB_TEMP_DIR": str(self.duckdb_temp_dir),
            "WH_PG_HOST": self.pg_host,
            "WH_PG_PORT": str(self.pg_port),
            "WH_PG_USER": self.pg_user,
            "WH_PG_PASSWORD": self.pg_password,
            "WH_PG_DB": self.pg_db,
        }


def calendar_range(dbt_vars: Mapping[str, Any] | None = None) -> tuple[dt.date, dt.date]:
    """The dbt calendar (`calendar_start_date`, `calendar_end_date` of `dbt_vars`, default
    dbt_project.yml's). The spine and `dim_dates` stop there."""
    values = dbt_project_vars() if dbt_vars is None else dbt_vars
    try:
        return (
            dt.date.fromisoformat(str(values["calendar_start_date"])),
            dt.date.fromisoformat(str(values["calendar_end_date"])),
        )
    except ValueError as exc:
        raise SettingsError(f"WH_DBT_VARS: the calendar dates must be YYYY-MM-DD: {exc}") from None


def validate_as_of(
    text: str,
    today: dt.date | None = None,
    calendar: tuple[dt.date, dt.date] | None = None,
    allow_future: bool = False,
) -> dt.date:
    """The reporting date `text` as a date, or AsOfError saying what is wrong with it.

    It must be a real date written YYYY-MM-DD, inside the dbt calendar (`calendar`, default
    dbt_project.yml's: an as_of after its end would silently stop every spine at the
    calendar's last day), and not in the future unless `allow_future`
    (`WH_AS_OF_ALLOW_FUTURE`, e.g. to rehearse a month end): the marts would count days that
    have not happened."""
    try:
        day = dt.datetime.strptime(text.strip(), "%Y-%m-%d").date()
    except ValueError:
        raise AsOfError(
            f"WH_AS_OF={text!r} is not a date: write it YYYY-MM-DD, e.g. 2026-06-30"
        ) from None
    start, end = calendar or calendar_range()
    if not start <= day <= end:
        raise AsOfError(
            f"WH_AS_OF={text} is outside the dbt calendar {start} .. {end}: choose a date "
            "inside it or widen calendar_start_date / calendar_end_date (WH_DBT_VARS)"
        )
    today = today or dt.date.today()
    if day > today and not allow_future:
        raise AsOfError(
            f"WH_AS_OF={text} is in the future (today is {today}); set "
            "WH_AS_OF_ALLOW_FUTURE=1 if that is meant"
        )
    return day


def pii_salt() -> str:
    """The salt of personal-data hashes (`Settings.salt`), for `make`'s `salt` and the
    ingestion's `pseudonymise`: only WH_PII_SALT and WH_PII_SALT_FILE are read, so a bad
    value of another setting cannot stop `make` before the venv exists."""
    keys = (SALT_ENV, "WH_PII_SALT_FILE")
    return Settings.from_env({k: os.environ[k] for k in keys if k in os.environ}).salt()


def export_environment(settings: Settings) -> None:
    """Set the variables the dbt subprocess reads (profiles.yml) from `settings`, so dbt and
    the Dagster process see one warehouse, target and DuckDB configuration."""
    os.environ.update(settings.dbt_environment())
    os.environ[SALT_ENV] = settings.salt()
    os.environ.setdefault("DBT_PROFILES_DIR", str(ROOT))
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")


def settings_table() -> str:
    """The README's table of the variables: one row per field of Settings."""
    rows = ["| Variable | Default | Meaning |", "|---|---|---|"]
    for item in dataclasses.fields(Settings):
        shown = item.metadata["shown"]
        if shown is None:
            default = item.default
            shown = f"`{default:g}`" if isinstance(default, float) else f"`{default}`"
        rows.append(f"| `{item.metadata['env']}` | {shown} | {item.metadata['doc']} |")
    return "\n".join(rows)


README_MARKERS = ("<!-- settings-table:start -->\n", "\n<!-- settings-table:end -->")


def write_readme_table(readme: Path = ROOT / "README.md") -> None:
    """Replace the table between the README's markers with `settings_table()`."""
    text = readme.read_text(encoding="utf-8")
    start, end = README_MARKERS
    head, rest = text.split(start, 1)
    readme.write_text(head + start + settings_table() + end + rest.split(end, 1)[1], "utf-8")


if __name__ == "__main__":
    if sys.argv[1:] == ["salt"]:
        print(pii_salt())
    elif sys.argv[1:] == ["table"]:
        write_readme_table()
    else:
        sys.exit("usage: python -m orchestration.settings salt|table (rewrites README.md's)")
