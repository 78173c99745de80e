"""The one settings object (orchestration/settings.py): every `WH_*` variable is a documented
field, read and checked once, and no other module reads one on its own."""

from __future__ import annotations

import ast
import dataclasses
import datetime as dt
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
import yaml

from orchestration.settings import (
    ROOT,
    AsOfError,
    Settings,
    SettingsError,
    dbt_project_vars,
    memory_bytes,
    settings_table,
)

FIELDS = dataclasses.fields(Settings)
ENV_NAMES = {f.metadata["env"] for f in FIELDS}
# Read by profiles.yml / dbt_project.yml only (dbt's own targets), or by the tests.
NOT_PYTHON_SETTINGS = {
    "WH_PUBLISHED_PATH",
    "WH_SPARK_DIR",
    "WH_SPARK_DRIVER_MEMORY",
    "WH_SPARK_FILE_FORMAT",
    "WH_SPARK_HOST",
    "WH_SPARK_PORT",
    "WH_SPARK_USER",
    "WH_DATABRICKS_HOST",
    "WH_DATABRICKS_TOKEN",
    "WH_DATABRICKS_CLUSTER",
    "WH_TEST_POSTGRES",
    "WH_TEST_POSTGRES_SCENARIOS",
    "WH_TEST_SPARK",
    "WH_UPDATE_SNAPSHOT",
    "WH_REQUIRE_BROWSER",
}


# ------------------------------------------------------------------ no module reads WH_* itself


def environment_reads(source: str) -> list[str]:
    """`WH_*` names a module reads from the environment: `os.environ[...]`, `.get(...)`,
    `.pop(...)`, `.setdefault(...)`, `os.getenv(...)`, with the name written out or held in
    a module-level constant."""
    tree = ast.parse(source)
    constants = {
        target.id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
        for target in node.targets
        if isinstance(target, ast.Name)
    }

    def name_of(node: ast.AST) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.Name):
            return constants.get(node.id)
        return None

    found = []
    for node in ast.walk(tree):
        key = None
        if isinstance(node, ast.Subscript):
            key = name_of(node.slice)
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called in ("get", "pop", "setdefault", "getenv"):
                key = name_of(node.args[0])
        if key and key.startswith("WH_"):
            found.append(key)
    return found


def test_the_detector_finds_every_way_of_reading_a_variable():
    source = """
import os
NAME = "WH_CONSTANT"
a = os.environ.get("WH_GET", "1")
b = os.environ["WH_SUBSCRIPT"]
c = os.getenv("WH_GETENV")
env = os.environ
d = env.get(NAME)
e = {"x": 1}.get("not_a_setting")
"""
    assert environment_reads(source) == ["WH_GET", "WH_SUBSCRIPT", "WH_GETENV", "WH_CONSTANT"]


def test_no_module_but_settings_reads_a_wh_variable():
    readers = {
        str(path.relative_to(ROOT)): names
        for path in sorted((ROOT / "orchestration").rglob("*.py"))
        if path.name != "settings.py" or path.parent.name != "orchestration"
        if (names := environment_reads(path.read_text(encoding="utf-8")))
    }
    assert readers == {}, f"read WH_* through orchestration.settings.Settings: {readers}"


def test_settings_reads_only_its_fields():
    source = (ROOT / "orchestration" / "settings.py").read_text(encoding="utf-8")
    assert set(environment_reads(source)) <= ENV_NAMES


# ------------------------------------------------------------------ every field documented


def test_every_field_has_a_variable_and_a_meaning():
    assert len(ENV_NAMES) == len(FIELDS)  # one variable per field
    for item in FIELDS:
        assert re.fullmatch(r"WH_[A-Z0-9_]+", item.metadata["env"]), item.name
        assert len(item.metadata["doc"]) > 10, item.name


def test_the_readme_table_is_the_generated_one():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(
        r"<!-- settings-table:start -->\n(.*?)\n<!-- settings-table:end -->", readme, re.S
    )
    assert block, "README.md lost its settings-table markers"
    assert block.group(1) == settings_table(), (
        "the README's settings table is stale: run `python3 -m orchestration.settings table`"
    )
    assert len(settings_table().splitlines()) == len(FIELDS) + 2


