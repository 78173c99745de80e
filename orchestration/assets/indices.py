"""Composite indices as warehouse assets: H1 loyalty, H2 customer value, H3 management level,
their weights (H5) and backtest, the segments (H6) and the extra revenue of loyal customers
(F10). The tables are computed by `orchestration.indices.tables` (pure pandas, its docstring
gives the choices); this module reads their inputs from the warehouse, calls
`compute_tables` and writes `analytics.*` with their metadata.

Inputs: the dbt model `features_customer_index_inputs`, `dim_customers` and
`dim_account_managers` (current account manager and team), the loyalty-survey answers of
`fct_survey_answers` and, for F7, the CLV of `analytics.customer_clv` (only as of as_of).
`WH_INDEX_WEIGHTING` = expert (default) | entropy | critic | ahp picks the weighting of the
published scores.
"""

import datetime as dt
from importlib import import_module

import pandas as pd
from dagster import (
    AssetCheckResult,
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    MaterializeResult,
    MetadataValue,
    ResourceParam,
    TableColumn,
    TableSchema,
    asset_check,
    multi_asset,
)
from dagster_dbt import get_asset_key_for_model
from dagster_duckdb import DuckDBResource

from ..fitcache import (
    FIT_COLUMN_DOCS,
    FitCache,
    code_version,
    fingerprint,
    period_of,
    refit_requested,
    with_fit_columns,
)
from ..indices.tables import COLUMN_DOCS as TABLE_COLUMN_DOCS
from ..indices.tables import (
    INDICATOR_COLUMNS,
    MIN_REFERENCE_CUSTOMERS,
    TABLES,
    WINDOW_COLUMNS,
    IndexInputs,
    IndexReferences,
    IndexSettings,
    as_date,
    compute_tables,
)
from ..relations import table_exists
from ..settings import Settings
from ._io import ANALYTICS_SCHEMA, write_analytics_table
from .dbt import relation_name, warehouse_dbt_assets
from .publish import bi_metadata

GROUP = "indices"
INPUT_MODELS = (
    "features_customer_index_inputs",
    "dim_customers",
    "dim_account_managers",
    "fct_survey_answers",
)
CLV_TABLE = "customer_clv"
SCORE_COLUMNS = ("loyalty_index_pct", "value_index_pct", "survey_loyalty_index_pct")

# Why a table may be empty; the publish step refuses an empty table without one.
EMPTY_REASONS = {
    "segment_migration": "no previous 12-month window with "
    f"{MIN_REFERENCE_CUSTOMERS}+ customers (the data start less than two years before as_of), "
    "so no customer can be seen moving between segments.",
    "index_backtest": "no backtest window: a quarter-end window is backtested once the 12 "
    "months after it have ended by as_of, which needs more history than the data hold.",
}


# The tables of what the indices learn from earlier windows (the references' weights, the
# backtest): they say when and on what it was learnt (FIT_COLUMN_DOCS).
FITTED_TABLES = ("index_weights", "index_backtest")
# The modules whose code makes the references: a change to any of them learns them again.
FIT_MODULES = tuple(
    f"orchestration.indices.{m}"
    for m in ("aggregate", "definitions", "normalise", "segments", "tables", "weights")
)


# Every table's columns and their descriptions, the fit columns included.
COLUMN_DOCS = {
    name: docs | (FIT_COLUMN_DOCS if name in FITTED_TABLES else {})
    for name, docs in TABLE_COLUMN_DOCS.items()
}


def reference_data_query() -> str:
    """The rows the references and the backtest learn from: every window but the current
    one (the previous window, the backtest windows and theirs), without what depends on the
    day (the next window of the previous one is the current window, still open)."""
    indicators = ", ".join(INDICATOR_COLUMNS.values())
    return f"""
        select
            customer_id, window_end_month_on, window_start_on, window_end_on,
            is_previous_window, is_backtest_window, is_backtest_reference_window,
            active_at_end_flag, active_at_start_flag, churned_in_window_flag,
            active_in_window_flag, {indicators},
            case when is_backtest_window then next_window_active_flag end as next_active,
            case when is_backtest_window then next_window_net_revenue_cny end as next_revenue
        from {relation_name("features_customer_index_inputs")}
        where not is_current_window
    """


def index_settings(settings: Settings) -> IndexSettings:
    """IndexSettings with the weighting of `settings.index_weighting` (WH_INDEX_WEIGHTING,
    default expert; checked by `Settings.from_env`)."""
    return IndexSettings(weighting=settings.index_weighting)


