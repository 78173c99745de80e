"""Publish the BI-facing tables: a new DuckDB file and Parquet files per release, swapped in
atomically, so that BI tools read a complete, checked copy and never wait for a refresh.

Layout of the published directory (`WH_PUBLISH_DIR`, default `published/` beside the working
warehouse, i.e. `warehouse/published/`):

    releases/<release>/bi.duckdb                   the BI tables, one DuckDB file
    releases/<release>/parquet/<schema>/<table>.parquet
    releases/<release>/parquet/<schema>/<table>/<part>.parquet   a table published by part
    releases/<release>/manifest.json               run id, as_of, row counts, checksums
    current -> releases/<release>                  the one symlink a publish flips
    bi.duckdb -> current/bi.duckdb                 stable paths for BI tools; they never
    manifest.json -> current/manifest.json         change, so flipping `current` moves the
    parquet -> current/parquet                     database, Parquet files and manifest at once

A release is built under `releases/.tmp-<release>/`, renamed to its final name when complete,
and published by replacing the `current` symlink with `os.replace` (an atomic rename on POSIX).
A publish that fails or is killed before that rename leaves the previous release published and
untouched; whatever it left behind is removed by the next publish. Old releases are kept while
they are among the last `keep` published (followed through each manifest's
`previous_release`), so a reader that opened one just before a flip keeps a complete file.

A publish rewrites only what changed. Each table's `source_checksum` is taken in the working
warehouse with one aggregate pass (row count and the sum of DuckDB `hash()` of every row,
order-independent) together with everything else that shapes its published form: its column
types, descriptions and empty reason, the DuckDB and storage versions, and
`PUBLISH_CODE_VERSION` (a digest of this module and of orchestration/pii.py, so that a
change of the sanitisation or of the layout republishes everything). A table whose
`source_checksum` equals the one in the current release's manifest is `linked`: its Parquet
file is hard-linked from that release (copied where a link is impossible, e.g. across
devices) and its manifest entry reused; bi.duckdb then starts as a copy of that release's file,
from which the changed and vanished tables are dropped. Only the `written` tables are copied
from the working warehouse, sanitised, described, checksummed and exported to Parquet. A
hard link shares the file, never its name: removing an old release leaves the current one's
links whole, and every file is read-only.

A large table whose rows of closed periods stay as they are can be published **by part**: its
dbt model says `config.meta.publish_partition_by`, a list of SQL expressions over its columns
(`[year(period_start_on)]`). Its Parquet is then a folder with one file per distinct value of
the expressions (`loyalty_indicators/2026.parquet`; read them together with
`read_parquet('parquet/main/loyalty_indicators/*.parquet')`), and each part has its own rows,
checksums and `source_checksum` in the manifest (`partitions`). A part whose `source_checksum`
is unchanged is linked like a table; in bi.duckdb, the previous release's table loses the rows
of the parts that changed or went and gets the changed parts' rows, sanitised like a written
table's. A partition expression that is NULL on some row publishes the table whole (one file,
`unpartitioned_because` in the manifest). After `DATABASE_COPIES_MAX` releases that each
started as a copy of the last one's bi.duckdb, a publish writes every table afresh, so that the
space of deleted rows does not accumulate in the file.

Which tables are BI-facing comes from the dbt manifest, not from names: every model under
`models/marts/` (fqn `<project>.marts.…`) but the Python assets' inputs in
`models/marts/features/`, every seed (small reference tables such as the indicator
catalogue), plus every table of the `analytics` schema that Python assets write. A mart
materialised as a view (`loyalty_indicator_catalogue`) is copied as a table like the others.
Staging and intermediate models, `raw*` schemas and anything else are never copied.

The copy describes itself (docs/bi.md):
- schemas: the marts keep their dbt schema (`main`), the Python tables `analytics`; the
  seeds that configure the warehouse go to `config` and the catalogue a reader looks codes up
  in (`CATALOGUE_TABLES`) to `catalogue`. The working warehouse keeps every seed in `main`,
  where dbt and the Python assets read them.
- every table and column carries its description: `COMMENT ON` in bi.duckdb (dbt's
  descriptions from the manifest; an analytics table's from its asset, `TableDocs`) and the
  same text in each Parquet file's key-value metadata (`description`, and
  `column_descriptions` as JSON);
- a column named by a DuckDB reserved word is refused, and so is an empty analytics table
  whose asset did not say why it may be empty; the reason goes into the table's comment and
  the manifest (`empty_reason`).
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import fcntl
import hashlib
import json
import os
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from . import pii

ANALYTICS_SCHEMA = "analytics"
META_SCHEMA = "publish_meta"
# Where the dbt seeds go in the published copy: the catalogue of indicators and code labels,
# which a reader looks things up in, and the configuration (weights, rules, rates) beside it.
CATALOGUE_SCHEMA = "catalogue"
CATALOGUE_TABLES = frozenset({"indicator_catalogue", "code_labels"})
CONFIG_SCHEMA = "config"
# The coded columns BI sees and the domain of seeds/code_labels.csv that labels each, as
# "schema.table.column" in the published copy. A code without a label is listed in the
# manifest (`unlabelled_codes`); tests/test_bi_copy.py requires none on the generated firm.
CODE_LABELS_TABLE = "code_labels"
_CODED = {
    "region": ["main.dim_customers.region", "main.dim_account_managers.region"],
    "industry": ["main.dim_customers.industry"],
    "size_band": ["main.dim_customers.size_band"],
    "acquisition_channel": ["main.dim_customers.acquisition_channel"],
    "product_line": ["main.fct_orders.product_line", "main.fct_contracts.product_line"],
    "lifecycle_stage": ["main.customer_facts.lifecycle_stage", "config.lifecycle_rules.stage"],
    "churn_status": ["main.customer_facts.churn_status"],
    "churn_reason": [
        "main.customer_facts.churn_reason_code",
        "main.customer_facts.churn_record_reason_code",
        "config.churn_reason_map.reason_category",
    ],
    "nps_category": ["main.customer_facts.nps_category"],
    "rfm_segment": ["main.customer_value.rfm_segment"],
    "slice_type": [
        "main.loyalty_indicators.slice_type",
        "main.loyalty_retention.slice_type",
        "main.loyalty_cohort_retention.slice_type",
        "main.loyalty_satisfaction_monthly.slice_type",
        "main.customer_concentration_summary.slice_type",
        "main.customer_concentration_lorenz.slice_type",
        "analytics.customer_equity.slice_type",
    ],
    "clv_model_status": ["analytics.clv_model_fits.status"],
    "spend_basis": ["analytics.customer_clv.spend_basis"],
    "equity_part": ["analytics.customer_equity_bridge.part"],
    "period_grain": [
        "main.loyalty_indicators.period_grain",
        "main.loyalty_retention.period_grain",
        "main.loyalty_cohort_retention.cohort_grain",
    ],
    "unit": [
        "main.loyalty_indicators.unit",
        "main.loyalty_indicator_catalogue.unit",
        "catalogue.indicator_catalogue.unit",
    ],
    "indicator_group": [
        "main.loyalty_indicator_catalogue.indicator_group",
        "catalogue.indicator_catalogue.indicator_group",
    ],
    "indicator_grain": [
        "main.loyalty_indicator_catalogue.grain",
        "catalogue.indicator_catalogue.grain",
    ],
    "direction": [
        "main.loyalty_indicator_catalogue.direction",
        "catalogue.indicator_catalogue.direction",
        "main.loyalty_benchmarks.direction",
    ],
    "comparison": ["main.loyalty_benchmarks.comparison"],
    "contract_status": ["main.fct_contracts.status"],
    "interaction_channel": ["main.fct_interactions.channel"],
    "interaction_kind": ["main.fct_interactions.kind"],
    "ticket_category": ["main.fct_service_tickets.category"],
    "ticket_priority": ["main.fct_service_tickets.priority"],
    "ticket_status": ["main.fct_service_tickets.status"],
    "complaint_category": ["main.fct_complaints.category"],
    "complaint_outcome": ["main.fct_complaints.outcome"],
    "feedback_channel": ["main.fct_feedback.channel"],
    "feedback_category": ["main.fct_feedback.category"],
    "event_kind": ["main.fct_event_attendance.event_kind"],
    "sentiment": ["main.fct_reviews.sentiment"],
    "survey_kind": ["main.fct_survey_answers.survey_kind", "main.dim_survey_questions.survey_kind"],
    "survey_dimension": [
        "main.fct_survey_answers.dimension",
        "main.dim_survey_questions.dimension",
    ],
    "index_band": [
        "analytics.customer_indices.loyalty_band",
        "analytics.customer_indices.value_band",
        "analytics.management_level.band",
        "analytics.loyalty_extra_revenue.top_band",
    ],
    "trend": [
        "analytics.customer_indices.loyalty_trend",
        "analytics.customer_indices.value_trend",
        "analytics.management_level.trend",
    ],
    "risk_band": ["analytics.churn_early_warning.risk_band", "analytics.renewal_book.risk_band"],
    "unit_type": ["analytics.management_level.unit_type"],
    "score_window": ["analytics.management_level.score_window"],
    "segment_scheme": [
        "analytics.customer_segments.segment_scheme",
        "analytics.segment_migration.segment_scheme",
    ],
    "weighting_method": [
        "analytics.customer_indices.weighting_method",
        "analytics.index_weights.weighting_method",
        "analytics.index_backtest.weighting_method",
    ],
    "early_warning_method": [
        "analytics.early_warning_backtest.method",
        "analytics.early_warning_reliability.method",
    ],
    "renewal_bucket": ["analytics.renewal_book.renewal_bucket"],
    "action_type": ["analytics.customer_actions.action_type"],
}
CODED_COLUMNS: dict[str, str] = {
    column: domain for domain, columns in _CODED.items() for column in columns
}
# The text values sanitise_text hands to Python's pii.mask_personal_data: pii's cheap SQL
# pass, narrowed by what every value that function changes has: an e-mail has an @, and an
# ID-card or phone number starts with a digit, + or ( at the start of the text or after a
# character that is not an ASCII letter or digit (pii's look-behind). Ids such as
# O000122881, millions of them in the fact tables, stay in SQL.
PERSONAL_DATA_SQL_FILTER = (
    "(regexp_matches({column}, '"
    + pii.CANDIDATE_SQL_PATTERN.replace("'", "''").replace("{", "{{").replace("}", "}}")
    + "') "
    "and (contains({column}, '@') or regexp_matches({column}, '(^|[^0-9A-Za-z])[0-9+(]')))"
)
# Parquet key-value metadata keys.
PARQUET_DESCRIPTION_KEY = "description"
PARQUET_COLUMNS_KEY = "column_descriptions"
DATABASE_FILE = "bi.duckdb"
MANIFEST_FILE = "manifest.json"
PARQUET_DIR = "parquet"
RELEASES_DIR = "releases"
CURRENT_LINK = "current"
LOCK_FILE = ".publish.lock"
TMP_PREFIX = ".tmp-"
# The stable names in the published directory, each a symlink into `current`.
STABLE_LINKS = (DATABASE_FILE, MANIFEST_FILE, PARQUET_DIR)
# Releases kept on disk, the current one included (>= 2 so the one just replaced survives).
KEEP_RELEASES = 2  # Settings.publish_keep (WH_PUBLISH_KEEP)
# Storage format of bi.duckdb: v1.0.0 is readable by every DuckDB >= 1.0, which BI drivers
# (ODBC, Metabase, duckdb-engine) often lag behind the warehouse's own DuckDB.
STORAGE_VERSION = "v1.0.0"  # Settings.publish_storage_version (WH_PUBLISH_STORAGE_VERSION)
# The code that shapes a published table: a change to either file republishes every table.
PUBLISH_CODE_VERSION = hashlib.sha256(
    Path(__file__).read_bytes() + Path(pii.__file__).read_bytes()
).hexdigest()[:16]
# The dbt model `meta` key that publishes a table by part (a list of SQL expressions).
PARTITION_META_KEY = "publish_partition_by"
# Where the rows of a table published by part wait to be sanitised before joining their table.
SCRATCH_SCHEMA = "publish_scratch"
# Releases in a row whose bi.duckdb began as a copy of the previous one's (manifest
# `database_copies`); the next publish writes every table afresh.
DATABASE_COPIES_MAX = 30
# How a table came into a release (manifest `published`).
WRITTEN, LINKED = "written", "linked"
HARD_LINK = "hard link"  # how a linked table's Parquet file came (manifest `linked_by`), or "copy"
# Moments a publish passes, in order; `on_stage` is called with each (tests kill it there).
STAGES = ("database_written", "parquet_written", "manifest_written", "release_renamed", "swapped")

# Column names that hold personal data in clear (METRICS I1). A name is split into words
# (snake_case, camelCase, any separator) and also read with its separators removed, so that
# `e_mail`, `contactName`, `mobilephone` and `phoneNumber` are caught like `email` and
# `contact_name`. `customer_name` is a firm (B2B) and passes.
PERSONAL_DATA_NAMES = frozenset({"name", "surname"})
PERSONAL_DATA_SUFFIXES = (
    "contactname",
    "managername",
    "personname",
    "fullname",
    "firstname",
    "lastname",
    "givenname",
    "familyname",
)
PERSONAL_DATA_WORDS = frozenset(
    {"phone", "email", "mobile", "telephone", "cellphone", "wechat", "tel", "fax", "qq"}
)
# Anywhere in the name without separators: English compounds and the Chinese column names
# of real exports (联系电话, 手机号, 邮箱, 姓名, 联系人, 身份证, 微信).
PERSONAL_DATA_FRAGMENTS = (
    "phone",
    "email",
    "mobileno",
    "mobilenumber",
    "idcard",
    "电话",
    "手机",
    "邮箱",
    "邮件",
    "姓名",
    "联系人",
    "身份证",
    "微信",
)
# Pseudonymised forms (staging's salted hashes and masks) and flags about the data.
SAFE_SUFFIXES = ("_hash", "_masked")
SAFE_PREFIXES = ("is_", "has_")
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_NOT_WORD = re.compile(r"[^0-9a-z\u4e00-\u9fff]+")


class PublishError(RuntimeError):
    """A publish that was refused; the previous release stays published."""


@dataclass(frozen=True)
class TableDocs:
    """What the published copy says about one analytics table: its description, each
    column's, and why it may be empty (None: an empty table is refused)."""

    description: str
    columns: dict[str, str]
    empty_reason: str | None = None


