"""The dbt project as Dagster assets: staging views, intermediate models and marts."""

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import duckdb as duckdb_module
import yaml
from dagster import AssetExecutionContext, AssetMaterialization, Output, ResourceParam
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets
from dagster_duckdb import DuckDBResource

from ..project import dbt_project
from ..relations import table_exists
from ..settings import ROOT, Settings

# Run tag of the `full_refresh` job: its dbt build runs with --full-refresh.
FULL_REFRESH_TAG = "warehouse/dbt_full_refresh"
# One row per successful dbt build of the jobs: its as_of, the fingerprint of the models,
# macros, seeds and vars it was built with, and the last load of the change record it saw
# (its number and time) with the number of change lines up to it (beside the load ledger, in
# the DuckDB file).
BUILDS_TABLE = "raw_meta.dbt_builds"
BUILDS_COLUMNS = (
    ("built_at", "timestamp"),
    ("as_of", "date"),
    ("is_full_refresh", "boolean"),
    ("full_refresh_reason", "varchar"),
    ("fingerprint", "varchar"),
    ("last_load_seq", "bigint"),
    ("last_load_recorded_at", "timestamp"),
    ("change_lines", "bigint"),
)
# Columns of BUILDS_COLUMNS that a builds table created before them lacks (null there: such
# a build's change record is not checked).
BUILDS_ADDED_COLUMNS = ("last_load_seq", "last_load_recorded_at", "change_lines")
# The ingestion's change record, which the incremental models take their dirty customers from.
CHANGES_TABLE = "raw_meta.load_changes"
# Names listed in a full-rebuild reason before "and N more".
REASON_NAMES_SHOWN = 5


class WarehouseTranslator(DagsterDbtTranslator):
    """Groups dbt models by their layer folder (staging, intermediate, marts)."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])
        if dbt_resource_props.get("resource_type") == "model" and len(fqn) > 2:
            return fqn[1]
        if dbt_resource_props.get("resource_type") == "seed":
            return "seeds"
        return super().get_group_name(dbt_resource_props)


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=WarehouseTranslator(),
)
def warehouse_dbt_assets(
    context: AssetExecutionContext,
    dbt: DbtCliResource,
    duckdb: DuckDBResource,
    settings: ResourceParam[Settings],
):
    """`dbt build`: seeds, models and their data and unit tests, in dependency order, with
    the arguments of `dbt_build_args()`. From scratch (`--full-refresh`) in a run tagged
    `FULL_REFRESH_TAG` (the `full_refresh` job), with `WH_DBT_FULL_REFRESH` set, and
    whenever the last successful build recorded in `raw_meta.dbt_builds` cannot be carried
    forward: an as_of moved back, changed models, macros, seeds or vars (`plan_build`). The
    decision and its reasons are logged and put on every materialisation's metadata
    (`dbt_full_refresh`, `dbt_full_refresh_reason`); a successful build is recorded.

    With PostgreSQL as the warehouse (`WH_DBT_TARGET=pg`): the raw tables the ingestion
    loaded into the DuckDB file go to PostgreSQL first, and after a successful build every
    model and seed it built comes back into the DuckDB file (same schema and name as on
    DuckDB), which the Python assets, publish and the report read."""
    full_refresh = context.run.tags.get(FULL_REFRESH_TAG, "") == "true"
    if settings.dbt_target not in ("dev", "pg"):
        raise ValueError(
            f"WH_DBT_TARGET={settings.dbt_target!r}: the Dagster jobs run on DuckDB (dev) or "
            "PostgreSQL (pg); build the dbt models on Spark with dbt itself (docs/engines.md)"
        )
    on_postgres = settings.dbt_target == "pg"
    if on_postgres:
        from ..warehouse_copy import copy_raw, copy_to_duckdb, pg_dsn

        copied = copy_raw(duckdb.database, pg_dsn(settings), duckdb_config=settings.duckdb_config())
        context.log.info(f"raw tables to PostgreSQL: {len(copied)}, {sum(copied.values())} rows")
    requested = []
    if full_refresh:
        requested.append("the full_refresh job")
    if settings.dbt_full_refresh:
        requested.append("WH_DBT_FULL_REFRESH is set")
    manifest = json.loads(dbt_project.manifest_path.read_text())
    with duckdb.get_connection() as con:
        plan = plan_build(con, manifest, settings.dbt_vars, requested)
    (context.log.warning if plan.full_refresh else context.log.info)(plan.message)
    said = {
        "dbt_full_refresh": plan.full_refresh,
        "dbt_full_refresh_reason": "; ".join(plan.reasons) or "none: incremental",
    }
    invocation = dbt.cli(dbt_build_args(settings, plan.full_refresh), context=context)
    for event in invocation.stream():
        if isinstance(event, Output | AssetMaterialization):
            event = event.with_metadata({**event.metadata, **said})
        yield event
    # reached only when dbt succeeded (a failed build raises in stream())
    with duckdb.get_connection() as con:
        record_build(
            con,
            BuildFingerprint.of(invocation.get_artifact("manifest.json"), settings.dbt_vars),
            plan.full_refresh,
            plan.reasons,
        )
    if on_postgres:
        relations = built_relations(
            invocation.get_artifact("run_results.json"),
            invocation.get_artifact("manifest.json"),
        )
        pulled = copy_to_duckdb(
            pg_dsn(settings), duckdb.database, relations, settings.duckdb_config()
        )
        context.log.info(f"models to DuckDB: {len(pulled)}, {sum(pulled.values())} rows")


def built_relations(
    run_results: Mapping[str, Any], run_manifest: Mapping[str, Any]
) -> list[tuple[str, str, str]]:
    """(schema in the built database, name, schema in the DuckDB file) of every model and
    seed the dbt run built: the DuckDB schema is the project manifest's (what
    `relation_name` and the publish read), the other the run's."""
    project_nodes = json.loads(dbt_project.manifest_path.read_text())["nodes"]
    relations = []
    for result in run_results["results"]:
        node = run_manifest["nodes"].get(result["unique_id"])
        if (
            node is None
            or node["resource_type"] not in ("model", "seed")
            or result["status"] != "success"
            or node["config"].get("materialized") == "ephemeral"
        ):
            continue
        project_node = project_nodes.get(result["unique_id"], node)
        relations.append((node["schema"], node["alias"], project_node["schema"]))
    return relations