def read_clv(con, as_of_on: dt.date) -> tuple[pd.Series | None, str | None]:
    """CLV per customer from analytics.customer_clv if it exists and is as of `as_of_on`;
    otherwise None and the reason."""
    if not table_exists(con, f"{ANALYTICS_SCHEMA}.{CLV_TABLE}"):
        return None, f"{ANALYTICS_SCHEMA}.{CLV_TABLE} does not exist"
    clv = con.execute(
        f"select customer_id, clv_cny, as_of from {ANALYTICS_SCHEMA}.{CLV_TABLE}"
    ).df()
    dates = {d.date() for d in pd.to_datetime(clv["as_of"]).dropna()}
    if dates != {as_of_on}:
        return None, f"{ANALYTICS_SCHEMA}.{CLV_TABLE} is as of {sorted(dates)}, not {as_of_on}"
    return clv.set_index("customer_id")["clv_cny"].astype(float), None


def read_inputs(con) -> tuple[IndexInputs, list[str]]:
    """IndexInputs from the warehouse, and notes on what was missing."""
    windows = con.execute(
        f"select {', '.join(WINDOW_COLUMNS)} from {relation_name('features_customer_index_inputs')}"
    ).df()
    managers = con.execute(
        f"""select c.customer_id, c.current_manager_id, m.team
            from {relation_name("dim_customers")} c
            left join {relation_name("dim_account_managers")} m
                on c.current_manager_id = m.manager_id"""
    ).df()
    current = windows.loc[windows["is_current_window"].astype(bool)]
    if current.empty:
        raise ValueError("int_customer_index_inputs has no current window (is the spine empty?)")
    start = as_date(current["window_start_on"].min())
    end = as_date(current["window_end_on"].max())
    answers = con.execute(
        f"""select
                customer_id,
                score_of_max_pct * scale_max / 100.0 as score,
                scale_max
            from {relation_name("fct_survey_answers")}
            where survey_kind = 'loyalty' and submitted_on between ? and ?""",
        [start, end],
    ).df()
    clv, reason = read_clv(con, end)
    inputs = IndexInputs(
        windows=windows,
        managers=managers.set_index("customer_id")["current_manager_id"],
        teams=managers.set_index("customer_id")["team"],
        loyalty_answers=answers,
        clv=clv,
    )
    return inputs, [] if reason is None else [reason]