@dataclass(frozen=True)
class Relation:
    """A table to publish: where it is in the working warehouse and in the copy."""

    source_schema: str
    schema: str
    table: str
    description: str
    columns: dict[str, str]
    empty_reason: str | None = None
    partition_by: tuple[str, ...] = ()


@dataclass(frozen=True)
class Part:
    """One part of a table published by part: the values of its partition expressions (as
    DuckDB returns them), its file name, rows and hash() sum in the working warehouse, and its
    `source_checksum`."""

    name: str
    values: tuple[Any, ...]
    rows: int
    row_hash_sum: int
    source_checksum: str


@dataclass(frozen=True)
class Release:
    release_id: str
    path: Path
    manifest: dict[str, Any]


def bi_dbt_nodes(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """The dbt nodes BI reads: marts models (not ephemeral) and seeds, by schema and name.
    The `marts/features` models are the Python assets' inputs (docs/layers.md), not BI's:
    they stay in the working warehouse."""
    nodes = [
        node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "seed"
        or (
            node["resource_type"] == "model"
            and len(node["fqn"]) > 2
            and node["fqn"][1] == "marts"
            and node["fqn"][2] != "features"
            and node["config"].get("materialized") != "ephemeral"
        )
    ]
    return sorted(nodes, key=lambda node: (node["schema"], node["alias"]))


def published_schema(node: dict[str, Any]) -> str:
    """The schema of a dbt node in the published copy: seeds go to `catalogue` or `config`,
    models keep their own."""
    if node["resource_type"] != "seed":
        return node["schema"]
    return CATALOGUE_SCHEMA if node["alias"] in CATALOGUE_TABLES else CONFIG_SCHEMA


def node_partition_by(node: dict[str, Any]) -> tuple[str, ...]:
    """The partition expressions a dbt node's `config.meta.publish_partition_by` gives (a list
    of SQL expressions over its columns, or one), empty for a table published whole."""
    meta = node.get("config", {}).get("meta") or node.get("meta") or {}
    value = meta.get(PARTITION_META_KEY) or ()
    return (str(value),) if isinstance(value, str) else tuple(str(expr) for expr in value)


def part_name(values: tuple[Any, ...]) -> str:
    """The file name (without .parquet) of the part with these partition values: the values
    joined by `_`, each kept to letters, digits and `-`; where that changed a value (or left
    it empty, or it is NULL), a digest of the values keeps the names of distinct parts
    distinct."""
    texts = ["null" if value is None else str(value) for value in values]
    safe = [re.sub(r"[^A-Za-z0-9-]+", "-", text) for text in texts]
    name = "_".join(safe)
    if safe != texts or not all(safe) or None in values:
        raw = [None if value is None else str(value) for value in values]
        digest = hashlib.sha256(json.dumps(raw, ensure_ascii=False).encode()).hexdigest()
        name = f"{name}-{digest[:8]}"
    return name


def node_docs(node: dict[str, Any]) -> tuple[str, dict[str, str]]:
    """A dbt node's description and its columns' (by lower-case name), blanks dropped."""
    columns = {
        name.lower(): " ".join(column.get("description", "").split())
        for name, column in node.get("columns", {}).items()
    }
    description = " ".join(node.get("description", "").split())
    return description, {name: text for name, text in columns.items() if text}


def personal_data_columns(columns: list[str]) -> list[str]:
    """The columns whose name says they hold personal data in clear."""
    flagged = []
    for column in columns:
        name = _CAMEL_BOUNDARY.sub("_", column).lower()
        if name.endswith(SAFE_SUFFIXES) or name.startswith(SAFE_PREFIXES):
            continue
        words = [word for word in _NOT_WORD.split(name) if word]
        compact = "".join(words)
        if (
            compact in PERSONAL_DATA_NAMES
            or compact.endswith(PERSONAL_DATA_SUFFIXES)
            or PERSONAL_DATA_WORDS.intersection(words)
            or any(fragment in compact for fragment in PERSONAL_DATA_FRAGMENTS)
        ):
            flagged.append(column)
    return flagged


def current_release(target: Path) -> Path | None:
    """The release directory `current` points to, or None before the first publish."""
    link = target / CURRENT_LINK
    return (target / os.readlink(link)) if link.is_symlink() else None


def read_manifest(release: Path) -> dict[str, Any]:
    return json.loads((release / MANIFEST_FILE).read_text(encoding="utf-8"))


def rows_written(manifest: dict[str, Any]) -> int:
    """Rows a release wrote rather than linked: of the tables it wrote, and of a table
    published by part, of the parts it wrote (a manifest without `published` marks: all)."""
    return sum(
        sum(int(p["rows"]) for p in t["partitions"].values() if p["published"] == WRITTEN)
        if "partitions" in t
        else int(t["rows"])
        for t in manifest["tables"].values()
        if t.get("published", WRITTEN) == WRITTEN
    )


def publish(
    source: Path,
    target: Path,
    *,
    run_id: str,
    as_of: str | None,
    dbt_manifest: dict[str, Any],
    keep: int = KEEP_RELEASES,
    storage_version: str = STORAGE_VERSION,
    on_stage: Callable[[str], None] | None = None,
    analytics_docs: dict[str, TableDocs] | None = None,
    duckdb_config: dict[str, str] | None = None,
) -> Release:
    """Copy the BI tables of `source` into a new release under `target` and publish it.

    `analytics_docs` describes the analytics tables, by table name (from their assets).

    The working warehouse is attached READ_ONLY and detached as soon as the tables are copied:
    DuckDB refuses a read-only attach while another process holds the file read-write, so
    this runs after dbt and the Python assets have finished (the Dagster run is serial).
    """
    if keep < 2:
        raise ValueError("keep at least 2 releases: the one just replaced may still be read")
    stage = on_stage or (lambda _stage: None)
    target.mkdir(parents=True, exist_ok=True)
    (target / RELEASES_DIR).mkdir(exist_ok=True)
    published_at = dt.datetime.now(dt.UTC)
    release_id = published_at.strftime("%Y%m%dT%H%M%S%fZ") + "_" + _safe(run_id)
    with _publish_lock(target):
        _remove_leftovers(target, keep)  # a killed publish's copy: free the space first
        building = target / RELEASES_DIR / f"{TMP_PREFIX}{release_id}"
        final = target / RELEASES_DIR / release_id
        previous = current_release(target)
        try:
            building.mkdir()
            release = {
                "release": release_id,
                "run_id": run_id,
                "as_of": as_of,
                "published_at": published_at.isoformat(),
                "storage_version": storage_version,
            }
            tables = _build(
                source,
                building,
                dbt_manifest,
                analytics_docs or {},
                release,
                stage,
                previous,
                duckdb_config or {},
            )
            manifest = release | {
                "previous_release": previous.name if previous else None,
                "duckdb_version": duckdb.__version__,
                "publish_code_version": PUBLISH_CODE_VERSION,
                "checksum_method": "content_checksum = sum of DuckDB hash() of every row "
                "(order-independent; compare within one DuckDB version); parquet_sha256 = "
                "SHA-256 of the Parquet file; source_checksum = SHA-256 of the working "
                "warehouse table's row count, hash() sum and column types, its docs, and the "
                "DuckDB, storage and publish code versions (equal: the table is linked)",
                "tables_written": sum(t["published"] == WRITTEN for t in tables.values()),
                "tables_linked": sum(t["published"] == LINKED for t in tables.values()),
                "tables": tables,
            }
            (building / MANIFEST_FILE).write_text(
                json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8"
            )
            stage("manifest_written")
            linked = {
                building / entry["parquet"]
                for t in tables.values()
                for entry in _files(t)
                if entry.get("linked_by") == HARD_LINK
            }
            for path in building.rglob("*"):
                if path.is_dir():
                    _fsync(path)  # the names of the files in it, links included
                elif path not in linked:  # a linked file is the last release's, synced
                    path.chmod(0o444)  # a read-write open by a BI tool fails loudly
                    _fsync(path)
            _fsync(building)
            building.rename(final)
            _fsync(final.parent)
            stage("release_renamed")
        except BaseException:
            shutil.rmtree(building, ignore_errors=True)
            raise
        _replace_link(target / CURRENT_LINK, f"{RELEASES_DIR}/{release_id}")
        for name in STABLE_LINKS:
            _ensure_link(target / name, f"{CURRENT_LINK}/{name}")
        _fsync(target)
        stage("swapped")
        _remove_leftovers(target, keep)
    return Release(release_id, final, manifest)


def _build(
    source: Path,
    building: Path,
    dbt_manifest: dict[str, Any],
    analytics_docs: dict[str, TableDocs],
    release: dict[str, Any],
    stage: Callable[[str], None],
    previous: Path | None,
    duckdb_config: dict[str, str],
) -> dict[str, dict[str, Any]]:
    """Write bi.duckdb and the Parquet files into `building`; return the manifest's tables
    and set `release["database_copies"]`.

    Tables (and parts) whose `source_checksum` equals the one `previous` (the current release)
    recorded are linked from it; the others are written from `source`."""
    con = duckdb.connect(":memory:", config=duckdb_config)
    try:
        con.execute(f"attach {_literal(str(source))} as src (read_only)")
        try:
            relations = _bi_relations(con, dbt_manifest, analytics_docs)
            columns = _source_columns(con)
            _refuse_personal_data(relations, columns)
            _refuse_reserved_words(con, relations, columns)
            _refuse_unexplained_empty(con, relations)
            checksums, row_hashes, parts = source_checksums(
                con, relations, columns, release["storage_version"]
            )
            last = _previous_manifest(previous)
            copies = int(last.get("database_copies", 0))
            prior = _linkable(previous, last, checksums) if copies < DATABASE_COPIES_MAX else {}
            prior_parts = _linkable_parts(previous, last, parts, set(prior)) if prior else {}
            database = building / DATABASE_FILE
            if prior:
                # The previous release's file, less the tables that changed or went.
                shutil.copyfile(previous / DATABASE_FILE, database)
                con.execute(f"attach {_literal(str(database))} as bi")
                _drop_all_but(con, "bi", set(prior) | set(prior_parts))
                release["database_copies"] = copies + 1
            else:
                con.execute(
                    f"attach {_literal(str(database))} as bi "
                    f"(storage_version {_literal(release['storage_version'])})"
                )
                release["database_copies"] = 0
            written = [relation for relation in relations if _name(relation) not in prior]
            for schema in sorted({relation.schema for relation in relations} | {SCRATCH_SCHEMA}):
                con.execute(f"create schema if not exists bi.{_ident(schema)}")
            to_sanitise: list[tuple[str, str] | None] = []  # None: nothing to sanitise
            changed: dict[str, list[tuple[Any, ...]]] = {}  # a partly linked table's new parts
            for relation in written:
                name = _name(relation)
                if name in prior_parts:
                    # Keep the linked parts' rows and add the others': straight from the
                    # source where no text in them needs sanitising, else through scratch.
                    kept = [p.values for p in parts[name] if p.name in prior_parts[name]]
                    changed[name] = [
                        p.values for p in parts[name] if p.name not in prior_parts[name]
                    ]
                    other = _parts_filter(con, relation, kept, f"bi.{_qualified(relation)}")
                    con.execute(f"delete from bi.{_qualified(relation)} where {other}")
                    text = [c for c, kind in columns[(relation.source_schema, relation.table)]
                            if kind == "VARCHAR"]  # fmt: skip
                    if _text_to_sanitise(con, _source(relation), other, text):
                        con.execute(
                            f"create table bi.{_scratch(relation)} as "
                            f"select * from {_source(relation)} where {other}"
                        )
                        to_sanitise.append((SCRATCH_SCHEMA, _scratch_name(relation)))
                    else:
                        _insert_by_part(con, relation, changed[name], _source(relation))
                        to_sanitise.append(None)
                elif name in parts:
                    # part after part, so that the next release's delete of a changed part
                    # finds its rows together (written in one pass, a part's rows lie in
                    # every row group: the next day's publish at 100,000 customers took
                    # 21.3 s instead of 11.7 s)
                    con.execute(
                        f"create table bi.{_qualified(relation)} as "
                        f"select * from {_source(relation)} limit 0"
                    )
                    _insert_by_part(
                        con, relation, [p.values for p in parts[name]], _source(relation)
                    )
                    to_sanitise.append((relation.schema, relation.table))
                else:
                    con.execute(
                        f"create table bi.{_qualified(relation)} as "
                        f"select * from {_source(relation)}"
                    )
                    to_sanitise.append((relation.schema, relation.table))
        finally:
            con.execute("detach database if exists src")
        by_part = {
            key: ", ".join(relation.partition_by)
            for relation, key in zip(written, to_sanitise, strict=True)
            if key and _name(relation) in parts
        }
        sanitised = {}
        for relation, target in zip(written, to_sanitise, strict=True):
            if target is None:
                continue
            schema, table = target
            found = sanitise_text(con, "bi", [target], by_part)
            sanitised |= {
                f"{_name(relation)}.{key.split('.', 2)[2]}": counts for key, counts in found.items()
            }
            if schema == SCRATCH_SCHEMA:
                rows = f"bi.{_scratch(relation)}"
                _insert_by_part(con, relation, changed[_name(relation)], rows)
                con.execute(f"drop table bi.{_scratch(relation)}")
        con.execute(f"drop schema bi.{SCRATCH_SCHEMA}")
        tables = {}
        for relation in relations:
            name = _name(relation)
            if name in prior:
                tables[name] = _linked(prior[name], previous)
                continue
            # Unsanitised, the copy holds the source's rows: its checksum is the source's.
            unchanged = not any(key.startswith(f"{name}.") for key in sanitised)
            info = _describe(
                con,
                relation.schema,
                relation.table,
                row_hashes[name] if unchanged or name in parts else None,
            )
            if name in parts:  # the table's rows and checksum: the sums of its parts'
                info |= _describe_parts(
                    con, relation, parts[name], prior_parts.get(name, {}), sanitised, previous
                )
                entries = info["partitions"].values()
                info["rows"] = sum(entry["rows"] for entry in entries)
                info["content_checksum"] = str(sum(int(e["content_checksum"]) for e in entries))
            elif relation.partition_by:
                info["unpartitioned_because"] = (
                    "a partition expression is NULL on some row, or two parts would share a "
                    "file name: published whole"
                )
            info["description"] = _comment(con, relation, info["rows"])
            info["column_descriptions"] = {
                column: relation.columns.get(column.lower(), "") for column in info["columns"]
            }
            info["undescribed_columns"] = sorted(
                column for column, text in info["column_descriptions"].items() if not text
            )
            if relation.empty_reason and info["rows"] == 0:
                info["empty_reason"] = relation.empty_reason
            info |= {
                "source_checksum": checksums[name],
                "published": WRITTEN,
                "written_in": release["release"],
            }
            for entry in info.get("partitions", {}).values():
                if entry["published"] == WRITTEN:
                    entry["written_in"] = release["release"]
            tables[name] = info
        for key, counts in sanitised.items():
            schema, table, column = key.split(".", 2)
            if f"{schema}.{table}" not in parts:
                tables[f"{schema}.{table}"].setdefault("sanitised", {})[column] = counts
        for name in parts.keys() - prior.keys():  # its parts' sums, linked parts' included
            if total := _sum_sanitised(tables[name]["partitions"].values()):
                tables[name]["sanitised"] = total
        # A linked table keeps its unlabelled codes unless the labels themselves changed.
        labels = f"{CATALOGUE_SCHEMA}.{CODE_LABELS_TABLE}"
        recheck = None if labels not in prior else {_name(r) for r in written}
        for name, info in tables.items():
            if recheck is None or name in recheck:
                info.pop("unlabelled_codes", None)
        for key, codes in unlabelled_codes(con, "bi", recheck).items():
            schema, table, column = key.split(".", 2)
            tables[f"{schema}.{table}"].setdefault("unlabelled_codes", {})[column] = codes
        _write_publish_meta(con, release, tables)
        con.execute("detach bi")  # checkpoints: the file is complete, with no WAL beside it
        stage("database_written")
        con.execute(f"attach {_literal(str(database))} as bi (read_only)")
        by_name = {_name(relation): relation for relation in relations}
        for key, info in tables.items():
            schema, table = key.split(".", 1)
            metadata = {
                PARQUET_DESCRIPTION_KEY: info["description"],
                PARQUET_COLUMNS_KEY: json.dumps(info["column_descriptions"], ensure_ascii=False),
            }
            kv = ", ".join(f"{key}: {_literal(value)}" for key, value in metadata.items())
            relation = by_name[key]
            for entry in _files(info):
                parquet = building / entry["parquet"]
                parquet.parent.mkdir(parents=True, exist_ok=True)
                if entry["published"] == LINKED:
                    entry["linked_by"] = _link(previous / entry["parquet"], parquet)
                    continue
                # one filtered scan per part: one partitioned COPY of loyalty_indicators'
                # seven parts at 1,000,000 customers took 114 s against 73 s for these
                rows = f"bi.{_qualified(relation)}"
                if entry is not info:  # one part of the table
                    values = next(p.values for p in parts[key] if p.name == entry["name"])
                    rows = f"{rows} where {_parts_filter(con, relation, [values], rows, True)}"
                con.execute(
                    f"copy (select * from {rows}) to {_literal(str(parquet))} "
                    f"(format parquet, compression zstd, kv_metadata {{{kv}}})"
                )
                entry["parquet_sha256"] = _sha256(parquet)
                entry["parquet_bytes"] = parquet.stat().st_size
            if "partitions" in info:
                entries = info["partitions"].values()
                info["parquet_bytes"] = sum(entry["parquet_bytes"] for entry in entries)
                if info["published"] == LINKED:
                    info["linked_by"] = (
                        HARD_LINK
                        if all(entry["linked_by"] == HARD_LINK for entry in entries)
                        else "copy"
                    )
        stage("parquet_written")
        return tables
    finally:
        con.close()


def _text_to_sanitise(
    con: duckdb.DuckDBPyConnection, table: str, condition: str, columns: list[str]
) -> bool:
    """Whether any of these text columns of the rows of `table` where `condition` holds a
    value that sanitise_text would look at: a personal-data candidate or a formula."""
    return any(_flagged_text(con, table, column, condition) for column in columns)


def _flagged_text(
    con: duckdb.DuckDBPyConnection, table: str, column: str, condition: str = "true"
) -> list[tuple[str, bool, bool]]:
    """The distinct values of a text column of `table` (where `condition`) that sanitising
    looks at, each with whether it is a personal-data candidate (PERSONAL_DATA_SQL_FILTER)
    and whether it is a formula; one pass, grouped by value."""
    col = _ident(column)
    candidate = PERSONAL_DATA_SQL_FILTER.format(column="v")
    formula = pii.FORMULA_SQL_CONDITION.format(column="v")
    return con.execute(
        f"select v, {candidate}, {formula} from (select {col} as v from {table} "
        f"where {condition} and {col} is not null group by {col}) "
        f"where {candidate} or {formula}"
    ).fetchall()


def _previous_manifest(previous: Path | None) -> dict[str, Any]:
    """The manifest of the release `previous` ({} before the first publish, or when it is
    gone): what a publish links from, and how many copies of bi.duckdb it stands on."""
    if previous is None or not (previous / MANIFEST_FILE).exists():
        return {}
    return read_manifest(previous)


def _linked(info: dict[str, Any], previous: Path) -> dict[str, Any]:
    """The manifest entry of a table linked whole from `previous`, its parts' too."""
    for part in info.get("partitions", {}).values():
        part |= {"published": LINKED, "linked_from": previous.name}
    if "partitions" in info:
        info["partitions_written"], info["partitions_linked"] = 0, len(info["partitions"])
    return info | {"published": LINKED, "linked_from": previous.name}


def _parts_filter(
    con: duckdb.DuckDBPyConnection,
    relation: Relation,
    values: list[tuple[Any, ...]],
    rows_of: str,
    inside: bool = False,
) -> str:
    """A where-condition on the rows of `rows_of` (a table of the relation's columns) that
    keeps the rows outside the parts with these partition values (inside them: `inside`).
    The values go into a temporary table of the expressions' own types."""
    exprs = ", ".join(relation.partition_by)
    table = f"_publish_parts_{'in' if inside else 'out'}"
    typed = ", ".join(f"{expr} as v{i}" for i, expr in enumerate(relation.partition_by))
    con.execute(f"create or replace temp table {table} as select {typed} from {rows_of} limit 0")
    if values:
        marks = ", ".join("?" for _ in relation.partition_by)
        con.executemany(f"insert into {table} values ({marks})", [list(v) for v in values])
    return f"({exprs}) {'in' if inside else 'not in'} (select * from {table})"


def _describe_parts(
    con: duckdb.DuckDBPyConnection,
    relation: Relation,
    parts: list[Part],
    linked: dict[str, dict[str, Any]],
    sanitised: dict[str, dict[str, Any]],
    previous: Path | None,
) -> dict[str, Any]:
    """The manifest's `parquet` folder and `partitions` of a written table published by part:
    each part linked from `previous` keeps its entry; a written part gets its rows, content
    checksum (the source's, or read from the copy where sanitising changed its rows) and the
    counts of what was sanitised in it."""
    name = _name(relation)
    folder = f"{PARQUET_DIR}/{relation.schema}/{relation.table}"
    changed: dict[str, dict[str, dict[str, int]]] = {}
    for key, counts in sanitised.items():
        if key.startswith(f"{name}."):
            for values, part_counts in counts.get("by_part", {}).items():
                changed.setdefault(part_name(values), {})[key.rsplit(".", 1)[1]] = part_counts
    hashes = {}
    if changed:
        table = f"bi.{_qualified(relation)}"
        width = len(relation.partition_by)
        for row in con.execute(
            f"select {', '.join(relation.partition_by)}, count(*), "
            f"coalesce(sum(hash(published_row)), 0) from {table} as published_row "
            f"group by {', '.join(str(i + 1) for i in range(width))}"
        ).fetchall():
            hashes[part_name(tuple(row[:width]))] = (int(row[width]), int(row[width + 1]))
    entries = {}
    for part in parts:
        if part.name in linked:
            entries[part.name] = linked[part.name] | {
                "published": LINKED,
                "linked_from": previous.name if previous else None,
            }
            continue
        rows, checksum = hashes.get(part.name, (part.rows, part.row_hash_sum))
        entries[part.name] = {
            "name": part.name,
            "values": [None if v is None else str(v) for v in part.values],
            "parquet": f"{folder}/{part.name}.parquet",
            "rows": rows,
            "content_checksum": str(checksum),
            "source_checksum": part.source_checksum,
            "published": WRITTEN,
        } | ({"sanitised": changed[part.name]} if part.name in changed else {})
    return {
        "parquet": folder,
        "partition_by": list(relation.partition_by),
        "partitions": entries,
        "partitions_written": sum(e["published"] == WRITTEN for e in entries.values()),
        "partitions_linked": sum(e["published"] == LINKED for e in entries.values()),
    }


def _sum_sanitised(parts: Any) -> dict[str, dict[str, int]]:
    """A table's sanitised counts by column: the sums of its parts'."""
    total: dict[str, dict[str, int]] = {}
    for part in parts:
        for column, counts in part.get("sanitised", {}).items():
            into = total.setdefault(column, dict.fromkeys(counts, 0))
            for key, count in counts.items():
                into[key] = into.get(key, 0) + count
    return total


def _insert_by_part(
    con: duckdb.DuckDBPyConnection, relation: Relation, values: list[tuple[Any, ...]], rows: str
) -> None:
    """Append to the relation's table in bi.duckdb the rows of `rows` (a table of its columns)
    in these parts, one part after the other: the table is stored part by part, so that the
    next publish's delete of a changed part rewrites that part's row groups only, without the
    sort an ORDER BY would cost (at 150 M rows it spills)."""
    for part in values:
        inside = _parts_filter(con, relation, [part], rows, inside=True)
        con.execute(f"insert into bi.{_qualified(relation)} select * from {rows} where {inside}")


def _qualified(relation: Relation) -> str:
    return f"{_ident(relation.schema)}.{_ident(relation.table)}"


def _scratch_name(relation: Relation) -> str:
    return f"{relation.schema}__{relation.table}"


def _scratch(relation: Relation) -> str:
    return f"{SCRATCH_SCHEMA}.{_ident(_scratch_name(relation))}"


def source_checksums(
    con: duckdb.DuckDBPyConnection,
    relations: list[Relation],
    source_columns: dict[tuple[str, str], list[list[str]]],
    storage_version: str = STORAGE_VERSION,
) -> tuple[dict[str, str], dict[str, tuple[int, str]], dict[str, list[Part]]]:
    """Each relation's `source_checksum`, by "schema.table" of the copy: a SHA-256 of its
    row count and sum of DuckDB `hash()` of every row in `src` (one aggregate pass, the same
    whatever the row order), its column names and types (`source_columns`), the docs the
    copy gives it, its partition expressions, and the versions of DuckDB, of the storage
    format and of the publish code. Equal checksums mean that publishing the table again would
    give the same table and the same Parquet file. Also returns each relation's row count and
    hash() sum, which a copy left as it is shares (its `content_checksum`), and the parts of
    each table published by part (the same pass, grouped by the partition expressions; each
    part's `source_checksum` is the table's key with the part's values, rows and sum)."""
    checksums, row_hashes, parts = {}, {}, {}
    for relation in relations:
        name = _name(relation)
        sums = _part_sums(con, relation) if relation.partition_by else None
        if sums is None:
            rows, row_hash_sum = con.execute(
                "select count(*), coalesce(sum(hash(source_row)), 0) "
                f"from {_source(relation)} as source_row"
            ).fetchone()
        else:
            rows = sum(part_rows for _, part_rows, _ in sums)
            row_hash_sum = sum(part_sum for _, _, part_sum in sums)
        shape = {
            "publish_code_version": PUBLISH_CODE_VERSION,
            "duckdb_version": duckdb.__version__,
            "storage_version": storage_version,
            "source": f"{relation.source_schema}.{relation.table}",
            "columns": source_columns[(relation.source_schema, relation.table)],
            "description": relation.description,
            "column_descriptions": relation.columns,
            "empty_reason": relation.empty_reason,
            "partition_by": list(relation.partition_by) if sums is not None else [],
        }
        checksums[name] = _digest(shape | {"rows": int(rows), "row_hash_sum": str(row_hash_sum)})
        row_hashes[name] = (int(rows), str(row_hash_sum))
        if sums is not None:
            parts[name] = [
                Part(
                    part_name(values),
                    values,
                    part_rows,
                    part_sum,
                    _digest(
                        shape
                        | {
                            "partition": [None if v is None else str(v) for v in values],
                            "rows": part_rows,
                            "row_hash_sum": str(part_sum),
                        }
                    ),
                )
                for values, part_rows, part_sum in sums
            ]
    return checksums, row_hashes, parts


def _digest(key: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(key, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _part_sums(
    con: duckdb.DuckDBPyConnection, relation: Relation
) -> list[tuple[tuple[Any, ...], int, int]] | None:
    """(partition values, rows, hash() sum) of each part of a table published by part, in
    one pass; None where a partition expression is NULL on some row (the table is published
    whole) or the parts would share a file name."""
    width = len(relation.partition_by)
    try:
        sums = con.execute(
            f"select {', '.join(relation.partition_by)}, count(*), "
            f"coalesce(sum(hash(source_row)), 0) from {_source(relation)} as source_row "
            f"group by {', '.join(str(i + 1) for i in range(width))}"
        ).fetchall()
    except duckdb.Error as exc:
        raise PublishError(
            f"not published: the partition expression(s) {list(relation.partition_by)} of "
            f"{relation.schema}.{relation.table} ({PARTITION_META_KEY} in its dbt model) "
            f"fail on the working warehouse: {exc}"
        ) from exc
    parts = [(tuple(row[:width]), int(row[width]), int(row[width + 1])) for row in sums]
    names = {part_name(values) for values, _, _ in parts}
    if any(value is None for values, _, _ in parts for value in values) or len(names) < len(parts):
        return None
    return sorted(parts, key=lambda part: part_name(part[0]))


def _source(relation: Relation) -> str:
    return f"src.{_ident(relation.source_schema)}.{_ident(relation.table)}"


def _linkable(
    previous: Path | None, last: dict[str, Any], checksums: dict[str, str]
) -> dict[str, dict[str, Any]]:
    """The entries of `last` (the manifest of `previous`) of the tables whose source checksum
    is the same now and whose Parquet files are still there whole (by size): those are
    linked."""
    if previous is None:
        return {}
    linkable = {}
    for name, info in last.get("tables", {}).items():
        if (
            info.get("source_checksum")
            and info["source_checksum"] == checksums.get(name)
            and all(_intact(previous, entry) for entry in _files(info))
        ):
            linkable[name] = _without_provenance(info)
    if linkable and not (previous / DATABASE_FILE).is_file():
        return {}
    return linkable


def _linkable_parts(
    previous: Path | None, last: dict[str, Any], parts: dict[str, list[Part]], linked: set[str]
) -> dict[str, dict[str, dict[str, Any]]]:
    """For each table published by part and not linked whole: the entries in `last` (the
    manifest of `previous`) of its parts whose source checksum is the same now and whose
    file is still there whole. Tables with no such part are left out."""
    if previous is None or not (previous / DATABASE_FILE).is_file():
        return {}
    before = last.get("tables", {})
    linkable = {}
    for name, table_parts in parts.items():
        old = before.get(name, {}).get("partitions")
        if name in linked or not old:
            continue
        same = {
            part.name: _without_provenance(old[part.name])
            for part in table_parts
            if part.name in old
            and old[part.name].get("source_checksum") == part.source_checksum
            and _intact(previous, old[part.name])
        }
        if same:
            linkable[name] = same
    return linkable


def _files(info: dict[str, Any]) -> list[dict[str, Any]]:
    """The manifest entries that own a Parquet file: the table's, or its parts'."""
    return list(info["partitions"].values()) if "partitions" in info else [info]


def _intact(release: Path, entry: dict[str, Any]) -> bool:
    parquet = release / entry.get("parquet", "")
    return parquet.is_file() and parquet.stat().st_size == entry.get("parquet_bytes")


def _without_provenance(info: dict[str, Any]) -> dict[str, Any]:
    entry = {
        key: value
        for key, value in copy.deepcopy(info).items()
        if key not in ("published", "linked_from", "linked_by")
    }
    for part in entry.get("partitions", {}).values():
        for key in ("published", "linked_from", "linked_by"):
            part.pop(key, None)
    return entry


def _drop_all_but(con: duckdb.DuckDBPyConnection, database: str, keep: set[str]) -> None:
    """Drop every table of `database` (a copy of the previous bi.duckdb) not in `keep`, its
    publish_meta and the schemas left empty; checkpoint, so that the tables written next
    reuse the freed blocks rather than grow the file."""
    db = _ident(database)
    con.execute(f"drop schema if exists {db}.{META_SCHEMA} cascade")
    for schema, table in con.execute(
        "select schema_name, table_name from duckdb_tables() where database_name = ?",
        [database],
    ).fetchall():
        if f"{schema}.{table}" not in keep:
            con.execute(f"drop table {db}.{_ident(schema)}.{_ident(table)}")
    kept_schemas = {name.split(".", 1)[0] for name in keep} | {"main"}
    for (schema,) in con.execute(
        "select schema_name from duckdb_schemas() where database_name = ? and not internal",
        [database],
    ).fetchall():
        if schema not in kept_schemas:
            con.execute(f"drop schema {db}.{_ident(schema)}")  # empty: refused otherwise
    con.execute(f"checkpoint {db}")


def _link(existing: Path, new: Path) -> str:
    """`new` as a hard link to `existing` ("hard link"), or a copy of it ("copy") where the
    file system refuses a link (another device, no link support)."""
    try:
        os.link(existing, new)
        return HARD_LINK
    except OSError:
        shutil.copyfile(existing, new)
        return "copy"


def _name(relation: Relation) -> str:
    return f"{relation.schema}.{relation.table}"


def unlabelled_codes(
    con: duckdb.DuckDBPyConnection, database: str, tables: set[str] | None = None
) -> dict[str, list[str]]:
    """The values of each `CODED_COLUMNS` column of `database` (a published copy) that
    `catalogue.code_labels` has no label for, by "schema.table.column"; columns of tables
    the copy does not hold, or (when given) not among `tables` ("schema.table"), are
    skipped."""
    labels = f"{_ident(database)}.{CATALOGUE_SCHEMA}.{CODE_LABELS_TABLE}"
    present = {
        f"{schema}.{table}.{column}"
        for schema, table, column in con.execute(
            "select schema_name, table_name, column_name from duckdb_columns() "
            "where database_name = ?",
            [database],
        ).fetchall()
    }
    if f"{CATALOGUE_SCHEMA}.{CODE_LABELS_TABLE}.code" not in present:
        return {}
    missing = {}
    for key, domain in sorted(CODED_COLUMNS.items()):
        if key not in present or (tables is not None and key.rsplit(".", 1)[0] not in tables):
            continue
        schema, table, column = (_ident(part) for part in key.split(".", 2))
        codes = con.execute(  # the column's distinct codes first, then the few looked up
            f"select code from (select distinct cast({column} as varchar) as code "
            f"from {_ident(database)}.{schema}.{table} where {column} is not null) as t "
            f"where not exists (select 1 from {labels} as l "
            "where l.domain = ? and l.code = t.code) order by code",
            [domain],
        ).fetchall()
        if codes:
            missing[key] = [code for (code,) in codes]
    return missing


def _comment(con: duckdb.DuckDBPyConnection, relation: Relation, rows: int) -> str:
    """COMMENT ON the table and its described columns in bi; returns the table's comment
    (with the reason it is empty, when it is)."""
    name = f"bi.{_ident(relation.schema)}.{_ident(relation.table)}"
    description = relation.description
    if rows == 0 and relation.empty_reason:
        description = f"{description} Empty in this release: {relation.empty_reason}".strip()
    if description:
        con.execute(f"comment on table {name} is {_literal(description)}")
    for (column,) in con.execute(
        "select column_name from duckdb_columns() where database_name = 'bi' "
        "and schema_name = ? and table_name = ? order by column_index",
        [relation.schema, relation.table],
    ).fetchall():
        if text := relation.columns.get(column.lower()):
            con.execute(f"comment on column {name}.{_ident(column)} is {_literal(text)}")
    return description


def _bi_relations(
    con: duckdb.DuckDBPyConnection,
    dbt_manifest: dict[str, Any],
    analytics_docs: dict[str, TableDocs],
) -> list[Relation]:
    """The dbt BI nodes and every analytics table, all present in src, with their docs. A
    mart may be a view in src (loyalty_indicator_catalogue): the copy holds it as a table."""
    present = {
        (schema, table)
        for schema, table in con.execute(
            "select schema_name, table_name from duckdb_tables() where database_name = 'src'"
        ).fetchall()
    }
    views = {
        (schema, view)
        for schema, view in con.execute(
            "select schema_name, view_name from duckdb_views() where database_name = 'src'"
        ).fetchall()
    }
    nodes = bi_dbt_nodes(dbt_manifest)
    missing = [
        f"{node['schema']}.{node['alias']}"
        for node in nodes
        if (node["schema"], node["alias"]) not in present | views
    ]
    if missing:
        raise PublishError(
            "not published: these BI tables of the dbt manifest are missing from the working "
            f"warehouse (build them first): {', '.join(missing)}"
        )
    relations = [
        Relation(
            node["schema"],
            published_schema(node),
            node["alias"],
            *node_docs(node),
            partition_by=node_partition_by(node),
        )
        for node in nodes
    ]
    for schema, table in sorted(present):
        if schema == ANALYTICS_SCHEMA:
            docs = analytics_docs.get(table, TableDocs("", {}))
            columns = {name.lower(): text for name, text in docs.columns.items() if text}
            relations.append(
                Relation(schema, schema, table, docs.description, columns, docs.empty_reason)
            )
    seen: dict[tuple[str, str], Relation] = {}
    for relation in relations:
        key = (relation.schema, relation.table)
        if key in seen and seen[key].source_schema != relation.source_schema:
            raise PublishError(f"not published: two tables would be {key[0]}.{key[1]}")
        seen[key] = relation
    return sorted(seen.values(), key=lambda relation: (relation.schema, relation.table))


def _source_columns(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], list[list[str]]]:
    """Every table's [column, type] pairs in `src`, in order, by (schema, table): one query
    for all, as duckdb_columns() reads every attached catalogue."""
    columns: dict[tuple[str, str], list[list[str]]] = {}
    for schema, table, column, data_type in con.execute(
        "select schema_name, table_name, column_name, data_type from duckdb_columns() "
        "where database_name = 'src' order by schema_name, table_name, column_index"
    ).fetchall():
        columns.setdefault((schema, table), []).append([column, data_type])
    return columns


def _refuse_personal_data(
    relations: list[Relation], source_columns: dict[tuple[str, str], list[list[str]]]
) -> None:
    problems = []
    for relation in relations:
        columns = [name for name, _ in source_columns[(relation.source_schema, relation.table)]]
        problems += [
            f"{relation.schema}.{relation.table}.{c}" for c in personal_data_columns(columns)
        ]
    if problems:
        raise PublishError(
            "not published: personal data in clear (METRICS I1) in column(s) "
            f"{', '.join(problems)}; publish a *_hash or *_masked form instead"
        )


def reserved_words(con: duckdb.DuckDBPyConnection) -> frozenset[str]:
    """DuckDB's reserved keywords: a column named so must be quoted in every query."""
    return frozenset(
        row[0]
        for row in con.execute(
            "select keyword_name from duckdb_keywords() where keyword_category = 'reserved'"
        ).fetchall()
    )


def _refuse_reserved_words(
    con: duckdb.DuckDBPyConnection,
    relations: list[Relation],
    source_columns: dict[tuple[str, str], list[list[str]]],
) -> None:
    reserved = reserved_words(con)
    problems = [
        f"{relation.schema}.{relation.table}.{column}"
        for relation in relations
        for column, _ in source_columns[(relation.source_schema, relation.table)]
        if column.lower() in reserved
    ]
    if problems:
        raise PublishError(
            "not published: column(s) named by a reserved SQL word, which every BI query "
            f"would have to quote: {', '.join(problems)}; rename them"
        )


def _refuse_unexplained_empty(con: duckdb.DuckDBPyConnection, relations: list[Relation]) -> None:
    """An analytics table with no row is published only when its asset said why it may be
    empty (`TableDocs.empty_reason`); a dbt table's emptiness is dbt's tests' business."""
    problems = [
        f"{relation.schema}.{relation.table}"
        for relation in relations
        if relation.source_schema == ANALYTICS_SCHEMA
        and not relation.empty_reason
        and con.execute(f"select count(*) from {_source(relation)}").fetchone()[0] == 0
    ]
    if problems:
        raise PublishError(
            f"not published: empty analytics table(s) {', '.join(problems)} whose asset gives "
            "no reason why they may be empty (declare it, see orchestration/assets/publish.py)"
        )


def sanitise_text(
    con: duckdb.DuckDBPyConnection,
    database: str,
    relations: list[tuple[str, str]],
    by_part: dict[tuple[str, str], str] | None = None,
) -> dict[str, dict[str, Any]]:
    """Make the text columns of the copy in `database` safe for people and spreadsheets,
    in place (the working warehouse and raw keep the original), and count what changed:

    - personal data typed into any text (a phone, an e-mail or a Chinese ID-card number in
      a customer's name, a note, a code) is masked where it stands, the rest of the value
      kept: `张伟 13812345678 zhang.wei@gmail.com` -> `张伟 138****5678 z***@gmail.com`
      (orchestration/pii.py, `mask_personal_data`);
    - a value that begins with =, +, -, @, tab or carriage return, and is not a plain number,
      gets a leading apostrophe, so that no spreadsheet runs it as a formula
      (`neutralise_formula`); `-12.5` stays a number.

    Returns {"schema.table.column": {"personal_data_masked": n, "formula_neutralised": m}}
    for the columns where something changed. For a (schema, table) in `by_part` (its partition
    expressions, comma-separated), each such entry also has `by_part`: the same counts by
    tuple of partition values.

    Each text column is read once, grouped by value: the patterns run on its distinct
    values, not on every row, and a column with nothing to change is not updated. Only the
    values `PERSONAL_DATA_SQL_FILTER` keeps go to Python.
    """
    changed: dict[str, dict[str, Any]] = {}
    for schema, table in relations:
        name = f"{_ident(database)}.{_ident(schema)}.{_ident(table)}"
        group = (by_part or {}).get((schema, table))
        columns = con.execute(
            "select column_name from duckdb_columns() where database_name = ? "
            "and schema_name = ? and table_name = ? and data_type = 'VARCHAR' "
            "order by column_index",
            [database, schema, table],
        ).fetchall()
        for (column,) in columns:
            col = _ident(column)
            flagged = _flagged_text(con, name, column)
            masks = [
                (old, new)
                for old, is_candidate, _ in flagged
                if is_candidate and (new := pii.mask_personal_data(old)) != old
            ]
            masked = neutralised = 0
            parts: dict[tuple[Any, ...], dict[str, int]] = {}
            if masks:
                con.execute("create or replace temp table _masks (old varchar, new varchar)")
                con.executemany("insert into _masks values (?, ?)", masks)
                if group:
                    _count_by_part(
                        con,
                        f"{name} as t join _masks on t.{col} = _masks.old",
                        group,
                        parts,
                        "personal_data_masked",
                    )
                masked = con.execute(
                    f"update {name} as t set {col} = _masks.new from _masks "
                    f"where t.{col} = _masks.old"
                ).fetchone()[0]
                con.execute("drop table _masks")
            if masks or any(is_formula for _, _, is_formula in flagged):
                if group:
                    formula_rows = pii.FORMULA_SQL_CONDITION.format(column=col)
                    _count_by_part(
                        con, f"{name} where {formula_rows}", group, parts, "formula_neutralised"
                    )
                neutralised = con.execute(
                    f"update {name} set {col} = '''' || {col} "
                    f"where {pii.FORMULA_SQL_CONDITION.format(column=col)}"
                ).fetchone()[0]
            if masked or neutralised:
                changed[f"{schema}.{table}.{column}"] = {
                    "personal_data_masked": int(masked),
                    "formula_neutralised": int(neutralised),
                } | ({"by_part": parts} if group else {})
    return changed


def _count_by_part(
    con: duckdb.DuckDBPyConnection,
    rows: str,
    group: str,
    parts: dict[tuple[Any, ...], dict[str, int]],
    what: str,
) -> None:
    """Add to `parts` the number of `rows` (a FROM clause) in each part, as `what`."""
    width = len(con.execute(f"select {group} from {rows} limit 0").description)
    keys = ", ".join(str(i + 1) for i in range(width))
    for row in con.execute(f"select {group}, count(*) from {rows} group by {keys}").fetchall():
        counts = parts.setdefault(
            tuple(row[:width]), {"personal_data_masked": 0, "formula_neutralised": 0}
        )
        counts[what] += int(row[width])


def _describe(
    con: duckdb.DuckDBPyConnection,
    schema: str,
    table: str,
    row_hashes: tuple[int, str] | None = None,
) -> dict[str, Any]:
    """Row count, content checksum, column types and Parquet path of one published table;
    `row_hashes` (rows, hash() sum) when they are known already, read from the copy if not."""
    rows, checksum = (
        row_hashes
        or con.execute(
            "select count(*), coalesce(sum(hash(published_row)), 0) "
            f"from bi.{_ident(schema)}.{_ident(table)} as published_row"
        ).fetchone()
    )
    columns = con.execute(
        "select column_name, data_type from duckdb_columns() where database_name = 'bi' "
        "and schema_name = ? and table_name = ? order by column_index",
        [schema, table],
    ).fetchall()
    return {
        "rows": int(rows),
        "content_checksum": str(checksum),
        "columns": dict(columns),
        "parquet": f"{PARQUET_DIR}/{schema}/{table}.parquet",
    }


# The publish_meta tables' own descriptions, so that they are described like every other.
META_DOCS = {
    "release": (
        "The release this copy is: one row.",
        {
            "release_id": "The release's directory name under releases/ (UTC time and run id).",
            "run_id": "The Dagster run that published it.",
            "as_of": "The reporting date the marts were built for.",
            "published_at": "When the release was published (UTC).",
        },
    ),
    "tables": (
        "Every published table with its row count and content checksum (manifest.json has "
        "the Parquet checksums too).",
        {
            "table_schema": "The table's schema in this copy.",
            "table_name": "The table's name.",
            "row_count": "Rows in the table.",
            "content_checksum": "Sum of DuckDB hash() of every row (order-independent; compare "
            "within one DuckDB version).",
            "empty_reason": "Why the table is empty, when it is and its asset said why.",
        },
    ),
}


def _write_publish_meta(
    con: duckdb.DuckDBPyConnection, release: dict[str, Any], tables: dict[str, dict[str, Any]]
) -> None:
    """The release facts inside bi.duckdb too, so that a BI tool can show which release and
    as_of date it reads: publish_meta.release (one row) and publish_meta.tables."""
    con.execute(f"create schema bi.{META_SCHEMA}")
    con.execute(
        f"create table bi.{META_SCHEMA}.release as select ? as release_id, ? as run_id, "
        "cast(? as date) as as_of, cast(? as timestamptz) as published_at",
        [release["release"], release["run_id"], release["as_of"], release["published_at"]],
    )
    con.execute(
        f"create table bi.{META_SCHEMA}.tables (table_schema varchar, table_name varchar, "
        "row_count bigint, content_checksum varchar, empty_reason varchar)"
    )
    rows = [
        [*key.split(".", 1), t["rows"], t["content_checksum"], t.get("empty_reason")]
        for key, t in tables.items()
    ]
    con.execute(  # one statement: executemany runs one insert per table
        f"insert into bi.{META_SCHEMA}.tables select unnest(?), unnest(?), unnest(?), "
        "unnest(?), unnest(?)",
        [list(column) for column in zip(*rows, strict=True)] if rows else [[]] * 5,
    )
    for table, (description, columns) in META_DOCS.items():
        _comment(con, Relation(META_SCHEMA, META_SCHEMA, table, description, columns), 1)


def _remove_leftovers(target: Path, keep: int) -> None:
    """Delete every release outside the last `keep` published ones (the chain of
    `previous_release` from `current`), unfinished builds and stray temporary links."""
    kept: set[str] = set()
    release = current_release(target)
    while release is not None and len(kept) < keep and (release / MANIFEST_FILE).exists():
        kept.add(release.name)
        previous = read_manifest(release).get("previous_release")
        release = target / RELEASES_DIR / previous if previous else None
    for entry in (target / RELEASES_DIR).iterdir():
        if entry.name not in kept:
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
    for entry in target.iterdir():
        if entry.name.startswith(TMP_PREFIX) and entry.is_symlink():
            entry.unlink()


@contextlib.contextmanager
def _publish_lock(target: Path) -> Iterator[None]:
    """One publish at a time per directory; the OS drops the lock when a publish is killed."""
    with open(target / LOCK_FILE, "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise PublishError(f"another publish into {target} is running") from exc
        yield


def _replace_link(link: Path, points_to: str) -> None:
    """Point `link` at `points_to` atomically: a new symlink renamed over the old one."""
    temporary = link.with_name(f"{TMP_PREFIX}{link.name}-{os.getpid()}")
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()
    os.symlink(points_to, temporary)
    os.replace(temporary, link)


def _ensure_link(link: Path, points_to: str) -> None:
    if not (link.is_symlink() and os.readlink(link) == points_to):
        _replace_link(link, points_to)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _safe(run_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9-]", "", run_id)[:36] or "run"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