def test_every_wh_variable_named_anywhere_is_a_setting():
    """A variable in the code, the docs or the dbt profile is a field of Settings, or one
    dbt or the tests read on their own (NOT_PYTHON_SETTINGS): no documented variable that
    nothing reads, no read variable left out of the table."""
    files = [
        ROOT / "README.md",
        ROOT / "Makefile",
        ROOT / "profiles.yml",
        ROOT / "dbt_project.yml",
        *(ROOT / "docs").glob("*.md"),
        *(ROOT / "orchestration").rglob("*.py"),
    ]
    named = {
        name
        for path in files
        for name in re.findall(r"\bWH_[A-Z0-9_]*[A-Z0-9]\b", path.read_text(encoding="utf-8"))
    }
    assert named - ENV_NAMES - NOT_PYTHON_SETTINGS - {"WH_PG"} == set()


# ------------------------------------------------------------------ reading and checking


def test_defaults_and_the_libraries_they_configure_agree():
    from orchestration.actions.rules import ActionSettings
    from orchestration.churn.model import MAX_TRAINING_ROWS
    from orchestration.clv.warehouse import ClvSettings
    from orchestration.indices.aggregate import WEIGHTINGS
    from orchestration.publish import KEEP_RELEASES, STORAGE_VERSION
    from orchestration.settings import INDEX_WEIGHTINGS

    settings = Settings.from_env({})
    clv = ClvSettings()
    assert (
        settings.clv_horizon_months,
        settings.clv_discount_rate,
        settings.clv_margin_rate,
        settings.clv_max_zero_rate,
        settings.clv_equity_multiple_min,
        settings.clv_equity_multiple_max,
    ) == (
        clv.horizon_months,
        clv.annual_discount_rate,
        clv.margin_rate,
        clv.max_zero_clv_rate,
        clv.equity_revenue_multiple_min,
        clv.equity_revenue_multiple_max,
    )
    assert ActionSettings.from_settings(settings) == ActionSettings()
    assert settings.churn_max_training_rows == MAX_TRAINING_ROWS
    assert (settings.dbt_var("churn_window_days"), settings.dbt_var("churn_cutoffs")) == (180, 5)
    assert INDEX_WEIGHTINGS == WEIGHTINGS
    assert (settings.publish_keep, settings.publish_storage_version) == (
        KEEP_RELEASES,
        STORAGE_VERSION,
    )
    assert (
        settings.churn_refit_cadence,
        settings.clv_refit_cadence,
        settings.index_refit_cadence,
    ) == ("monthly", "weekly", "monthly")


def test_values_are_parsed():
    settings = Settings.from_env(
        {
            "WH_DUCKDB_THREADS": "4",
            "WH_CLV_DISCOUNT_RATE": "0.08",
            "WH_REPORT_LANGUAGES": "en",
            "WH_DBT_FULL_REFRESH": "yes",
            "WH_CHURN_REFIT": "Weekly",
            "WH_PUBLISH_DIR": "/tmp/somewhere/../published",
            "WH_DUCKDB_TEMP_DIR": "",  # empty = unset
            "TMPDIR": "/var/tmp",
        }
    )
    assert settings.duckdb_threads == 4
    assert settings.duckdb_config()["threads"] == "4"
    assert settings.clv_discount_rate == 0.08
    assert settings.report_languages == ("en",)
    assert settings.dbt_full_refresh is True
    assert settings.churn_refit_cadence == "weekly"
    assert settings.publish_dir == Path("/tmp/published")
    assert settings.published_dir("/elsewhere/wh.duckdb") == Path("/tmp/published")
    assert Settings.from_env({}).published_dir("/data/wh.duckdb") == Path("/data/published")
    assert settings.duckdb_temp_dir == Path("/var/tmp/loyalty-duckdb")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"WH_DUCKDB_THREADS": "two"}, "WH_DUCKDB_THREADS='two': not a whole number"),
        ({"WH_DUCKDB_THREADS": "0"}, "WH_DUCKDB_THREADS='0': must be at least 1"),
        ({"WH_CLV_DISCOUNT_RATE": "10%"}, "WH_CLV_DISCOUNT_RATE='10%': not a number"),
        ({"WH_QUARANTINE_MAX_RATE": "5"}, "WH_QUARANTINE_MAX_RATE='5': must be between 0 and 1"),
        ({"WH_DBT_TARGET": "snowflake"}, "WH_DBT_TARGET='snowflake': use one of dev, pg"),
        ({"WH_CLV_REFIT": "hourly"}, "WH_CLV_REFIT='hourly': use one of daily, weekly, monthly"),
        ({"WH_REPORT_LANGUAGES": "zh,fr"}, "WH_REPORT_LANGUAGES='zh,fr': must list zh and/or en"),
        ({"WH_SCHEDULE_CRON": "daily"}, "WH_SCHEDULE_CRON='daily': a cron expression"),
        ({"WH_SCHEDULE_TIMEZONE": "Mars/Olympus"}, "WH_SCHEDULE_TIMEZONE='Mars/Olympus'"),
        ({"WH_DBT_FULL_REFRESH": "maybe"}, "WH_DBT_FULL_REFRESH='maybe': write 1"),
        ({"WH_DBT_VARS": "[1]"}, "WH_DBT_VARS='[1]': must be a JSON object"),
        ({"WH_DBT_VARS": "{as_of: 1}"}, "WH_DBT_VARS='{as_of: 1}': not a JSON object"),
        ({"WH_DBT_VARS": '{"activity_window_days": 0}'}, "activity_window_days must be a whole"),
        ({"WH_SMTP_HOST": "mail"}, "WH_SMTP_HOST is set but WH_SMTP_FROM"),
        ({"WH_DBT_VARS": '{"clv_time_unit": "years"}'}, "clv_time_unit must be one of days"),
        ({"WH_DUCKDB_MEMORY_LIMIT": "8"}, "WH_DUCKDB_MEMORY_LIMIT='8': write a size with its"),
        ({"WH_DUCKDB_MEMORY_LIMIT": "lots"}, "WH_DUCKDB_MEMORY_LIMIT='lots': write a size"),
        ({"WH_DAGSTER_DUCKDB_MEMORY_LIMIT": "1 GBs"}, "WH_DAGSTER_DUCKDB_MEMORY_LIMIT='1 GBs'"),
        ({"WH_DAGSTER_DUCKDB_MEMORY_LIMIT": "10MB"}, "='10MB': DuckDB needs at least 64MB"),
    ],
)
def test_a_bad_value_is_an_error_naming_its_variable(env, message):
    with pytest.raises(SettingsError, match=re.escape(message)):
        Settings.from_env(env)