def _column_type(series: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(series):
        return "boolean"
    if pd.api.types.is_integer_dtype(series):
        return "bigint"
    if pd.api.types.is_float_dtype(series):
        return "double"
    if len(series.dropna()) and isinstance(series.dropna().iloc[0], dt.date):
        return "date"
    return "string"


def _column_schema(name: str, frame: pd.DataFrame) -> TableSchema:
    return TableSchema(
        columns=[
            TableColumn(column, type=_column_type(frame[column]), description=text)
            for column, text in COLUMN_DOCS[name].items()
        ]
    )


def _metadata(name: str, frame: pd.DataFrame, settings: IndexSettings, notes: list[str]) -> dict:
    metadata = {
        "rows": len(frame),
        "weighting": settings.weighting,
        "dagster/column_schema": _column_schema(name, frame),
    }
    if name == "customer_indices":
        for prefix in ("loyalty", "value"):
            metadata[f"{prefix}_index_mean"] = float(frame[f"{prefix}_index_pct"].mean())
            counts = frame[f"{prefix}_band"].value_counts()
            for label in ("red", "yellow", "green"):
                metadata[f"{prefix}_{label}"] = int(counts.get(label, 0))
        metadata["notes"] = MetadataValue.md("\n".join(f"- {n}" for n in notes) or "none")
    if name == "index_weights":
        ahp = frame.loc[frame["weighting_method"] == "ahp"]
        for code, ratio in ahp.groupby("index_code")["consistency_ratio"].first().items():
            metadata[f"ahp_consistency_ratio_{code}"] = float(ratio)
    if name == "index_backtest" and len(frame):
        metadata["results"] = MetadataValue.md(frame.to_markdown(index=False))
    return metadata


@multi_asset(
    specs=[
        AssetSpec(
            [ANALYTICS_SCHEMA, name],
            group_name=GROUP,
            kinds={"python", "pandas", "duckdb"},
            description=description,
            metadata=bi_metadata(COLUMN_DOCS[name], EMPTY_REASONS.get(name)),
            deps=[
                *(get_asset_key_for_model([warehouse_dbt_assets], m) for m in INPUT_MODELS),
                AssetKey([ANALYTICS_SCHEMA, CLV_TABLE]),
            ],
        )
        for name, description in TABLES.items()
    ],
)
def index_assets(
    context: AssetExecutionContext, duckdb: DuckDBResource, settings: ResourceParam[Settings]
):
    index = index_settings(settings)
    with duckdb.get_connection() as con:
        inputs, notes = read_inputs(con)
        # references: refitted at the cadence WH_INDEX_REFIT (monthly: the month of as_of)
        as_of_on = as_date(
            inputs.windows.loc[
                inputs.windows["is_current_window"].astype(bool), "window_end_on"
            ].max()
        )
        key = f"{period_of(as_of_on, settings.index_refit_cadence)}|{index}"
        version = code_version([import_module(m) for m in FIT_MODULES])
        cache = FitCache(con, refit=refit_requested(context.run.tags, settings.refit_all))
        found = cache.lookup(
            "indices", key, version, lambda _: fingerprint(con, [reference_data_query()])
        )
    kept, info = (None, None) if found is None else (IndexReferences.from_parts(found[0]), found[1])
    tables = compute_tables(inputs, index, kept)
    if info is None:
        with duckdb.get_connection() as con:
            info = FitCache(con).store(
                "indices",
                key,
                version,
                fingerprint(con, [reference_data_query()]),
                as_of_on,
                as_of_on,
                f"reference window to {tables.references.reference_end or 'none (its own)'}; "
                "backtest windows to "
                + (
                    ", ".join(sorted({str(d) for d in tables.index_backtest["window_end_on"]}))
                    or "none"
                ),
                tables.references.parts(),
            )
    notes = notes + tables.notes
    for note in notes:
        context.log.info(note)
    with duckdb.get_connection() as con:
        for name, frame in tables.frames().items():
            if name in FITTED_TABLES:
                frame = with_fit_columns(frame, info)
            write_analytics_table(con, name, frame)
            yield MaterializeResult(
                asset_key=[ANALYTICS_SCHEMA, name],
                metadata=_metadata(name, frame, index, notes),
            )


def index_check_counts(con) -> dict[str, int]:
    """Problems in the written tables: scores outside [0, 100], coverage outside [0, 1],
    NaN or infinite values in any double column BI reads, and (index, method) pairs whose
    weights do not sum to 1."""
    scores = " or ".join(f"{c} < 0 or {c} > 100" for c in SCORE_COLUMNS)
    coverage = " or ".join(
        f"{c} < 0 or {c} > 1" for c in ("loyalty_coverage_rate", "value_coverage_rate")
    )
    counts = {
        "scores_outside_0_100": con.execute(
            f"select count(*) from {ANALYTICS_SCHEMA}.customer_indices where {scores}"
        ).fetchone()[0],
        "coverage_outside_0_1": con.execute(
            f"select count(*) from {ANALYTICS_SCHEMA}.customer_indices where {coverage}"
        ).fetchone()[0],
        "management_level_outside_0_100": con.execute(
            f"select count(*) from {ANALYTICS_SCHEMA}.management_level "
            "where management_level_pct < 0 or management_level_pct > 100"
        ).fetchone()[0],
        "weight_sums_not_1": con.execute(
            f"""select count(*) from (
                    select index_code, weighting_method
                    from {ANALYTICS_SCHEMA}.index_weights
                    group by index_code, weighting_method
                    having abs(sum(weight) - 1) > 1e-6 or min(weight) < 0
                ) as bad"""
        ).fetchone()[0],
    }
    for table in ("customer_indices", "management_level", "index_weights"):
        doubles = [
            row[0]
            for row in con.execute(
                "select column_name from information_schema.columns where table_schema = ? "
                "and table_name = ? and data_type in ('DOUBLE', 'FLOAT')",
                [ANALYTICS_SCHEMA, table],
            ).fetchall()
        ]
        condition = " or ".join(f"isnan({c}) or isinf({c})" for c in doubles) or "false"
        counts[f"not_finite_{table}"] = con.execute(
            f"select count(*) from {ANALYTICS_SCHEMA}.{table} where {condition}"
        ).fetchone()[0]
    return counts


@asset_check(
    asset=AssetKey([ANALYTICS_SCHEMA, "customer_indices"]),
    blocking=True,
    description="Index sanity: H1, H2 and the survey index within [0, 100] or null, coverage "
    "within [0, 1], H3 within [0, 100], no NaN or infinite value in the index tables, and the "
    "weights of every index and method summing to 1. Blocking: a failing index is never "
    "published.",
)
def customer_indices_are_sane(duckdb: DuckDBResource) -> AssetCheckResult:
    with duckdb.get_connection() as con:
        counts = index_check_counts(con)
    return AssetCheckResult(passed=not any(counts.values()), metadata=counts)


INDEX_ASSETS = [index_assets, customer_indices_are_sane]