def dbt_build_args(settings: Settings, full_refresh: bool = False) -> list[str]:
    """`dbt build` with the `--vars` of `settings` (`WH_AS_OF`, `WH_DBT_VARS`).

    Without `full_refresh` the incremental models (fct_orders, fct_interactions,
    fct_survey_answers, int_customer_months) rewrite only the customers that the change
    record and the move of as_of name: the `incremental_refresh` job, the daily schedule and
    the landing sensor. With it `--full-refresh` rebuilds them from scratch: the
    `full_refresh` job, `WH_DBT_FULL_REFRESH` set for any job, or `plan_build` finding that
    the last build cannot be carried forward (an incremental run keeps the rows it does not
    rewrite, so they must come from the same SQL, seeds and vars, at an as_of no later).

    dbt's unit tests check the SQL of the models on fixed rows, not the data: they belong to
    the project's tests (`make test` runs them, tests/test_dbt_unit_tests.py), so the jobs
    leave them out (about a third of the build's time) unless `settings.dbt_unit_tests`
    (`WH_DBT_UNIT_TESTS`).
    Every data test still runs, as the asset checks of the models it tests.
    """
    args = ["build", *settings.dbt_vars_arg()]
    if full_refresh or settings.dbt_full_refresh:
        args.append("--full-refresh")
    if not settings.dbt_unit_tests:
        args += ["--exclude-resource-type", "unit_test"]
    return args


@cache
def relation_name(model_name: str) -> str:
    """`schema.table` of a dbt model or seed. The database part is left out on purpose: DuckDB names
    its catalog after the file, which differs between runs, tests and the published copy."""
    manifest = json.loads(dbt_project.manifest_path.read_text())
    for node in manifest["nodes"].values():
        if node["resource_type"] in ("model", "seed") and node["name"] == model_name:
            return f'"{node["schema"]}"."{node["alias"]}"'
    raise KeyError(f"no dbt model named {model_name!r} in {dbt_project.manifest_path}")


def built_as_of(con) -> dt.date:
    """The reporting date of the last dbt build: `customer_facts.as_of_on` (`as_of_date()` of
    macros/as_of.sql: `WH_AS_OF`, else the day the dbt build started). The one place the Python
    assets take as_of from after dbt, so they and the marts agree, whatever the clock says
    by the time they run."""
    day = con.execute(f"select max(as_of_on) from {relation_name('customer_facts')}").fetchone()
    if day is None or day[0] is None:
        raise ValueError("customer_facts is empty: no customer loaded, so no as_of to report")
    return day[0] if isinstance(day[0], dt.date) else dt.date.fromisoformat(str(day[0])[:10])


