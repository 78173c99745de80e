"""CDNOW through the whole pipeline: landing drop → ingestion → dbt → CLV assets.

`CDNOW_sample.txt` becomes a customers and an orders file; the warehouse runs with
as_of = 1997-09-30 and a weekly time unit, and must reproduce the published calibration
summary exactly, the 2,457 / 1,882 repeat-transaction split and the published parameters.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from orchestration.settings import ROOT

SHARED = ROOT.parent / "shared" / "data" / "cdnow"
AS_OF = "1997-09-30"
HOLDOUT_END = "1998-06-30"


def cdnow_transactions() -> pd.DataFrame:
    if not (SHARED / "CDNOW_sample.txt").exists():
        pytest.fail(f"reference data missing: {SHARED} (../shared must sit beside the repo)")
    return pd.read_csv(
        SHARED / "CDNOW_sample.txt",
        sep=r"\s+",
        header=None,
        names=["master_id", "customer", "date", "cds", "amount"],
        dtype={"date": str},
    )


def write_landing(landing: Path) -> None:
    """One drop with the CDNOW customers and their purchases (amounts in CNY, as given)."""
    tx = cdnow_transactions()
    tx["customer_id"] = tx["customer"].map(lambda n: f"CD{n:04d}")
    tx["ordered_on"] = pd.to_datetime(tx["date"], format="%Y%m%d").dt.date
    first = tx.groupby("customer_id")["ordered_on"].min()
    (landing / "customers").mkdir(parents=True)
    (landing / "orders").mkdir(parents=True)
    with (landing / "customers" / "1998-07-01.csv").open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(
            [
                "customer_id",
                "customer_name",
                "industry",
                "province",
                "region",
                "city",
                "size_band",
                "acquired_on",
                "acquisition_channel",
                "acquisition_cost",
            ]
        )
        for customer_id, acquired_on in first.items():
            out.writerow(
                [
                    customer_id,
                    f"CDNOW {customer_id}",
                    "retail",
                    "上海",
                    "east",
                    "上海",
                    "small",
                    acquired_on.isoformat(),
                    "online",
                    "",
                ]
            )
    with (landing / "orders" / "1998-07-01.csv").open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(
            [
                "order_id",
                "customer_id",
                "ordered_on",
                "amount",
                "currency",
                "product_line",
                "is_credit_note",
                "contract_id",
            ]
        )
        for i, row in enumerate(tx.itertuples(index=False), start=1):
            out.writerow(
                [
                    f"CDO{i:05d}",
                    row.customer_id,
                    row.ordered_on.isoformat(),
                    f"{row.amount:.2f}",
                    "CNY",
                    "software",
                    "false",
                    "",
                ]
            )


@pytest.fixture(scope="module")
def cdnow_warehouse(tmp_path_factory) -> str:
    tmp = tmp_path_factory.mktemp("cdnow")
    landing, database = tmp / "landing", tmp / "warehouse.duckdb"
    write_landing(landing)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WH_DUCKDB_PATH", str(database))
        mp.setenv("WH_LANDING_DIR", str(landing))
        mp.setenv("WH_AS_OF", AS_OF)
        mp.setenv(
            "WH_DBT_VARS", json.dumps({"clv_time_unit": "weeks", "clv_holdout_end": HOLDOUT_END})
        )
        from orchestration.definitions import build_definitions

        result = (
            build_definitions(str(database))
            .resolve_job_def("full_refresh")
            .execute_in_process(raise_on_error=False)
        )
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    return str(database)


@pytest.mark.slow
def test_the_summary_equals_the_published_file(cdnow_warehouse):
    with duckdb.connect(cdnow_warehouse, read_only=True) as con:
        got = con.execute(
            "select customer_id, frequency_x, recency_t_x, age_t, mean_repeat_spend_cny "
            "from customer_clv_inputs order by customer_id"
        ).df()
    published = pd.read_csv(SHARED / "cdnow_customers_summary_with_transactions.csv")
    assert len(got) == len(published) == 2357
    got["ID"] = got["customer_id"].str[2:].astype(int)
    merged = published.merge(got, on="ID", validate="one_to_one")
    assert (merged["x"] == merged["frequency_x"]).all()
    assert (merged["t_x"] == merged["recency_t_x"].round(2)).all()
    assert (merged["T"] == merged["age_t"].round(2)).all()
    # the file rounds half up from exact cents; 22.345 is 22.3449999… as a float
    spend = merged["mean_repeat_spend_cny"].fillna(0)
    assert ((merged["zbar"] - spend).abs() <= 0.005 + 1e-9).all()


@pytest.mark.slow
def test_repeat_transactions_split_calibration_and_holdout(cdnow_warehouse):
    with duckdb.connect(cdnow_warehouse, read_only=True) as con:
        calibration, holdout, repeaters = con.execute(
            "select sum(frequency_x), sum(holdout_frequency), "
            "count(*) filter (where frequency_x >= 1) from customer_clv_inputs"
        ).fetchone()
    assert (calibration, holdout, repeaters) == (2457, 1882, 946)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("model", "published"),
    [
        ("bgnbd", {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}),
        ("paretonbd", {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}),
    ],
)
def test_the_warehouse_fits_reproduce_the_published_parameters(cdnow_warehouse, model, published):
    """analytics.clv_model_fits, fitted by the CLV asset on customer_clv_inputs, to 3 decimals."""
    with duckdb.connect(cdnow_warehouse, read_only=True) as con:
        fits = con.execute(
            "select parameter, estimate from analytics.clv_model_fits where model = ?", [model]
        ).fetchall()
    assert {name: round(value, 3) for name, value in fits} == published


@pytest.mark.slow
def test_the_warehouse_spend_model_reproduces_the_published_estimates(cdnow_warehouse):
    """Gamma-Gamma on the 946 repeat buyers: p = 6.25, q = 3.74, gamma = 15.44 (published to
    two decimals)."""
    with duckdb.connect(cdnow_warehouse, read_only=True) as con:
        fits = dict(
            con.execute(
                "select parameter, estimate from analytics.clv_model_fits "
                "where model = 'gammagamma'"
            ).fetchall()
        )
        n = con.execute(
            "select distinct n from analytics.clv_model_fits where model = 'gammagamma'"
        ).fetchone()[0]
    assert n == 946
    assert {k: round(v, 2) for k, v in fits.items()} == {"p": 6.25, "q": 3.74, "gamma": 15.44}