def test_dbt_and_the_dagster_process_have_their_own_duckdb_memory_limits():
    """dbt's limit reaches the profile through the dbt subprocess's environment, the Dagster
    process's own limit its connections; the defaults keep the two, with the Python assets'
    working set, inside the 8 GiB budget of docs/benchmarks.md."""
    settings = Settings.from_env(
        {"WH_DUCKDB_MEMORY_LIMIT": " 6GB ", "WH_DAGSTER_DUCKDB_MEMORY_LIMIT": "1.5GiB"}
    )
    assert settings.dbt_environment()["WH_DUCKDB_MEMORY_LIMIT"] == "6GB"
    assert settings.duckdb_config()["memory_limit"] == "1.5GiB"
    defaults = Settings.from_env({})
    assert (defaults.duckdb_memory_limit, defaults.dagster_duckdb_memory_limit) == ("5GB", "1GB")
    assert defaults.dbt_environment()["WH_DUCKDB_MEMORY_LIMIT"] == "5GB"
    assert defaults.duckdb_config()["memory_limit"] == "1GB"
    budget = memory_bytes(defaults.duckdb_memory_limit) + memory_bytes("1GB")
    assert budget == 6 * 10**9 < 8 * 2**30 - 2 * 2**30  # 2 GiB left for Python and pandas
    assert memory_bytes("1.5GiB") == 3 * 2**29
    assert memory_bytes("512 mb") == 512 * 10**6
    # the profile's fallback (dbt run by hand, without the settings) is the same default
    profile = yaml.safe_load((ROOT / "profiles.yml").read_text(encoding="utf-8"))
    limit = profile["loyalty_warehouse"]["outputs"]["dev"]["settings"]["memory_limit"]
    assert f"'{defaults.duckdb_memory_limit}'" in limit


def test_as_of_is_a_checked_date_and_reaches_dbt():
    today = dt.date(2026, 12, 6)
    settings = Settings.from_env({"WH_AS_OF": "2026-06-30"}, today=today)
    assert settings.as_of == dt.date(2026, 6, 30)
    assert settings.dbt_vars["as_of"] == "2026-06-30"
    assert settings.dbt_vars_arg() == ["--vars", '{"as_of": "2026-06-30"}']
    assert Settings.from_env({}, today=today).as_of is None  # the day dbt's build started
    with pytest.raises(AsOfError, match="in the future"):
        Settings.from_env({"WH_AS_OF": "2026-12-07"}, today=today)


