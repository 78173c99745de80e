"""Refit on a cadence, score daily (orchestration/fitcache.py): the cache itself, the CLV
parameters and index references kept exactly, and the churn, CLV and index assets on a copy
of the 300-customer firm: a
second day reuses the fit (no fit called: counted with a spy), a new cutoff or week, changed
training data, a new code version and a full refresh fit again, and a day that reuses a fit
publishes what a fresh fit of the same data publishes."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import types
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from dagster import materialize
from dagster_duckdb import DuckDBResource

from orchestration import fitcache
from orchestration.assets import churn as churn_asset
from orchestration.assets import clv as clv_asset
from orchestration.assets import indices as index_asset
from orchestration.assets.dbt import relation_name
from orchestration.clv import warehouse as wh
from orchestration.fitcache import FitCache, cached_fit, fingerprint, period_of
from orchestration.indices import tables as index_tables
from orchestration.settings import Settings, SettingsError
from tests.test_clv_robust import cdnow  # noqa: F401 (the published CDNOW summary, a fixture)
from tests.test_indices_assets import SETTINGS as INDEX_SETTINGS
from tests.test_indices_assets import synthetic_inputs

# --- the cache --------------------------------------------------------------------------


def test_periods_by_hand():
    """2026-12-06 is a Sunday: the last day of ISO week 49; the Monday after starts week 50.
    ISO weeks cross years: 2026-12-31 (a Thursday) is in 2026-W53, 2027-01-04 in 2027-W01."""
    assert period_of(dt.date(2026, 12, 6), "daily") == "2026-12-06"
    assert period_of(dt.date(2026, 12, 6), "weekly") == "2026-W49"
    assert period_of(dt.date(2026, 12, 7), "weekly") == "2026-W50"
    assert period_of(dt.date(2026, 12, 31), "weekly") == "2026-W53"
    assert period_of(dt.date(2027, 1, 3), "weekly") == "2026-W53"
    assert period_of(dt.date(2027, 1, 4), "weekly") == "2027-W01"
    assert period_of(dt.date(2026, 12, 31), "monthly") == "2026-12"
    with pytest.raises(ValueError, match="hourly"):
        period_of(dt.date(2026, 12, 6), "hourly")


def test_cadences_from_the_environment():
    fields = ("churn_refit_cadence", "clv_refit_cadence", "index_refit_cadence")
    assert [getattr(Settings.from_env({}), f) for f in fields] == ["monthly", "weekly", "monthly"]
    assert Settings.from_env({"WH_CLV_REFIT": "Daily"}).clv_refit_cadence == "daily"
    with pytest.raises(SettingsError, match="WH_CLV_REFIT"):
        Settings.from_env({"WH_CLV_REFIT": "yearly"})


def test_refit_requested_by_tag_or_setting():
    assert not fitcache.refit_requested({})
    assert fitcache.refit_requested({fitcache.REFIT_TAG: "true"})
    assert fitcache.refit_requested({}, refit_all=True)
    assert Settings.from_env({"WH_FULL_REFRESH": "1"}).refit_all


def test_code_version_follows_the_source(tmp_path):
    source = tmp_path / "fitting.py"
    source.write_text("RATE = 1\n")
    module = types.SimpleNamespace(__file__=str(source))
    first = fitcache.code_version([module])
    assert fitcache.code_version([module]) == first
    assert fitcache.code_version([module], extra=["scikit-learn 9"]) != first
    source.write_text("RATE = 2\n")
    assert fitcache.code_version([module]) != first


def test_fingerprint_is_order_free_and_sees_every_change():
    con = duckdb.connect()
    con.execute(
        "create table orders as select * from (values (1, date '2026-01-02', 10.0), "
        "(2, date '2026-01-05', 20.0), (2, date '2026-01-05', 20.0)) t(id, day, amount)"
    )
    query = ["select id, day, amount from orders"]
    base = fingerprint(con, query)
    assert fingerprint(con, ["select * from orders order by amount desc, id"]) == base
    con.execute("update orders set amount = 20.5 where id = 1")
    changed = fingerprint(con, query)
    assert changed != base
    # a duplicate row counts: removing one of the two equal rows changes the fingerprint
    con.execute("create table deduplicated as select distinct * from orders")
    assert fingerprint(con, ["select id, day, amount from deduplicated"]) != changed


def test_encode_keeps_tables_parameters_and_estimators_exactly():
    table = pd.DataFrame(
        {
            "cutoff": pd.to_datetime(["2025-01-01", "2025-07-01"]),
            "method": ["model_gbm", "recency_baseline"],
            "n": np.array([10, 12], dtype="int64"),
            "auc": [0.1 + 0.2, np.nan],
            "is_chosen": [True, False],
        }
    )
    pd.testing.assert_frame_equal(fitcache.decode(*fitcache.encode(table)), table)
    params = {"r": 0.1 + 0.2, "inf": float("inf"), "note": None}
    assert fitcache.encode(params)[0] == "json"
    assert fitcache.decode(*fitcache.encode(params)) == params
    form, data = fitcache.encode(np.array([1.5, 2.5]))
    assert form == "pickle"
    assert fitcache.decode(form, data).tolist() == [1.5, 2.5]


def test_the_cache_reuses_only_the_same_key_version_and_data():
    con = duckdb.connect()
    con.execute("create table rows as select range as id, range * 1.5 as x from range(10)")

    def fingerprint_through(day: dt.date) -> str:
        return fingerprint(con, [f"select * from rows where id <= {day.day}"])

    fits = []

    def run(key="2026-W49", version="v1", refit=False, through=dt.date(2026, 12, 5)):
        def fit():
            fits.append(key)
            return {"alpha": 2.0 + len(fits)}

        return cached_fit(
            FitCache(con, refit=refit),
            model="clv",
            key=key,
            version=version,
            data_through=through,
            fingerprint_through=fingerprint_through,
            fitted_as_of=through,
            fitted_on=f"rows to {through}",
            fit=fit,
            dump=lambda value: {"params": value},
            load=lambda parts: parts["params"],
        )

    first, info = run()
    assert (first, info.reused_from_cache, len(fits)) == ({"alpha": 3.0}, False, 1)
    again, info_again = run(through=dt.date(2026, 12, 6))  # the next day: the kept fit
    assert (again, info_again.reused_from_cache, len(fits)) == ({"alpha": 3.0}, True, 1)
    assert (info_again.fitted_at, info_again.fitted_as_of) == (info.fitted_at, dt.date(2026, 12, 5))
    assert info_again.fitted_on == "rows to 2026-12-05"
    con.execute("insert into rows values (8, 99.0)")  # a row after the fit's day: reused
    assert run()[1].reused_from_cache
    con.execute("update rows set x = -1 where id = 3")  # a row the fit learnt from: refit
    assert not run()[1].reused_from_cache and len(fits) == 2
    assert run(version="v2")[0] == {"alpha": 5.0}  # new code version
    assert run(key="2026-W50")[0] == {"alpha": 6.0}  # new week
    assert run(key="2026-W50", refit=True)[0] == {"alpha": 7.0}  # full refresh
    assert run(key="2026-W50")[0] == {"alpha": 7.0}
    # one fit per model is kept
    assert con.execute(f"select count(*) from {fitcache.CACHE_TABLE}").fetchone()[0] == 1


# --- CLV parameters kept exactly --------------------------------------------------------


def _contracts() -> pd.DataFrame:
    """Forty renewal chains of one-year contracts on two product lines: chain i renews i % 4
    times; the chains with i % 3 == 0 stopped, the others still run at as_of."""
    rows = []
    for i in range(40):
        renewals = i % 4
        last_start = pd.Timestamp("1997-06-01") - pd.DateOffset(years=renewals)
        if i % 3 == 0:
            last_start -= pd.DateOffset(years=1)
        for k in range(renewals + 1):
            start = last_start - pd.DateOffset(years=renewals - k)
            rows.append(
                {
                    "contract_id": f"K{i}-{k}",
                    "customer_id": f"CD{i + 1}",
                    "product_line": "support" if i % 2 else "hosting",
                    "start_on": start,
                    "end_on": start + pd.DateOffset(years=1) - pd.Timedelta(days=1),
                    "contract_value_cny": 1200.0 + 10 * i,
                    "renewal_of": f"K{i}-{k - 1}" if k else None,
                    "status": "expired",
                }
            )
    return pd.DataFrame(rows)


def _value(summary: pd.DataFrame, fitted: wh.ClvFits | None = None) -> wh.ClvResult:
    customers = pd.DataFrame(
        {
            "customer_id": summary["customer_id"],
            "acquisition_cost_cny": 0.0,
            "revenue_12m_cny": summary["calibration_spend_cny"],
            "is_live": True,
        }
    )
    return wh.compute(
        summary,
        pd.DataFrame(columns=["customer_id", "ordered_on", "amount"]),
        _contracts(),
        customers,
        "1997-09-30",
        0.3,
        wh.ClvSettings(draws=50),
        {"support": 0.6},
        fitted=fitted,
    )


def _kept(fits: wh.ClvFits) -> wh.ClvFits:
    """The fits as the cache gives them back: through JSON bytes."""
    parts = {k: fitcache.decode(*fitcache.encode(v)) for k, v in fits.parts().items()}
    assert json.dumps(parts)  # nothing but JSON
    return wh.ClvFits.from_parts(parts)


@pytest.mark.parametrize("spend", ["estimated", "not_estimable"])
def test_clv_from_kept_parameters_equals_a_fresh_fit(cdnow, spend, monkeypatch):  # noqa: F811
    """Valuing with the kept fits of the same data gives every published number of a fresh
    fit, to the last bit, without calling a single fit."""
    summary = cdnow.copy()
    if spend == "not_estimable":  # fewer than 10 positive repeat spends: no Gamma-Gamma
        repeaters = summary.index[summary["frequency_x"] > 0]
        summary.loc[repeaters[5:], "mean_repeat_spend_cny"] = 0.0
    fresh = _value(summary)
    assert {"all", "support"} <= set(fresh.model_fits.contracts)  # sBG pooled and per line
    assert (fresh.model_fits.spend is None) == (spend == "not_estimable")
    kept = _kept(fresh.model_fits)

    def no_fit(*args, **kwargs):
        raise AssertionError("a fit was called although the parameters were given")

    for name in ("fit_purchase_models", "choose_purchase_model", "fit_contract_cohorts"):
        monkeypatch.setattr(wh, name, no_fit)
    monkeypatch.setattr(wh.gammagamma, "fit", no_fit)
    reused = _value(summary, kept)
    pd.testing.assert_frame_equal(reused.fits, fresh.fits)
    pd.testing.assert_frame_equal(reused.customers, fresh.customers)
    pd.testing.assert_frame_equal(reused.cash_flows, fresh.cash_flows)
    assert reused.notes == fresh.notes
    assert reused.model_fits.parts() == fresh.model_fits.parts()


# --- index references kept exactly ------------------------------------------------------


def test_indices_from_kept_references_equal_fresh_ones(monkeypatch):
    """Scoring with the kept references (through Parquet and JSON) publishes every table a
    fresh computation publishes, without running the backtest again."""
    inputs = synthetic_inputs()
    fresh = index_tables.compute_tables(inputs, INDEX_SETTINGS)
    references = fresh.references
    assert references.reference is not None and len(references.backtest)
    parts = {k: fitcache.decode(*fitcache.encode(v)) for k, v in references.parts().items()}
    kept = index_tables.IndexReferences.from_parts(parts)

    def no_backtest(*args, **kwargs):
        raise AssertionError("the backtest ran although it was kept")

    monkeypatch.setattr(index_tables, "backtest", no_backtest)
    reused = index_tables.compute_tables(inputs, INDEX_SETTINGS, kept)
    for name, frame in fresh.frames().items():
        pd.testing.assert_frame_equal(reused.frames()[name], frame)
    # the reference is kept, not the scores: another day's indicators score on the kept scale
    moved = synthetic_inputs()
    moved.windows.loc[moved.windows["is_previous_window"].astype(bool), "complaint_count"] += 5
    on_kept = index_tables.compute_tables(moved, INDEX_SETTINGS, kept)
    pd.testing.assert_frame_equal(
        on_kept.frames()["index_weights"], fresh.frames()["index_weights"]
    )


# --- the assets on a copy of the 300-customer firm --------------------------------------


@pytest.fixture
def warehouse(built_warehouse, tmp_path) -> str:
    """A copy of the end-to-end firm's warehouse, without the fits its runs kept."""
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(built_warehouse, copy)
    with duckdb.connect(str(copy)) as con:
        con.execute(f"drop table if exists {fitcache.CACHE_TABLE}")
    return str(copy)


