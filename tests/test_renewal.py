"""The renewal book (orchestration.churn.renewal) on contracts whose rows are worked out by
hand, as of 2026-12-06."""

from __future__ import annotations

import pandas as pd
import pytest

from orchestration.churn.renewal import COLUMNS, renewal_book, renewal_bucket

AS_OF = "2026-12-06"


def contracts() -> pd.DataFrame:
    rows = [
        # id, customer, start, end, status, value, renewed
        ("K1", "A", "2026-01-01", "2026-12-06", "active", 100.0, False),  # ends on as_of: out
        ("K2", "A", "2026-01-01", "2026-12-07", "active", 200.0, False),  # 1 day: 0-90
        ("K3", "B", "2026-03-01", "2027-03-06", "active", 300.0, True),  # 90 days: 0-90
        ("K4", "B", "2026-03-01", "2027-03-07", "active", 400.0, False),  # 91 days: 91-180
        ("K5", "C", "2026-06-01", "2027-06-04", "active", 500.0, False),  # 180: 91-180
        ("K6", "C", "2026-06-01", "2027-06-05", "active", 600.0, False),  # 181: 181-365
        ("K7", "D", "2026-12-01", "2027-12-06", "active", 700.0, False),  # 365: 181-365
        ("K8", "D", "2026-12-01", "2027-12-07", "active", 800.0, False),  # 366 days: out
        ("K9", "E", "2026-01-01", "2027-01-31", "terminated", 900.0, False),  # terminated: out
        ("K10", "E", "2026-12-10", "2027-02-01", "active", 1000.0, False),  # starts later: out
    ]
    return pd.DataFrame(
        rows,
        columns=[
            "contract_id",
            "customer_id",
            "start_on",
            "end_on",
            "status",
            "contract_value_cny",
            "is_renewed",
        ],
    ).assign(product_line="support")


def test_renewal_book_by_hand():
    owners = pd.DataFrame(
        {"customer_id": list("ABCDE"), "account_manager_id": ["M1", "M1", "M2", None, "M3"]}
    )
    # D is not scored (e.g. lost by the activity rule): its risk stays empty.
    warning = pd.DataFrame(
        {
            "customer_id": ["A", "B", "C"],
            "risk": [0.5, 0.1, 0.25],
            "risk_band": ["high", "medium", "low"],
        }
    )
    clv = pd.DataFrame({"customer_id": list("ABCD"), "clv_cny": [1000.0, 2000.0, 0.0, 50.0]})
    book = renewal_book(contracts(), owners, warning, clv, AS_OF, "clv_margin_cny")
    assert list(book.columns) == list(COLUMNS)
    assert book["contract_id"].to_list() == ["K2", "K3", "K4", "K5", "K6", "K7"]
    assert book["days_to_end"].to_list() == [1, 90, 91, 180, 181, 365]
    assert book["renewal_bucket"].to_list() == [
        "0-90",
        "0-90",
        "91-180",
        "91-180",
        "181-365",
        "181-365",
    ]
    by_bucket = book.groupby("renewal_bucket")["contract_value_cny"].sum().to_dict()
    assert by_bucket == {"0-90": 500.0, "91-180": 900.0, "181-365": 1300.0}
    row = book.set_index("contract_id")
    assert row.loc["K3", "is_renewed"] and not row.loc["K4", "is_renewed"]
    assert row["account_manager_id"].to_dict() == {
        "K2": "M1",
        "K3": "M1",
        "K4": "M1",
        "K5": "M2",
        "K6": "M2",
        "K7": None,
    }
    # risk x contract value: K2 0.5 x 200, K4 0.1 x 400, K6 0.25 x 600; D unscored.
    assert row.loc["K2", "contract_value_at_risk_cny"] == pytest.approx(100.0)
    assert row.loc["K4", "contract_value_at_risk_cny"] == pytest.approx(40.0)
    assert row.loc["K6", "contract_value_at_risk_cny"] == pytest.approx(150.0)
    assert pd.isna(row.loc["K7", "churn_risk"]) and pd.isna(row.loc["K7", "risk_band"])
    assert row["clv_cny"].to_dict() == {
        "K2": 1000.0,
        "K3": 2000.0,
        "K4": 2000.0,
        "K5": 0.0,
        "K6": 0.0,
        "K7": 50.0,
    }
    assert (book["clv_basis"] == "clv_margin_cny").all()
    assert (book["as_of"] == pd.Timestamp(AS_OF)).all()


def test_buckets_and_repeated_customers():
    days = pd.Series([0, 1, 90, 91, 180, 181, 365, 366])
    assert renewal_bucket(days).to_list() == [
        None,
        "0-90",
        "0-90",
        "91-180",
        "91-180",
        "181-365",
        "181-365",
        None,
    ]
    owners = pd.DataFrame({"customer_id": ["A", "A"], "account_manager_id": ["M1", "M2"]})
    empty = pd.DataFrame(columns=["customer_id", "risk", "risk_band"])
    clv = pd.DataFrame(columns=["customer_id", "clv_cny"])
    with pytest.raises(ValueError, match="repeat customers"):
        renewal_book(contracts(), owners, empty, clv, AS_OF, "clv_cny")
