"""End to end: generated landing files → Dagster ingestion → dbt → Python asset, on a temp DuckDB.

Every assertion compares the warehouse with an independent computation from the files.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from dagster import AssetKey

from orchestration.churn import ALERT_RISK
from orchestration.concentration import concentration
from orchestration.contract import TABLES
from orchestration.settings import ROOT
from tests.conftest import CUSTOMERS


def csv_rows(path: Path) -> int:
    with path.open(newline="", encoding="utf-8") as fh:
        return sum(1 for _ in csv.reader(fh)) - 1


@pytest.mark.slow
def test_both_runs_succeed(built):
    assert built["first"].success
    assert built["second"].success


@pytest.mark.slow
def test_raw_row_counts_equal_the_files(built):
    with duckdb.connect(built["database"], read_only=True) as con:
        for t in TABLES:
            [path] = (built["landing"] / t.name).glob("*.csv")
            expected = csv_rows(path)
            assert expected > 0, t.name
            assert con.execute(f"select count(*) from raw.{t.name}").fetchone()[0] == expected
            quarantined = con.execute(f"select count(*) from raw_quarantine.{t.name}")
            assert quarantined.fetchone()[0] == 0, t.name


@pytest.mark.slow
def test_second_run_loads_nothing_twice(built):
    with duckdb.connect(built["database"], read_only=True) as con:
        for t in TABLES:
            count = con.execute(f"select count(*) from raw.{t.name}").fetchone()[0]
            assert count == built["counts_after_first"][t.name], t.name
        statuses = con.execute(
            "select status, count(*) from raw_meta.load_ledger group by 1 order by 1"
        ).fetchall()
    assert statuses == [("loaded", len(TABLES))]


@pytest.mark.slow
def test_staging_keys_are_unique(built):
    with duckdb.connect(built["database"], read_only=True) as con:
        for t in TABLES:
            model = f"stg_{t.source}__{t.name}"
            key = ", ".join(t.key)
            total, distinct = con.execute(
                f"select count(*), count(distinct ({key})) from {model}"
            ).fetchone()
            assert total == distinct == built["counts_after_first"][t.name], model


@pytest.mark.slow
def test_dim_customers_has_every_generated_customer(built):
    with duckdb.connect(built["database"], read_only=True) as con:
        assert con.execute("select count(*) from dim_customers").fetchone()[0] == CUSTOMERS
        columns = {r[0] for r in con.execute("describe dim_customers").fetchall()}
    assert not columns & {"contact_name", "phone", "email", "manager_name"}


@pytest.mark.slow
def test_concentration_matches_pandas_on_the_landing_files(built):
    landing = built["landing"]
    customers = pd.read_csv(next((landing / "customers").glob("*.csv")), dtype=str)
    orders = pd.read_csv(next((landing / "orders").glob("*.csv")), dtype={"customer_id": str})
    rates = pd.read_csv(ROOT / "seeds" / "fx_rates.csv").set_index("currency")["rate_to_cny"]
    orders["amount_cny"] = orders["amount"] * orders["currency"].map(rates)
    with duckdb.connect(built["database"], read_only=True) as con:
        row = con.execute(
            "select customers, top_n_share_rate, herfindahl_index, revenue_cny, as_of_on "
            "from analytics.customer_concentration"
        ).fetchone()
    # trailing-12-month net revenue: the 365 days up to as_of (customer_value's window)
    ordered_on = pd.to_datetime(orders["ordered_on"]).dt.date
    in_window = (ordered_on > row[4] - dt.timedelta(days=365)) & (ordered_on <= row[4])
    revenue = (
        orders[in_window]
        .groupby("customer_id")["amount_cny"]
        .sum()
        .reindex(customers["customer_id"], fill_value=0.0)
    )
    expected = concentration(revenue)
    assert row[0] == CUSTOMERS
    assert row[1] == pytest.approx(expected["top_n_share_rate"], rel=1e-9)
    assert row[2] == pytest.approx(expected["herfindahl_index"], rel=1e-9)
    assert row[3] == pytest.approx(expected["revenue_cny"], rel=1e-9)
    assert 0 < row[1] < 1


def test_lineage_from_every_raw_table_to_the_python_asset():
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    for t in TABLES:
        stg = AssetKey(f"stg_{t.source}__{t.name}")
        assert AssetKey(["raw", t.name]) in graph.get(stg).parent_keys, stg
    dim = graph.get(AssetKey("dim_customers"))
    assert AssetKey("stg_crm__customers") in dim.parent_keys
    conc = graph.get(AssetKey(["analytics", "customer_concentration"]))
    assert AssetKey("customer_concentration_summary") in conc.parent_keys
    # ingestion assets wait for the tables they reference
    assert AssetKey(["raw", "customers"]) in graph.get(AssetKey(["raw", "orders"])).parent_keys


def test_definitions_name_every_job_and_asset_group():
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    groups = {graph.get(k).group_name for k in graph.get_all_asset_keys()}
    assert {"ingestion", "staging", "marts", "value"} <= groups
    assert defs.resolve_job_def("full_refresh") is not None


@pytest.mark.slow
def test_no_personal_data_outside_raw(built):
    """METRICS I1: names, phones and e-mails of contacts and managers appear in clear only in
    the raw schemas. Every text column of every other relation is scanned for them."""
    with duckdb.connect(built["database"], read_only=True) as con:
        con.execute(
            "create temp table pii as "
            "select contact_name as v from raw.contacts union select phone from raw.contacts "
            "union select email from raw.contacts union select manager_name "
            "from raw.account_managers"
        )
        assert con.execute("select count(*) from pii where v is not null").fetchone()[0] > 0
        columns = con.execute(
            "select table_schema, table_name, column_name from information_schema.columns "
            "where table_schema not in ('raw', 'raw_quarantine', 'raw_meta') "
            "and table_catalog <> 'temp' and data_type = 'VARCHAR'"
        ).fetchall()
        assert columns
        leaks = []
        for schema, name, column in columns:
            hits = con.execute(
                f'select count(*) from "{schema}"."{name}" t '
                f'where t."{column}" in (select v from pii)'
            ).fetchone()[0]
            if hits:
                leaks.append(f"{schema}.{name}.{column}: {hits}")
    assert leaks == []


@pytest.mark.slow
def test_retention_counts_match_the_spine_and_formulas(built):
    """B1/B2/B4 company rows recomputed in pandas from the customer-month spine: each customer
    in one box of the bridge by its status at the month's start and end (retained, lost, new:
    never active before, won back: lapsed at the start), so start − lost + new + won back =
    end, and B1 = retained / start."""
    with duckdb.connect(built["database"], read_only=True) as con:
        spine = con.execute("select * from int_customer_months").df()
        retention = con.execute(
            "select * from loyalty_retention where slice_type = 'company' "
            "and period_grain = 'month' order by period_start_on"
        ).df()
        indicators = con.execute(
            "select indicator_variant, value from loyalty_indicators where indicator_code = "
            "'B1' and slice_type = 'company' and period_grain = 'month' "
            "and period_start_on = (select max(period_start_on) from loyalty_retention)"
        ).df()
    start, end = spine["was_active_at_start"], spine["is_active"]
    lapsed = ~start & spine["has_churned_before"]
    spine = spine.assign(
        new=~start & end & ~lapsed, won_back=~start & end & lapsed, lost=start & ~end
    )
    by_month = spine.groupby("month_start_on").agg(
        start=("was_active_at_start", "sum"),
        end=("is_active", "sum"),
        new=("new", "sum"),
        won_back=("won_back", "sum"),
        lost=("lost", "sum"),
        churned=("is_churned", "sum"),
        acquired=("is_new", "sum"),
    )
    merged = retention.set_index("period_start_on").join(by_month)
    assert len(merged) > 12
    assert (merged["customers_at_start"] == merged["start"]).all()
    assert (merged["customers_at_end"] == merged["end"]).all()
    assert (merged["customers_new"] == merged["new"]).all()
    assert (merged["customers_won_back"] == merged["won_back"]).all()
    assert (merged["customers_lost"] == merged["lost"]).all()
    assert (merged["customers_lost"] == merged["churned"]).all()  # a month's loss is its churn
    assert (merged["customers_acquired"] == merged["acquired"]).all()
    assert (
        merged["start"] - merged["lost"] + merged["new"] + merged["won_back"] == merged["end"]
    ).all()
    # a month starts with the customers the previous month ended with
    assert (
        merged["customers_at_start"].iloc[1:].to_numpy()
        == merged["customers_at_end"].iloc[:-1].to_numpy()
    ).all()
    retained = merged["end"] - merged["new"] - merged["won_back"]
    expected = retained / merged["start"].where(merged["start"] > 0)
    assert np.allclose(merged["retention_rate"], expected, equal_nan=True)
    assert merged["retention_rate"].dropna().between(0, 1).all()
    last = merged.iloc[-1]
    last_retained = last["end"] - last["new"] - last["won_back"]
    b1 = dict(zip(indicators["indicator_variant"], indicators["value"], strict=True))
    assert b1["standard"] == pytest.approx(last_retained / last["start"])
    assert b1["seed_002"] == pytest.approx(last_retained / last["end"])
    # churn happens in the generated firm, and is neither absent nor total
    assert 0 < merged["churn_rate"].iloc[12:].mean() < 0.2


@pytest.mark.slow
def test_clv_tables_are_complete_and_finite(built):
    """Every customer has a finite CLV inside its interval; equity adds up to the customers."""
    with duckdb.connect(built["database"], read_only=True) as con:
        clv = con.execute("select * from analytics.customer_clv").df()
        equity = con.execute(
            "select * from analytics.customer_equity where slice_type = 'company'"
        ).df()
        industries = con.execute(
            "select sum(equity_cny) from analytics.customer_equity where slice_type = 'industry'"
        ).fetchone()[0]
        fits = con.execute("select distinct model from analytics.clv_model_fits").df()
    assert len(clv) == CUSTOMERS and clv["customer_id"].is_unique
    values = clv[["clv_cny", "clv_lower_cny", "clv_upper_cny", "seed_clv_cny"]]
    assert np.isfinite(values.to_numpy(float)).all()
    assert (clv["clv_lower_cny"] <= clv["clv_cny"] + 1e-6).all()
    assert (clv["clv_cny"] <= clv["clv_upper_cny"] + 1e-6).all()
    assert clv["p_alive"].dropna().between(0, 1).all()
    assert equity["equity_cny"].iloc[0] == pytest.approx(clv["clv_cny"].sum())
    assert industries == pytest.approx(clv["clv_cny"].sum())
    assert {"bgnbd", "paretonbd", "gammagamma"} <= set(fits["model"])


@pytest.mark.slow
def test_the_publish_matches_its_manifest_and_holds_no_staging(built):
    published = Path(built["database"]).parent / "published"
    manifest = json.loads((published / "manifest.json").read_text())
    with duckdb.connect(str(published / "bi.duckdb"), read_only=True) as con:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema not in ('publish_meta')"
        ).fetchall()
        names = {f"{schema}.{name}" for schema, name in tables}
        for key, entry in manifest["tables"].items():
            count = con.execute(f"select count(*) from {key}").fetchone()[0]
            assert count == entry["rows"], key
    assert {"main.loyalty_indicators", "analytics.customer_clv", "main.customer_facts"} <= names
    assert not [n for n in names if n.split(".")[1].startswith(("stg_", "int_"))]
    assert not [n for n in names if n.startswith("raw")]


@pytest.mark.slow
def test_the_report_is_written_in_both_languages(built):
    reports = Path(built["database"]).parent / "reports"
    zh = (reports / "loyalty_report_zh.html").read_text(encoding="utf-8")
    en = (reports / "loyalty_report_en.html").read_text(encoding="utf-8")
    assert "<svg" in zh and "<svg" in en
    assert "客户" in zh and "customer" in en.lower()


@pytest.mark.slow
def test_churn_early_warning_is_ranked_and_explained(built):
    with duckdb.connect(built["database"], read_only=True) as con:
        warning = con.execute("select * from analytics.churn_early_warning").df()
        methods = con.execute("select distinct method from analytics.early_warning_backtest").df()[
            "method"
        ]
    assert len(warning) > 0 and warning["customer_id"].is_unique
    assert warning["risk"].between(0, 1).all()
    assert sorted(warning["rank"]) == list(range(1, len(warning) + 1))
    ranked = warning.sort_values("rank")
    lost = ranked["is_lost_by_activity_rule"]
    assert not (lost.to_numpy()[:-1] & ~lost.to_numpy()[1:]).any()  # the lost come last
    for _, group in ranked.groupby(lost):
        assert group["value_at_risk"].dropna().is_monotonic_decreasing
    assert warning["reason_1"].notna().any()
    assert warning.loc[warning["risk"] >= ALERT_RISK, "reason_1"].notna().all()
    assert (warning["activity_window_days"] == 365).all()
    assert set(warning["value_basis"]) <= {"clv_margin_cny", "clv_cny"}
    assert not [c for c in warning.columns if "name" in c or "phone" in c or "email" in c]
    if len(methods):  # two closed windows are needed for a backtest
        assert {"recency_baseline", "model_gbm", "model_logistic"} <= set(methods)


@pytest.mark.slow
def test_renewal_book_is_published_and_ties_to_the_contracts(built):
    """Every contract not terminated ending in the next 365 days is in the book once, in the
    bucket of its days to end, with its customer's risk; and BI gets the table."""
    with duckdb.connect(built["database"], read_only=True) as con:
        book = con.execute("select * from analytics.renewal_book").df()
        as_of = pd.Timestamp(book["as_of"].iloc[0]) if len(book) else None
        expected = con.execute(
            """select count(*), sum(contract_value_cny) from fct_contracts
               where lower(status) <> 'terminated' and start_on <= ?
                 and end_on > ? and end_on <= ? + interval 365 day""",
            [as_of, as_of, as_of],
        ).fetchone()
        risk = con.execute("select customer_id, risk from analytics.churn_early_warning").df()
    assert len(book) == expected[0] > 0 and book["contract_id"].is_unique
    assert book["contract_value_cny"].sum() == pytest.approx(float(expected[1]))
    bucket = pd.cut(book["days_to_end"], [0, 90, 180, 365], labels=["0-90", "91-180", "181-365"])
    assert (book["renewal_bucket"] == bucket.astype(str)).all()
    joined = book.merge(risk, on="customer_id", how="left")
    np.testing.assert_allclose(joined["churn_risk"], joined["risk"])
    published = Path(built["database"]).parent / "published" / "bi.duckdb"
    with duckdb.connect(str(published), read_only=True) as con:
        assert con.execute("select count(*) from analytics.renewal_book").fetchone()[0] == len(book)