def _digest(value: object) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


@dataclass(frozen=True)
class BuildFingerprint:
    """What a dbt build's incremental tables rest on besides the data: the reporting date,
    a digest per model (SQL, config, column types), per macro of the project and per seed,
    and the dbt vars other than as_of (dbt_project.yml's, overridden by `WH_DBT_VARS`)."""

    as_of: str
    models: dict[str, str] = field(default_factory=dict)
    seeds: dict[str, str] = field(default_factory=dict)
    vars: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, manifest: Mapping[str, Any], build_vars: Mapping[str, Any]) -> "BuildFingerprint":
        """The fingerprint of a build of `manifest` with `build_vars` (`Settings.dbt_vars`)."""
        project = manifest["metadata"].get("project_name", "loyalty_warehouse")
        models, seeds = {}, {}
        for unique_id, node in manifest["nodes"].items():
            if node["resource_type"] == "model":
                columns = {name: c.get("data_type") for name, c in node["columns"].items()}
                models[unique_id] = _digest([node["checksum"], node["config"], columns])
            elif node["resource_type"] == "seed":
                seeds[unique_id] = _digest([node["checksum"], node["config"]])
        for unique_id, macro in manifest["macros"].items():
            if macro["package_name"] == project:
                models[unique_id] = _digest(macro["macro_sql"])
        defaults = yaml.safe_load((ROOT / "dbt_project.yml").read_text()).get("vars") or {}
        other_vars = {k: v for k, v in {**defaults, **build_vars}.items() if k != "as_of"}
        as_of = str(build_vars.get("as_of") or dt.date.today().isoformat())
        return cls(as_of=as_of, models=models, seeds=seeds, vars=other_vars)

    def to_json(self) -> str:
        return json.dumps(
            {"models": self.models, "seeds": self.seeds, "vars": self.vars}, sort_keys=True
        )

    @classmethod
    def from_json(cls, as_of: str, text: str) -> "BuildFingerprint":
        return cls(as_of=as_of, **json.loads(text))


def _named(kind: str, changed: list[str]) -> str:
    names = sorted(name.split(".")[-1] for name in changed)
    shown = ", ".join(names[:REASON_NAMES_SHOWN])
    more = f" and {len(names) - REASON_NAMES_SHOWN} more" if len(names) > REASON_NAMES_SHOWN else ""
    return f"{kind} changed since the last build: {shown}{more}"


def full_refresh_reasons(previous: BuildFingerprint | None, current: BuildFingerprint) -> list[str]:
    """Why the incremental tables cannot be carried forward to `current` from the build
    `previous` left; empty when they can. An incremental run keeps the rows it does not
    rewrite: they must have been computed by the same SQL, seeds and vars, and as of a date
    no later than the new one (rows dated after an earlier as_of are gone from the inputs,
    but a later month's stored state would be read as the past)."""
    if previous is None:
        return ["no earlier build is recorded (raw_meta.dbt_builds)"]
    reasons = []
    if current.as_of < previous.as_of:
        reasons.append(f"as_of moved back, from {previous.as_of} to {current.as_of}")
    for kind, before, now in (
        ("models or macros", previous.models, current.models),
        ("seeds", previous.seeds, current.seeds),
    ):
        changed = [k for k in before.keys() | now.keys() if before.get(k) != now.get(k)]
        if changed:
            reasons.append(_named(kind, changed))
    changed_vars = [
        k
        for k in previous.vars.keys() | current.vars.keys()
        if previous.vars.get(k) != current.vars.get(k)
    ]
    if changed_vars:
        reasons.append(_named("dbt vars", changed_vars))
    return reasons


def _create_builds_table(con: duckdb_module.DuckDBPyConnection) -> None:
    columns = ", ".join(f"{name} {kind}" for name, kind in BUILDS_COLUMNS)
    con.execute("create schema if not exists raw_meta")
    con.execute(f"create table if not exists {BUILDS_TABLE} ({columns})")
    types = dict(BUILDS_COLUMNS)
    for name in BUILDS_ADDED_COLUMNS:
        con.execute(f"alter table {BUILDS_TABLE} add column if not exists {name} {types[name]}")