def test_dbt_vars_merge_the_project_and_the_environment():
    env = {"WH_DBT_VARS": json.dumps({"clv_time_unit": "days", "nps_promoter_min": 9})}
    settings = Settings.from_env(env)
    assert settings.dbt_var("clv_time_unit") == "days"
    assert settings.dbt_var("survey_carry_forward_months") == 12  # dbt_project.yml's
    # only what differs from dbt_project.yml goes on the command line
    assert settings.dbt_vars_arg() == ["--vars", '{"clv_time_unit": "days"}']
    assert Settings.from_env({}).dbt_vars_arg() == []
    with pytest.raises(KeyError, match="nps_bands"):
        settings.dbt_var("nps_bands")


def test_the_project_vars_read_without_pyyaml_equal_pyyaml():
    project = yaml.safe_load((ROOT / "dbt_project.yml").read_text(encoding="utf-8"))
    assert dbt_project_vars() == project["vars"]


def test_secrets_stay_out_of_the_repr():
    settings = Settings.from_env(
        {"WH_PII_SALT": "s3cret-salt", "WH_PG_PASSWORD": "pg-s3cret", "WH_SMTP_PASSWORD": "m"}
    )
    assert "s3cret" not in repr(settings)
    assert settings.salt() == "s3cret-salt"


def test_a_generated_salt_is_kept_and_reused(tmp_path):
    settings = Settings.from_env({"WH_PII_SALT_FILE": str(tmp_path / "salt")})
    first = settings.salt()
    assert len(first) == 64 and settings.salt() == first
    assert (tmp_path / "salt").stat().st_mode & 0o777 == 0o600


# ------------------------------------------------------------------ resolved once, passed on


def test_the_loaded_definitions_use_the_settings_the_dbt_project_resolved():
    """One resolution per process: orchestration/project.py reads the environment for the
    dbt target (`dbt parse` runs before the definitions load), and the module-level `defs`
    are built with that same object, not with a second reading of the environment."""
    from orchestration import definitions, project

    assert definitions.defs.resources["settings"] is project.SETTINGS
    assert project.dbt_project.target == project.SETTINGS.dbt_target


def test_importing_the_definitions_keeps_an_environment_set_after_the_project_import(tmp_path):
    """The end-to-end fixtures import orchestration.project early (collection), then set
    WH_DUCKDB_PATH and import the definitions: the module-level `defs` must not export the
    project's earlier settings over it, or dbt writes into the default warehouse."""
    script = (
        "import os\n"
        "import orchestration.project\n"
        f"os.environ['WH_DUCKDB_PATH'] = {str(tmp_path / 'later.duckdb')!r}\n"
        "from orchestration.definitions import build_definitions\n"
        "print(os.environ['WH_DUCKDB_PATH'])\n"
        "build_definitions()\n"
        "print(os.environ['WH_DUCKDB_PATH'])\n"
    )
    env = {**os.environ, "WH_DUCKDB_PATH": str(tmp_path / "first.duckdb")}
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == [str(tmp_path / "later.duckdb")] * 2


def test_the_definitions_pass_one_settings_object_to_every_asset():
    from orchestration.definitions import build_definitions

    settings = dataclasses.replace(
        Settings.from_env(), schedule_cron="30 5 * * *", sensor_interval_seconds=120
    )
    defs = build_definitions(":memory:", settings=settings)
    assert defs.resources["settings"] is settings
    assert defs.resolve_schedule_def("daily_refresh").cron_schedule == "30 5 * * *"
    assert defs.resolve_sensor_def("landing_sensor").minimum_interval_seconds == 120
    needs = {
        key.to_user_string()
        for assets_def in defs.resolve_asset_graph().assets_defs
        if "settings" in assets_def.required_resource_keys
        for key in assets_def.keys
    }
    # ingestion, dbt, every Python asset that reads a setting or as_of, publish and report
    for key in (
        "raw/customers",
        "analytics/customer_clv",
        "analytics/churn_early_warning",
        "analytics/customer_indices",
        "analytics/customer_actions",
        "published_warehouse",
        "loyalty_report",
        "customer_facts",
    ):
        assert key in needs, key


def test_as_of_is_read_back_from_customer_facts(tmp_path):
    from orchestration.assets.dbt import built_as_of, relation_name

    schema, table = (part.strip('"') for part in relation_name("customer_facts").split("."))
    with duckdb.connect(str(tmp_path / "wh.duckdb")) as con:
        con.execute(f"create schema if not exists {schema}")
        con.execute(f"create table {schema}.{table} (customer_id varchar, as_of_on date)")
        with pytest.raises(ValueError, match="customer_facts is empty"):
            built_as_of(con)
        con.execute(
            f"insert into {schema}.{table} values ('C1', date '2026-06-30'), "
            "('C2', date '2026-06-30')"
        )
        assert built_as_of(con) == dt.date(2026, 6, 30)
