"""Issue 16 through the whole pipeline (landing drop -> ingestion -> dbt -> CLV assets) on a
tiny firm built to be checked by hand:

- 40 consulting customers (45 % margin in the seed) buying now and then, with credit notes
  among the repeat buyers, one customer whose credit note exceeds her purchases, and two
  repeat buyers (Z01, Z02) whose repeat invoices are all worth 0.00;
- 12 software contract customers (70 % margin): 12,000 a year, billed by twelve monthly
  invoices of 1,000 that carry the contract_id; 4 leave after 2023, 2 after 2024, 6 still
  hold a contract for 2025;
- as_of 2025-12-31, the default horizon (60 months) and rate (10 %).
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from orchestration.contract import table

pytestmark = pytest.mark.slow

AS_OF = dt.date(2025, 12, 31)
START = dt.date(2023, 1, 1)
CONTRACT_VALUE = 12_000.0
MARGIN = {"consulting": 0.45, "software": 0.70}
# The drops' headers are the landing contract's columns, in its order.
CUSTOMER_COLUMNS, ORDER_COLUMNS, CONTRACT_COLUMNS = (
    [column.name for column in table(name).columns] for name in ("customers", "orders", "contracts")
)


def tiny_firm() -> tuple[list[dict], list[dict], list[dict]]:
    rng = np.random.default_rng(16)
    customers, orders, contracts = [], [], []

    def order(customer: str, day: dt.date, amount: float, line: str, contract: str = ""):
        orders.append(
            {
                "order_id": f"O{len(orders) + 1:05d}",
                "customer_id": customer,
                "ordered_on": day.isoformat(),
                "amount": f"{amount:.2f}",
                "currency": "CNY",
                "product_line": line,
                "is_credit_note": "true" if amount < 0 else "false",
                "contract_id": contract,
            }
        )

    def customer(customer_id: str, acquired: dt.date):
        customers.append(
            {
                "customer_id": customer_id,
                "customer_name": f"Firm {customer_id}",
                "industry": "manufacturing",
                "province": "江苏",
                "region": "east",
                "city": "苏州",
                "size_band": "medium",
                "acquired_on": acquired.isoformat(),
                "acquisition_channel": "direct_sales",
                "acquisition_cost": "",
            }
        )

    for i in range(1, 41):
        cid = f"T{i:02d}"
        first = START + dt.timedelta(days=int(rng.integers(0, 300)))
        lifetime = int(rng.integers(150, 1500))
        customer(cid, first)
        day = first
        while day <= min(AS_OF, first + dt.timedelta(days=lifetime)):
            amount = round(float(rng.gamma(4.0, 500.0)) + 100, 2)
            order(cid, day, amount, "consulting")
            if rng.random() < 0.15:
                order(cid, day + dt.timedelta(days=10), -round(amount * 0.3, 2), "consulting")
            day += dt.timedelta(days=int(rng.exponential(70)) + 1)
    # her credit note exceeds what she bought: a net-negative customer
    customer("N01", dt.date(2025, 3, 1))
    order("N01", dt.date(2025, 3, 1), 500.0, "consulting")
    order("N01", dt.date(2025, 4, 1), 200.0, "consulting")
    order("N01", dt.date(2025, 5, 1), -900.0, "consulting")
    # zero-value repeat invoices (free items): the real export that switched CLV off
    for cid in ("Z01", "Z02"):
        customer(cid, dt.date(2024, 6, 1))
        order(cid, dt.date(2024, 6, 1), 3000.0, "consulting")
        order(cid, dt.date(2025, 6, 1), 0.0, "consulting")
        order(cid, dt.date(2025, 11, 1), 0.0, "consulting")
    for i in range(1, 13):
        cid = f"K{i:02d}"
        customer(cid, START)
        years = 1 if i <= 4 else 2 if i <= 6 else 3
        previous = ""
        for year in range(years):
            contract_id = f"{cid}-{2023 + year}"
            last = year == years - 1
            contracts.append(
                {
                    "contract_id": contract_id,
                    "customer_id": cid,
                    "product_line": "software",
                    "start_on": dt.date(2023 + year, 1, 1).isoformat(),
                    "end_on": dt.date(2023 + year, 12, 31).isoformat(),
                    "contract_value": f"{CONTRACT_VALUE:.2f}",
                    "currency": "CNY",
                    "renewal_of": previous,
                    "status": ("active" if 2023 + year == 2025 else "expired")
                    if last
                    else "renewed",
                }
            )
            for month in range(1, 13):
                order(cid, dt.date(2023 + year, month, 1), 1000.0, "software", contract_id)
            previous = contract_id
    return customers, orders, contracts


def write(path: Path, columns: list[str], rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


@pytest.fixture(scope="module")
def firm(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("tiny_firm")
    landing, database = tmp / "landing", tmp / "warehouse.duckdb"
    customers, orders, contracts = tiny_firm()
    drop = "2026-01-01.csv"
    write(landing / "customers" / drop, CUSTOMER_COLUMNS, customers)
    write(landing / "orders" / drop, ORDER_COLUMNS, orders)
    write(landing / "contracts" / drop, CONTRACT_COLUMNS, contracts)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WH_DUCKDB_PATH", str(database))
        mp.setenv("WH_LANDING_DIR", str(landing))
        mp.setenv("WH_AS_OF", AS_OF.isoformat())
        mp.delenv("WH_DBT_VARS", raising=False)
        from orchestration.definitions import build_definitions

        result = (
            build_definitions(str(database))
            .resolve_job_def("full_refresh")
            .execute_in_process(raise_on_error=False)
        )
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    return {
        "database": str(database),
        "orders": pd.DataFrame(orders),
        "checks": checks,
    }


def query(firm: dict, sql: str) -> pd.DataFrame:
    with duckdb.connect(firm["database"], read_only=True) as con:
        return con.execute(sql).df()


def test_zero_value_invoices_and_credit_notes_leave_a_fitted_spend_model(firm):
    fits = query(firm, "select * from analytics.clv_model_fits where model = 'gammagamma'")
    assert set(fits["status"]) == {"fitted"}
    clv = query(firm, "select * from analytics.customer_clv").set_index("customer_id")
    zero = clv.loc[["Z01", "Z02"]]
    assert (zero["spend_basis"] == "population_mean_non_positive_spend").all()
    assert (zero["clv_margin_cny"] > 0).all()
    valued = clv[
        clv["is_live"] & ((clv["spend_basis"] != "no_purchase") | (clv["open_contracts"] > 0))
    ]
    assert len(valued) >= 30
    assert (valued["clv_margin_cny"] > 0).all()
    assert firm["checks"]["customer_clv_is_sane"].passed
    assert firm["checks"]["customer_equity_is_plausible"].passed


def test_contract_billed_orders_are_left_to_the_contract_model(firm):
    inputs = query(firm, "select customer_id from customer_clv_inputs")
    assert not inputs["customer_id"].str.startswith("K").any()
    clv = query(firm, "select * from analytics.customer_clv").set_index("customer_id")
    assert (clv.loc[[f"K{i:02d}" for i in range(1, 13)], "transactional_clv_cny"] == 0).all()


def test_contract_value_over_the_same_horizon_on_margin_by_hand(firm):
    """K07-K12 hold their third contract (2 renewals made); the DERL convention counts from
    the next renewal, n = renewals + 2 = 4: the annual value (12,000 over a 365-day term, in
    years of 365.25 days) x sum over the 5 years of the horizon of S(4 + j) / S(3) / 1.1^j
    with the fitted software (or pooled) alpha, beta; 70 % of it on margin."""
    fits = query(
        firm, "select cohort, parameter, estimate from analytics.clv_model_fits where model = 'sbg'"
    )
    params = fits.pivot(index="cohort", columns="parameter", values="estimate")
    alpha, beta = params.loc["software" if "software" in params.index else "all"]
    survival, derl = 1.0, 0.0
    for j in range(5):
        t = 4 + j
        survival *= (beta + t - 1) / (alpha + beta + t - 1)
        derl += survival / 1.1**j
    clv = query(firm, "select * from analytics.customer_clv").set_index("customer_id")
    holders = clv.loc[[f"K{i:02d}" for i in range(7, 13)]]
    annual = CONTRACT_VALUE * 365.25 / 365
    assert holders["contract_clv_cny"].to_numpy() == pytest.approx([annual * derl] * 6)
    assert holders["contract_clv_margin_cny"].to_numpy() == pytest.approx([0.7 * annual * derl] * 6)
    lapsed = clv.loc[[f"K{i:02d}" for i in range(1, 7)]]
    assert (lapsed["contract_clv_cny"] == 0).all()


def test_the_bridge_ties_out_to_trailing_revenue_and_margin_by_hand(firm):
    orders = firm["orders"].assign(
        amount=lambda f: f["amount"].astype(float),
        ordered_on=lambda f: pd.to_datetime(f["ordered_on"]).dt.date,
    )
    window = orders[
        (orders["ordered_on"] > AS_OF - dt.timedelta(days=365)) & (orders["ordered_on"] <= AS_OF)
    ]
    transactional = window[window["contract_id"] == ""]["amount"].sum()
    contract = 6 * CONTRACT_VALUE  # six 2025 contracts, wholly inside the window
    bridge = query(firm, "select * from analytics.customer_equity_bridge")
    line = bridge[bridge["part"] != "segment"].set_index(["line", "part"])["value"]
    assert line[("t12m_revenue_cny", "contract")] == pytest.approx(contract)
    assert line[("t12m_revenue_cny", "transactional")] == pytest.approx(transactional)
    assert line[("t12m_margin_cny", "total")] == pytest.approx(
        0.7 * contract + 0.45 * transactional
    )
    assert line[("t12m_invoiced_revenue_cny", "total")] == pytest.approx(window["amount"].sum())
    clv = query(firm, "select * from analytics.customer_clv")
    equity = clv["clv_margin_cny"].sum()
    assert line[("customer_equity_margin_cny", "total")] == pytest.approx(equity)
    assert line[("customer_equity_margin_cny", "contract")] + line[
        ("customer_equity_margin_cny", "transactional")
    ] == pytest.approx(equity)
    segments = bridge[
        (bridge["line"] == "customer_equity_margin_cny") & (bridge["part"] == "segment")
    ]
    assert segments["value"].sum() == pytest.approx(equity)
    assert line[("equity_to_t12m_margin", "total")] == pytest.approx(
        equity / (0.7 * contract + 0.45 * transactional)
    )
    grid = query(firm, "select * from analytics.customer_equity_sensitivity")
    assert grid.loc[grid["is_base"], "equity_margin_cny"].iloc[0] == pytest.approx(equity)
    assert (
        grid.loc[grid["is_base"], ["horizon_months", "annual_discount_rate"]].iloc[0] == [60, 0.10]
    ).all()
    equity_table = query(
        firm, "select * from analytics.customer_equity where slice_type = 'company'"
    )
    assert equity_table["equity_margin_cny"].iloc[0] == pytest.approx(equity)