def last_build(con: duckdb_module.DuckDBPyConnection) -> BuildFingerprint | None:
    """The fingerprint of the last successful build recorded in the warehouse, if any."""
    _create_builds_table(con)
    row = con.execute(
        f"select cast(as_of as varchar), fingerprint from {BUILDS_TABLE} "
        "order by built_at desc limit 1"
    ).fetchone()
    return BuildFingerprint.from_json(*row) if row else None


def _change_mark(
    con: duckdb_module.DuckDBPyConnection, load: int | None = None
) -> tuple[int, dt.datetime | None, int]:
    """The change record's last load number, and the time and number of lines of it and
    the loads before it (of `load` and before, when given); (0, None, 0) when there is none."""
    if not table_exists(con, CHANGES_TABLE):
        return 0, None, 0
    last = con.execute(f"select coalesce(max(load_seq), 0) from {CHANGES_TABLE}").fetchone()[0]
    load = last if load is None else load
    recorded_at, lines = con.execute(
        f"select max(recorded_at) filter (where load_seq = ?), "
        f"count(*) filter (where load_seq <= ?) from {CHANGES_TABLE}",
        [load, load],
    ).fetchone()
    return int(last), recorded_at, int(lines)


def change_record_reasons(con: duckdb_module.DuckDBPyConnection) -> list[str]:
    """Why the change record cannot tell the next build what changed since the last one:
    it must be append-only, so that it still holds the last load that build saw (same number,
    same time) and the same number of lines up to it. Emptied, cut back or renumbered, the
    incremental models would miss the changes they no longer find there (their state tables
    keep the load number they saw)."""
    _create_builds_table(con)
    row = con.execute(
        f"select last_load_seq, last_load_recorded_at, change_lines from {BUILDS_TABLE} "
        "order by built_at desc limit 1"
    ).fetchone()
    if row is None or row[0] is None:
        return []
    seen_load, seen_at, seen_lines = row
    last, recorded_at, lines = _change_mark(con, seen_load)
    if last >= seen_load and recorded_at == seen_at and lines == seen_lines:
        return []
    return [
        f"the change record ({CHANGES_TABLE}) no longer holds what the last build saw: "
        f"{seen_lines} lines up to load {seen_load}, now {lines} (last load {last}); it was "
        "emptied or its load numbers went back"
    ]


def record_build(
    con: duckdb_module.DuckDBPyConnection,
    fingerprint: BuildFingerprint,
    full_refresh: bool,
    reasons: list[str],
) -> None:
    """Record a successful build, which the next build's `full_refresh_reasons` compares with,
    and the change record's last load and lines as the build leaves them, which
    `change_record_reasons` checks the record still holds."""
    _create_builds_table(con)
    last_load, recorded_at, lines = _change_mark(con)
    con.execute(
        f"insert into {BUILDS_TABLE} ({', '.join(name for name, _ in BUILDS_COLUMNS)}) "
        "values (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            dt.datetime.now(),
            fingerprint.as_of,
            full_refresh,
            "; ".join(reasons) or None,
            fingerprint.to_json(),
            last_load,
            recorded_at,
            lines,
        ],
    )


@dataclass(frozen=True)
class BuildPlan:
    """How the next dbt build runs: from scratch or not, and why."""

    full_refresh: bool
    reasons: list[str]

    @property
    def message(self) -> str:
        if not self.full_refresh:
            return "incremental build: the incremental models rewrite only what changed"
        return "full rebuild (dbt --full-refresh): " + "; ".join(self.reasons)


def plan_build(
    con: duckdb_module.DuckDBPyConnection,
    manifest: Mapping[str, Any],
    build_vars: Mapping[str, Any],
    requested: list[str] | None = None,
) -> BuildPlan:
    """A full rebuild when `requested` names a reason (the `full_refresh` job,
    `WH_DBT_FULL_REFRESH`), the last recorded build cannot be carried forward
    (`full_refresh_reasons`) or the change record lost what it saw (`change_record_reasons`);
    else an incremental one."""
    reasons = (
        list(requested or [])
        + full_refresh_reasons(last_build(con), BuildFingerprint.of(manifest, build_vars))
        + change_record_reasons(con)
    )
    return BuildPlan(full_refresh=bool(reasons), reasons=reasons)