@pytest.fixture
def fit_counts(monkeypatch) -> dict[str, int]:
    """Counts of the churn and CLV fits actually run (spies around the fit functions)."""
    counts = {"churn": 0, "clv": 0, "indices": 0}
    fit_churn, fit_contract_cohorts = churn_asset.fit_churn, wh.fit_contract_cohorts
    index_backtest = index_tables.backtest

    def churn_spy(*args, **kwargs):
        counts["churn"] += 1
        return fit_churn(*args, **kwargs)

    def clv_spy(*args, **kwargs):  # once per CLV fit (the purchase models: twice)
        counts["clv"] += 1
        return fit_contract_cohorts(*args, **kwargs)

    def index_spy(*args, **kwargs):  # once per fit of the index references
        counts["indices"] += 1
        return index_backtest(*args, **kwargs)

    monkeypatch.setattr(churn_asset, "fit_churn", churn_spy)
    monkeypatch.setattr(wh, "fit_contract_cohorts", clv_spy)
    monkeypatch.setattr(index_tables, "backtest", index_spy)
    for name in ("WH_CHURN_REFIT", "WH_CLV_REFIT", "WH_INDEX_REFIT", "WH_FULL_REFRESH"):
        monkeypatch.delenv(name, raising=False)
    return counts


@pytest.fixture
def dbt(dbt_subprocess, tmp_path):
    """A function: build the marts the assets read (features_churn, customer_facts and what
    they depend on) for `as_of`, unless the warehouse was last built for that day."""

    def build(database: str, as_of: dt.date) -> None:
        with duckdb.connect(database, read_only=True) as con:
            built = con.execute(
                f"select max(as_of_on) from {relation_name('customer_facts')}"
            ).fetchone()[0]
        if built == as_of:
            return
        result = dbt_subprocess(
            ["run", "--quiet", "--full-refresh", "--select", "+features_churn", "+customer_facts",
             "--vars", json.dumps({"as_of": as_of.isoformat()})],
            Path(database),
            tmp_path,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout[-3000:]

    return build


def _run(database: str, dbt, as_of: dt.date, monkeypatch, tags: dict | None = None) -> dict:
    """Build dbt for `as_of` and materialise the CLV, churn and index assets (which take
    as_of from the build); their tables, read back."""
    dbt(database, as_of)
    result = materialize(
        [clv_asset.clv_assets, churn_asset.churn_assets, index_asset.index_assets],
        resources={"duckdb": DuckDBResource(database=database), "settings": Settings.from_env()},
        tags=tags,
    )
    assert result.success
    with duckdb.connect(database, read_only=True) as con:
        return {
            name: con.execute(f"select * from analytics.{name}").df()
            for name in (
                "clv_model_fits",
                "customer_clv",
                "churn_early_warning",
                "early_warning_backtest",
                "early_warning_reliability",
                "index_weights",
                "customer_indices",
            )
        }


def _days(today: dt.date) -> tuple[dt.date, dt.date, dt.date]:
    """A day five weeks back, the next day (same ISO week, same month, same churn cutoffs)
    and a day 35 days earlier (another week and other cutoffs)."""
    day = today - dt.timedelta(days=35)
    while not (
        day.weekday() < 6
        and (day + dt.timedelta(days=1)).month == day.month
        and (day + dt.timedelta(days=1) - dt.timedelta(days=180)).month
        == (day - dt.timedelta(days=180)).month
    ):
        day -= dt.timedelta(days=1)
    return day, day + dt.timedelta(days=1), day - dt.timedelta(days=35)


def _published(frame: pd.DataFrame) -> pd.DataFrame:
    """A table without the column that says whether the fit was reused."""
    return frame.drop(columns="reused_from_cache")


def test_a_second_day_reuses_and_new_cutoffs_data_code_or_full_refresh_refit(
    warehouse, dbt, fit_counts, monkeypatch
):
    day, next_day, earlier = _days(dt.date.today())
    first = _run(warehouse, dbt, day, monkeypatch)
    assert fit_counts == {"churn": 1, "clv": 1, "indices": 1}
    fits = first["clv_model_fits"]
    assert (fits["fitted_as_of"] == pd.Timestamp(day)).all()
    assert not fits["reused_from_cache"].any()
    assert first["early_warning_backtest"]["fitted_on"].str.startswith("cutoffs ").all()

    # the same day again: nothing fitted, every table as the fresh fit published it
    same = _run(warehouse, dbt, day, monkeypatch)
    assert fit_counts == {"churn": 1, "clv": 1, "indices": 1}
    for name, frame in same.items():
        if "reused_from_cache" in frame:
            assert frame["reused_from_cache"].all()
            frame, fresh = _published(frame), _published(first[name])
        else:
            fresh = first[name]
        pd.testing.assert_frame_equal(frame, fresh, check_dtype=False)

    # the next day: scored daily from the kept parameters and model
    second = _run(warehouse, dbt, next_day, monkeypatch)
    assert fit_counts == {"churn": 1, "clv": 1, "indices": 1}
    fits_then = first["clv_model_fits"].set_index(["model", "cohort", "parameter"])
    fits_now = second["clv_model_fits"].set_index(["model", "cohort", "parameter"])
    pd.testing.assert_series_equal(fits_now["estimate"], fits_then["estimate"])
    assert (fits_now["fitted_as_of"] == pd.Timestamp(day)).all()
    assert (fits_now["as_of"] == pd.Timestamp(next_day)).all()
    assert (second["churn_early_warning"]["fitted_as_of"] == pd.Timestamp(day)).all()
    assert (second["churn_early_warning"]["as_of"] == pd.Timestamp(next_day)).all()
    assert second["churn_early_warning"]["reused_from_cache"].all()

    # another week and other cutoffs: churn and CLV fitted again (the index windows, from
    # dbt, are those of the same month)
    _run(warehouse, dbt, earlier, monkeypatch)
    assert fit_counts == {"churn": 2, "clv": 2, "indices": 1}
    _run(warehouse, dbt, earlier, monkeypatch)
    assert fit_counts == {"churn": 2, "clv": 2, "indices": 1}

    # a corrected drop rewrites invoices both fits learnt from, and a reference customer's
    # complaints: all fitted again
    with duckdb.connect(warehouse) as con:
        con.execute(
            "update fct_orders set amount_cny = amount_cny + 1 "
            "where ordered_on = (select min(ordered_on) from fct_orders)"
        )
        con.execute(
            "update features_churn set invoice_day_count = invoice_day_count + 1 "
            "where not is_scoring_cutoff and customer_key = (select min(customer_key) "
            "from features_churn where not is_scoring_cutoff)"
        )
        con.execute(
            "update features_customer_index_inputs set complaint_count = complaint_count + 1 "
            "where is_previous_window and customer_id = (select min(customer_id) "
            "from features_customer_index_inputs where is_previous_window)"
        )
    _run(warehouse, dbt, earlier, monkeypatch)
    assert fit_counts == {"churn": 3, "clv": 3, "indices": 2}

    # a new version of the churn fitting code: the churn model fitted again
    monkeypatch.setattr(
        churn_asset, "FIT_MODULES", (*churn_asset.FIT_MODULES, "orchestration.fitcache")
    )
    _run(warehouse, dbt, earlier, monkeypatch)
    assert fit_counts == {"churn": 4, "clv": 3, "indices": 2}

    # full refresh (the tag of the full_refresh job), or WH_FULL_REFRESH in any job
    _run(warehouse, dbt, earlier, monkeypatch, tags={fitcache.REFIT_TAG: "true"})
    assert fit_counts == {"churn": 5, "clv": 4, "indices": 3}
    monkeypatch.setenv("WH_FULL_REFRESH", "1")
    _run(warehouse, dbt, earlier, monkeypatch)
    assert fit_counts == {"churn": 6, "clv": 5, "indices": 4}


def test_a_daily_cadence_refits_every_day(warehouse, dbt, fit_counts, monkeypatch):
    day, next_day, _ = _days(dt.date.today())
    monkeypatch.setenv("WH_CLV_REFIT", "daily")
    monkeypatch.setenv("WH_CHURN_REFIT", "daily")
    _run(warehouse, dbt, day, monkeypatch)
    _run(warehouse, dbt, next_day, monkeypatch)
    assert fit_counts == {"churn": 2, "clv": 2, "indices": 1}
