"""Churn early warning (orchestration.churn): point-in-time features, labels, reasons,
metrics, the backtest against the recency baseline, and clear errors.

Most tests run on a generated firm (1,500 customers, 3 years) read straight from the
landing CSVs into `Sources` with the staging views' column names; the hand examples use a
few rows whose answers are worked out in the comments. One slow test checks the pandas
copy of the spine's rule against dbt's `int_customer_months`.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from orchestration.churn import (
    ALERT_RISK,
    BASELINE_REASON,
    FEATURE_NAMES,
    FEATURE_SOURCES,
    FEATURES,
    Sources,
    available_features,
    average_precision,
    backtest,
    brier_score,
    build_features,
    build_labels,
    contributions,
    customer_months,
    early_warning,
    is_active_on,
    lapses_on,
    load_sources,
    lost_by_activity_rule,
    pareto_p_alive,
    reasons,
    reliability_table,
    roc_auc,
    score,
    train,
    training_frames,
)
from orchestration.churn.model import sample_customers
from orchestration.settings import Settings
from orchestration.synthetic import generate

ROOT = Path(__file__).resolve().parents[1]
CUSTOMERS, YEARS, SEED = 1500, 3, 11
AS_OF = pd.Timestamp("2026-10-31")  # the generator's default end date
CUTOFFS = ("2024-07-01", "2025-01-01", "2025-07-01", "2026-01-01")
LEAK_CUTOFF = pd.Timestamp("2025-07-01")
FEATURES_BY_NAME = {f.name: f for f in FEATURES}


def _read(landing: Path, table: str) -> pd.DataFrame:
    return pd.concat(
        [pd.read_csv(f, dtype={"customer_id": str}) for f in sorted((landing / table).glob("*"))]
    )


def sources_from_landing(landing: Path) -> Sources:
    """`Sources` from a landing drop, as the staging views would give it (CNY amounts at the
    fx seed's rates, survey scores oriented and as % of the scale maximum)."""
    fx = pd.read_csv(ROOT / "seeds" / "fx_rates.csv").set_index("currency")["rate_to_cny"]
    orders = _read(landing, "orders")
    orders["amount_cny"] = orders["amount"] * orders["currency"].map(fx)
    answers = _read(landing, "survey_answers").dropna(subset=["value"])
    questions = _read(landing, "survey_questions")
    responses = _read(landing, "survey_responses")
    surveys = _read(landing, "surveys").rename(columns={"kind": "survey_kind"})
    answers = answers.merge(questions, on="question_id").merge(
        responses[["response_id", "customer_id", "submitted_at"]], on="response_id"
    )
    answers = answers.merge(surveys[["survey_id", "survey_kind"]], on="survey_id")
    reverse = answers["is_reverse_coded"].astype(str).str.lower().eq("true")
    oriented = answers["value"].where(
        ~reverse, answers["scale_min"] + answers["scale_max"] - answers["value"]
    )
    answers["score_of_max_pct"] = oriented * 100.0 / answers["scale_max"]
    answers["submitted_on"] = pd.to_datetime(answers["submitted_at"]).dt.normalize()
    return Sources(
        customers=_read(landing, "customers")[["customer_id", "acquired_on"]],
        orders=orders[["customer_id", "ordered_on", "amount_cny", "is_credit_note"]],
        complaints=_read(landing, "complaints")[["customer_id", "opened_at"]],
        interactions=_read(landing, "interactions")[["customer_id", "occurred_at"]],
        contracts=_read(landing, "contracts")[["customer_id", "start_on", "end_on", "status"]],
        assignments=_read(landing, "account_assignments")[
            ["customer_id", "manager_id", "assigned_from"]
        ],
        churn_records=_read(landing, "churn_records")[["customer_id", "churned_on"]],
        survey_answers=answers[
            ["customer_id", "response_id", "survey_kind", "submitted_on", "score_of_max_pct"]
        ],
        as_of=AS_OF,
    )


@pytest.fixture(scope="module")
def firm(tmp_path_factory) -> Sources:
    landing = tmp_path_factory.mktemp("churn") / "landing"
    generate(landing, None, customers=CUSTOMERS, years=YEARS, seed=SEED, progress=False)
    return sources_from_landing(landing)


@pytest.fixture(scope="module")
def firm_backtest(firm):
    p_alive = pareto_p_alive(firm, [CUTOFFS[-1]])
    return backtest(firm, CUTOFFS, window_days=180, p_alive=p_alive)


# --------------------------------------------------------------------------- hand examples


def hand_sources(**tables: pd.DataFrame) -> Sources:
    """A `Sources` from a few hand-written rows; tables not given are empty."""
    empty = {
        "customers": ["customer_id", "acquired_on"],
        "orders": ["customer_id", "ordered_on", "amount_cny", "is_credit_note"],
        "complaints": ["customer_id", "opened_at"],
        "interactions": ["customer_id", "occurred_at"],
        "contracts": ["customer_id", "start_on", "end_on", "status"],
        "assignments": ["customer_id", "manager_id", "assigned_from"],
        "churn_records": ["customer_id", "churned_on"],
        "survey_answers": [
            "customer_id",
            "response_id",
            "survey_kind",
            "submitted_on",
            "score_of_max_pct",
        ],
    }
    frames = {name: tables.get(name, pd.DataFrame(columns=cols)) for name, cols in empty.items()}
    return Sources(**frames, customer_months=tables.get("customer_months"), as_of="2025-12-31")


def orders(*rows: tuple[str, str]) -> pd.DataFrame:
    return pd.DataFrame(
        [(c, d, 100.0, False) for c, d in rows],
        columns=["customer_id", "ordered_on", "amount_cny", "is_credit_note"],
    )


LABEL_EXAMPLE = {
    "customers": pd.DataFrame(
        {
            "customer_id": list("ABCDEFG"),
            "acquired_on": ["2023-01-01"] * 5 + ["2025-02-01", "2023-01-01"],
        }
    ),
    "orders": orders(
        ("A", "2024-12-15"),
        ("B", "2024-03-15"),
        ("C", "2024-09-01"),
        ("D", "2023-05-01"),
        ("E", "2024-12-01"),
        ("F", "2025-02-01"),
        ("G", "2024-10-01"),
    ),
    "contracts": pd.DataFrame(
        {
            "customer_id": ["D"],
            "start_on": ["2024-06-01"],
            "end_on": ["2025-05-31"],
            "status": ["expired"],
        }
    ),
    "churn_records": pd.DataFrame(
        {"customer_id": ["A", "E", "G"], "churned_on": ["2025-03-10", "2025-07-05", "2024-11-01"]}
    ),
}


def test_labels_by_hand():
    """Cutoff 2025-01-01, 180 days: the window is 2025-01-01 .. 2025-06-30.

    A: churn record on 2025-03-10                        -> churned (record)
    B: last order 2024-03-15, so inactive from the end of March 2025 (365 days) -> churned
    C: last order 2024-09-01, inactive only from September 2025            -> not churned
    D: active through a contract ending 2025-05-31 (inclusive); inactive at the end of June,
       and 2025-06-30 is the window's last day                              -> churned
    E: churn record on 2025-07-05, after the window                         -> not churned
    F: acquired after the cutoff, G: a churn record is its latest event -> not in the rows.
    """
    sources = hand_sources(**LABEL_EXAMPLE)
    labels = build_labels(sources, "2025-01-01", window_days=180)
    assert dict(zip(labels["customer_id"], labels["churned"], strict=True)) == {
        "A": True,
        "B": True,
        "C": False,
        "D": True,
        "E": False,
    }
    assert (labels["cutoff"] == pd.Timestamp("2025-01-01")).all()
    # A day shorter, the window stops on 2025-06-29 and D's June month end falls outside.
    shorter = build_labels(sources, "2025-01-01", window_days=179)
    assert not shorter.set_index("customer_id").loc["D", "churned"]
    # Given a spine, its churned months are used: C marked churned in April 2025.
    spine = pd.DataFrame(
        {
            "customer_id": ["C", "C"],
            "month_start_on": ["2025-04-01", "2025-06-01"],
            "month_end_on": ["2025-04-30", "2025-06-30"],
            "is_churned": [True, False],
        }
    )
    with_spine = build_labels(hand_sources(**LABEL_EXAMPLE, customer_months=spine), "2025-01-01")
    assert with_spine.set_index("customer_id")["churned"].to_dict() == {
        "A": True,  # its churn record still counts
        "B": False,  # this spine has no churned month for B
        "C": True,
        "D": False,
        "E": False,
    }


def test_features_by_hand():
    """Cutoff 2025-01-01 for customer A (acquired 2023-01-01, 731 days before)."""
    sources = hand_sources(
        customers=pd.DataFrame({"customer_id": ["A"], "acquired_on": ["2023-01-01"]}),
        orders=pd.concat(
            [
                # in the last 90 days: 12-20 (12 days before), 11-01 (61 days)
                orders(("A", "2024-12-20"), ("A", "2024-11-01")),
                # 91..180 days: 2024-08-01 (153 days); 181..360: 2024-03-01, 2024-04-01
                orders(("A", "2024-08-01"), ("A", "2024-03-01"), ("A", "2024-04-01")),
                # more than 365 days: 2023-06-01; on the cutoff: not counted
                orders(("A", "2023-06-01"), ("A", "2025-01-01")),
                pd.DataFrame(
                    {
                        "customer_id": ["A"],
                        "ordered_on": ["2024-12-30"],
                        "amount_cny": [-50.0],
                        "is_credit_note": [True],  # a credit note is not an order
                    }
                ),
            ]
        ),
        complaints=pd.DataFrame(
            {
                "customer_id": ["A"] * 3,
                "opened_at": ["2024-12-31 23:59:00", "2024-10-01 10:00:00", "2024-05-01 00:00:00"],
            }
        ),
        interactions=pd.DataFrame(
            {"customer_id": ["A", "A"], "occurred_at": ["2024-11-21 08:00", "2025-01-01 09:00"]}
        ),
        contracts=pd.DataFrame(
            {
                "customer_id": ["A", "A"],
                "start_on": ["2024-03-01", "2023-03-01"],
                "end_on": ["2025-02-28", "2024-02-29"],
                "status": ["active", "renewed"],
            }
        ),
        assignments=pd.DataFrame(
            {
                "customer_id": ["A", "A"],
                "manager_id": ["M1", "M2"],
                "assigned_from": ["2023-01-01", "2024-06-01"],
            }
        ),
        survey_answers=pd.DataFrame(
            {
                "customer_id": ["A"] * 5,
                "response_id": ["R1", "R1", "R2", "R2", "R3"],
                "survey_kind": ["satisfaction"] * 4 + ["nps"],
                "submitted_on": ["2024-06-05", "2024-06-05", "2024-12-05", "2024-12-05"]
                + ["2024-12-20"],
                "score_of_max_pct": [80.0, 90.0, 60.0, 70.0, 10.0],
            }
        ),
    )
    row = build_features(sources, "2025-01-01").set_index("customer_id").loc["A"]
    expected = {
        "orders_90d": 2,
        "orders_180d": 3,
        "orders_365d": 5,
        "order_trend_180d": 3 - 2,
        "days_since_last_order": 12,
        "complaints_180d": 2,  # 2024-12-31 (1 day) and 2024-10-01 (92 days)
        "complaint_trend_180d": 2 - 1,  # 2024-05-01 is 245 days before
        "satisfaction_latest_pct": 65.0,  # R2: mean of 60 and 70; the nps answer is not one
        "satisfaction_change_pct": 65.0 - 85.0,
        "days_since_last_interaction": 41,  # 2024-11-21; the one on the cutoff day is not
        "manager_changed_365d": 1,
        "has_open_contract": 1,
        "days_to_contract_end": 58,  # 2025-02-28
        "tenure_days": 731,
    }
    assert row[list(expected)].to_dict() == pytest.approx(expected)
    assert list(build_features(sources, "2025-01-01").columns) == [
        "customer_id",
        "cutoff",
        *FEATURE_NAMES,
    ]


# --------------------------------------------------------------------------- no leakage


def test_features_use_only_rows_before_the_cutoff(firm):
    """Rows dated on or after the cutoff (a huge order on the cutoff day, complaints,
    touches, a bad survey, a manager change, a new contract, a churn record, the early
    termination of an open contract) leave every feature and the population unchanged; the
    same rows a day earlier change them, so the comparison can fail."""
    before = build_features(firm, LEAK_CUTOFF)
    who = before["customer_id"].iloc[:200].to_list()

    def later_rows(day: pd.Timestamp, churn: bool = True) -> Sources:
        n = len(who)
        days = [day, day + pd.Timedelta(days=30)]
        contracts = firm.contracts.copy()
        open_ = (contracts["start_on"] < LEAK_CUTOFF) & (contracts["end_on"] >= LEAK_CUTOFF)
        open_ &= contracts["status"].ne("terminated")
        terminated = contracts.index[open_][:50]
        contracts.loc[terminated, "status"] = "terminated"
        contracts.loc[terminated, "end_on"] = LEAK_CUTOFF + pd.Timedelta(days=10)
        return dataclasses.replace(
            firm,
            orders=pd.concat(
                [
                    firm.orders,
                    pd.DataFrame(
                        {
                            "customer_id": who * 2,
                            "ordered_on": np.repeat(days, n),
                            "amount_cny": 1e9,
                            "is_credit_note": False,
                        }
                    ),
                ]
            ),
            complaints=pd.concat(
                [
                    firm.complaints,
                    pd.DataFrame({"customer_id": who * 2, "opened_at": np.repeat(days, n)}),
                ]
            ),
            interactions=pd.concat(
                [firm.interactions, pd.DataFrame({"customer_id": who, "occurred_at": day})]
            ),
            survey_answers=pd.concat(
                [
                    firm.survey_answers,
                    pd.DataFrame(
                        {
                            "customer_id": who,
                            "response_id": [f"LATE{i}" for i in range(n)],
                            "survey_kind": "satisfaction",
                            "submitted_on": day,
                            "score_of_max_pct": 0.0,
                        }
                    ),
                ]
            ),
            assignments=pd.concat(
                [
                    firm.assignments,
                    pd.DataFrame({"customer_id": who, "manager_id": "NEW", "assigned_from": day}),
                ]
            ),
            contracts=pd.concat(
                [
                    contracts,
                    pd.DataFrame(
                        {
                            "customer_id": who,
                            "start_on": day,
                            "end_on": day + pd.Timedelta(days=30),
                            "status": "active",
                        }
                    ),
                ]
            ),
            churn_records=pd.concat(
                [firm.churn_records, pd.DataFrame({"customer_id": who, "churned_on": day})]
            )
            if churn
            else firm.churn_records,
        )

    after = build_features(later_rows(LEAK_CUTOFF), LEAK_CUTOFF)
    pd.testing.assert_frame_equal(after, before)
    # Control: the same rows one day earlier.
    day_before = LEAK_CUTOFF - pd.Timedelta(days=1)
    earlier = build_features(later_rows(day_before, churn=False), LEAK_CUTOFF)
    earlier, base = earlier.set_index("customer_id").loc[who], before.set_index("customer_id")
    base = base.loc[who]
    assert (earlier["orders_90d"] == base["orders_90d"] + 1).all()
    assert (earlier["complaints_180d"] == base["complaints_180d"] + 1).all()
    assert (earlier["satisfaction_latest_pct"] == 0).all()
    assert (earlier["days_since_last_interaction"] == 1).all()
    assert (earlier["manager_changed_365d"] == 1).all()
    assert (earlier["days_to_contract_end"] <= 30).all()
    ended = build_features(later_rows(day_before), LEAK_CUTOFF)  # churn records: gone
    assert not ended["customer_id"].isin(who).any()


# --------------------------------------------------------------------------- reasons


def reasons_example(seed: int = 3, n: int = 1200) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Churn driven by complaints (up) and recent orders (down); tenure is noise."""
    rng = np.random.default_rng(seed)
    complaints = rng.poisson(0.6, n).astype(float)
    recent = rng.poisson(2.0, n).astype(float)
    tenure = rng.uniform(30, 1500, n)
    logit = -1.5 + 1.2 * (complaints - 0.6) - 0.8 * (recent - 2.0)
    churned = rng.random(n) < 1 / (1 + np.exp(-logit))
    keys = {"customer_id": [f"C{i:04d}" for i in range(n)], "cutoff": pd.Timestamp("2025-01-01")}
    features = pd.DataFrame(
        {**keys, "complaints_180d": complaints, "orders_90d": recent, "tenure_days": tenure}
    )
    return features, pd.DataFrame({**keys, "churned": churned})


@pytest.fixture(scope="module")
def example_model():
    features, labels = reasons_example()
    return features, labels, train(features, labels, gbm_max_iter=40)


def test_logistic_reasons_add_up_and_point_the_right_way(example_model):
    features, _, model = example_model
    x = features[model.feature_names].to_numpy()
    pipeline = model.classifier("logistic")
    coef = pipeline.named_steps["model"].coef_[0]
    # By hand: coefficient x (value - training mean) / training sd (population sd).
    by_hand = coef * (x - x.mean(axis=0)) / x.std(axis=0)
    got = contributions(model, features, "logistic")
    np.testing.assert_allclose(got.to_numpy(), by_hand, rtol=1e-9, atol=1e-12)
    intercept = pipeline.named_steps["model"].intercept_[0]
    np.testing.assert_allclose(
        got.sum(axis=1) + intercept, pipeline.decision_function(features[model.feature_names])
    )
    assert coef[0] > 0 and coef[1] < 0  # complaints raise the risk, recent orders lower it

    # Three complaints and no recent order: both are reasons, complaints first (1.2 x 2.4
    # against 0.8 x 2 in the generating log-odds); tenure is noise and never a reason.
    probe = pd.DataFrame(
        {
            "customer_id": ["worried", "happy"],
            "cutoff": pd.Timestamp("2025-01-01"),
            "complaints_180d": [3.0, 0.0],
            "orders_90d": [0.0, 5.0],
            "tenure_days": [765.0, 765.0],
        }
    )
    top = reasons(model, probe, "logistic")
    worried = top.loc[top["customer_id"] == "worried"]
    assert worried["feature"].to_list()[:2] == ["complaints_180d", "orders_90d"]
    assert worried["reason"].iloc[0] == "complaints in the last 180 days / 近180天有投诉"
    assert worried["value"].to_list()[:2] == [3.0, 0.0]
    assert (worried["contribution"] > 0).all()
    assert worried["contribution"].is_monotonic_decreasing
    # No complaint and many orders: both sit on the safe side, so neither is a reason.
    assert (
        not top.loc[top["customer_id"] == "happy", "feature"]
        .isin(["complaints_180d", "orders_90d"])
        .any()
    )


def test_gbm_reasons_are_perturbations_from_the_median(example_model):
    features, _, model = example_model
    gbm = model.classifier("gbm")
    row = features.iloc[[0]][model.feature_names]
    moved = row.assign(complaints_180d=features["complaints_180d"].median())
    by_hand = gbm.decision_function(row)[0] - gbm.decision_function(moved)[0]
    got = contributions(model, features.iloc[[0]], "gbm")
    assert got["complaints_180d"].iloc[0] == pytest.approx(by_hand)
    probe = features.iloc[:1].assign(complaints_180d=4.0, orders_90d=0.0)
    top = reasons(model, probe, "gbm")
    assert set(top["feature"].iloc[:2]) == {"complaints_180d", "orders_90d"}


def test_early_warning_table(example_model):
    features, _, model = example_model
    value = pd.Series(1000.0, index=features["customer_id"])
    value.iloc[:5] = [1e6, np.nan, 0.0, 5.0, 2e6]
    table = early_warning(model, features, value)
    assert list(table.columns) == [
        "customer_id",
        "cutoff",
        "risk",
        "risk_band",
        "value",
        "value_at_risk",
        "is_lost_by_activity_rule",
        "rank",
        "reason_1",
        "reason_1_contribution",
        "reason_2",
        "reason_2_contribution",
        "reason_3",
        "reason_3_contribution",
    ]
    assert table["rank"].to_list() == list(range(1, len(features) + 1))
    np.testing.assert_allclose(table["value_at_risk"], table["risk"] * table["value"])
    ranked = table["value_at_risk"].dropna()
    assert ranked.is_monotonic_decreasing
    assert table["customer_id"].iloc[0] == "C0004"  # the largest value
    assert table["customer_id"].iloc[-1] == "C0001"  # no value: last
    np.testing.assert_allclose(
        table.set_index("customer_id")["risk"].loc[features["customer_id"]],
        score(model, features).to_numpy(),
    )
    bands = table.set_index("risk_band")["risk"]
    assert (bands.loc[bands.index == "high"] >= 0.30).all()
    assert bands.loc[bands.index == "low"].lt(0.10).all()
    assert table["reason_1_contribution"].dropna().gt(0).all()
    assert not table["is_lost_by_activity_rule"].any()
    as_frame = early_warning(model, features, value.rename("value").reset_index())
    pd.testing.assert_frame_equal(as_frame, table)

    # The largest value at risk, flagged lost by the activity rule, leaves the top: C0000
    # (1e6) leads, C0001 (no value) closes the others, and C0004 comes after it, apart.
    lost = pd.Series({"C0004": True, "C0002": False})
    apart = early_warning(model, features, value, lost=lost)
    assert apart["customer_id"].to_list()[0] == "C0000"
    assert apart["customer_id"].to_list()[-2:] == ["C0001", "C0004"]
    assert apart["is_lost_by_activity_rule"].sum() == 1
    assert apart.loc[apart["customer_id"] == "C0004", "rank"].item() == len(features)


# --------------------------------------------------------------------------- metrics


def test_metrics_match_scikit_learn_on_hand_examples():
    y, s = [0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]
    # Pairs (churner above non-churner): 0.35>0.1, 0.8>0.1, 0.8>0.4, not 0.35<0.4 -> 3/4.
    assert roc_auc(y, s) == 0.75 == roc_auc_score(y, s)
    # Thresholds 0.8 (P 1, R 0.5), 0.4 (P 1/2), 0.35 (P 2/3, R 1): 0.5*1 + 0.5*2/3 = 0.8333.
    assert average_precision(y, s) == pytest.approx(0.5 + 0.5 * 2 / 3)
    assert average_precision(y, s) == pytest.approx(average_precision_score(y, s))
    y_tie, s_tie = [0, 1, 0, 1, 1, 0], [0.5, 0.5, 0.2, 0.9, 0.2, 0.1]
    assert roc_auc(y_tie, s_tie) == pytest.approx(roc_auc_score(y_tie, s_tie))
    assert average_precision(y_tie, s_tie) == pytest.approx(average_precision_score(y_tie, s_tie))
    p = [0.1, 0.9, 0.8, 0.4]
    assert brier_score([0, 1, 1, 0], p) == pytest.approx((0.01 + 0.01 + 0.04 + 0.16) / 4)
    assert brier_score([0, 1, 1, 0], p) == pytest.approx(brier_score_loss([0, 1, 1, 0], p))
    table = reliability_table([0, 1, 0, 1, 1], [0.05, 0.15, 0.12, 0.95, 1.0])
    assert table["bin"].to_list() == [0, 1, 9]
    assert table["n"].to_list() == [1, 2, 2]
    assert table["mean_predicted"].to_list() == pytest.approx([0.05, 0.135, 0.975])
    assert table["observed_rate"].to_list() == pytest.approx([0.0, 0.5, 1.0])
    with pytest.raises(ValueError, match="at least one churner"):
        roc_auc([0, 0], [0.1, 0.2])


# --------------------------------------------------------------------------- backtest


def test_model_beats_the_recency_baseline(firm_backtest):
    """The generator makes churners complain three times as often, touch less, answer
    surveys lower and stop buying in the 180 days before they leave; the model must beat
    days-since-last-order at every evaluated cutoff."""
    metrics = firm_backtest.metrics
    assert sorted(metrics["cutoff"].dt.strftime("%Y-%m-%d").unique()) == list(CUTOFFS[1:])
    chosen = metrics.loc[metrics["is_chosen"]].set_index("cutoff")
    recency = metrics.loc[metrics["method"] == "recency_baseline"].set_index("cutoff")
    margin = chosen["auc"] - recency["auc"]
    assert (margin > 0.10).all(), margin
    np.testing.assert_allclose(chosen["auc_margin_over_recency"], margin)
    assert (chosen["pr_auc"] > recency["pr_auc"]).all()
    assert (chosen["brier"] < recency["brier"]).all()
    # Rolling origin: each cutoff is trained on the earlier ones whose window has closed.
    assert chosen.loc["2025-07-01", "trained_on"] == "2024-07-01,2025-01-01"
    # P(alive) was passed for the last cutoff only, so only that cutoff scores it.
    pareto = metrics.loc[metrics["method"] == "pareto_p_alive"]
    assert pareto["cutoff"].dt.strftime("%Y-%m-%d").to_list() == [CUTOFFS[-1]]


def test_backtest_rows_recompute_from_features_and_labels(firm, firm_backtest):
    """The recency row's AUC is scikit-learn's AUC of the raw days since the last order on
    the cutoff's features and labels; the P(alive) row is that of 1 - P(alive)."""
    features = build_features(firm, CUTOFFS[-1])
    labels = build_labels(firm, CUTOFFS[-1])
    rows = firm_backtest.metrics.set_index("method")
    rows = rows.loc[rows["cutoff"] == pd.Timestamp(CUTOFFS[-1])]
    recency = rows.loc["recency_baseline"]
    assert recency["auc"] == pytest.approx(
        roc_auc_score(labels["churned"], features["days_since_last_order"])
    )
    assert (recency["n"], recency["positives"]) == (len(labels), labels["churned"].sum())
    p_alive = pareto_p_alive(firm, [CUTOFFS[-1]]).set_index("customer_id")["p_alive"]
    dead = 1 - p_alive.reindex(labels["customer_id"]).to_numpy()
    assert rows.loc["pareto_p_alive", "auc"] == pytest.approx(
        roc_auc_score(labels["churned"], dead)
    )
    assert rows.loc["pareto_p_alive", "brier"] == pytest.approx(
        brier_score_loss(labels["churned"], dead)
    )


def test_calibrated_probabilities_are_reliable(firm_backtest):
    """Across the evaluated cutoffs, the chosen model's predicted rates match the observed
    ones: n-weighted mean |mean predicted - observed| over the bins below 0.03, and the mean
    prediction within 0.02 of the churn rate."""
    metrics, table = firm_backtest
    chosen = metrics.loc[metrics["is_chosen"], ["cutoff", "method"]]
    table = table.merge(chosen, on=["cutoff", "method"])
    gap = (table["mean_predicted"] - table["observed_rate"]).abs()
    assert np.average(gap, weights=table["n"]) < 0.03
    overall = table.groupby("cutoff").apply(
        lambda t: np.average(t["mean_predicted"] - t["observed_rate"], weights=t["n"]),
        include_groups=False,
    )
    assert overall.abs().max() < 0.02


def test_backtest_on_prebuilt_frames_is_the_same(firm, firm_backtest):
    """The asset builds the cutoffs' features and labels once for the scoring model and the
    backtest: passing them gives the very backtest that builds its own."""
    p_alive = pareto_p_alive(firm, [CUTOFFS[-1]])
    frames = training_frames(firm, CUTOFFS, window_days=180)
    again = backtest(firm, CUTOFFS, window_days=180, p_alive=p_alive, frames=frames)
    pd.testing.assert_frame_equal(again.metrics, firm_backtest.metrics)
    pd.testing.assert_frame_equal(again.reliability, firm_backtest.reliability)
    with pytest.raises(ValueError, match=r"frames lack the cutoffs \['2026-01-01'\]"):
        backtest(firm, CUTOFFS, frames={c: frames[pd.Timestamp(c)] for c in CUTOFFS[:-1]})


# --------------------------------------------------------------------------- training sample


def two_cutoffs(n: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`reasons_example` at two cutoffs, every customer at both (the second one shuffled)."""
    features, labels = reasons_example(n=n)
    later = {"cutoff": pd.Timestamp("2025-07-01")}
    features2, labels2 = reasons_example(seed=4, n=n)
    return (
        pd.concat([features, features2.assign(**later)], ignore_index=True),
        pd.concat([labels, labels2.assign(**later)], ignore_index=True),
    )


def test_training_sample_keeps_whole_customers():
    features, labels = two_cutoffs(1000)  # 2,000 rows, two per customer
    data = features.merge(labels, on=["customer_id", "cutoff"])
    sample = sample_customers(data, 701, seed=0)
    per_customer = sample.groupby("customer_id").size()
    assert (per_customer == 2).all()  # never one cutoff of a customer without the other
    assert len(sample) == 700  # as many whole customers as fit under the cap
    pd.testing.assert_frame_equal(sample, sample_customers(data, 701, seed=0))  # seeded
    assert set(sample["customer_id"]) != set(sample_customers(data, 701, seed=1)["customer_id"])
    assert sample_customers(data, 2000, seed=0) is data  # under the cap: every row
    assert sample_customers(data, None, seed=0) is data
    with pytest.raises(ValueError, match="max_rows must be at least 1"):
        sample_customers(data, 0, seed=0)


def test_train_learns_from_at_most_max_rows():
    features, labels = two_cutoffs(1000)
    capped = train(features, labels, max_rows=800, gbm_max_iter=20)
    assert (capped.training_rows, capped.sampled_from) == (800, 2000)
    # the sampled customers' churn rate stays near the whole set's
    assert capped.training_positives / 800 == pytest.approx(labels["churned"].mean(), abs=0.05)
    whole = train(features, labels, max_rows=None, gbm_max_iter=20)
    assert (whole.training_rows, whole.sampled_from) == (2000, 2000)


# --------------------------------------------------------------------------- errors


def test_clear_errors(firm):
    with pytest.raises(ValueError, match="no customer is active at cutoff 2010-01-01"):
        build_features(firm, "2010-01-01")
    with pytest.raises(ValueError, match="after the data"):
        build_labels(firm, "2026-06-01", window_days=180)
    with pytest.raises(ValueError, match="more than a day after the data ends"):
        build_features(firm, "2027-01-01")
    features, labels = reasons_example(n=200)
    with pytest.raises(ValueError, match="0 churners"):
        train(features, labels.assign(churned=False))
    with pytest.raises(ValueError, match="do not cover the same customers"):
        train(features, labels.iloc[:-1])
    with pytest.raises(ValueError, match="at least two cutoffs"):
        backtest(firm, ["2025-01-01"])
    with pytest.raises(ValueError, match="window closed before it"):
        backtest(firm, ["2025-01-01", "2025-03-01"])
    quiet = pd.DataFrame(  # a spine without a single churned month, and no churn records
        {
            "customer_id": ["nobody"],
            "month_start_on": ["2026-10-01"],
            "month_end_on": ["2026-10-31"],
            "is_churned": [False],
        }
    )
    no_churn = dataclasses.replace(
        firm, customer_months=quiet, churn_records=firm.churn_records.iloc[:0]
    )
    with pytest.raises(ValueError, match="cutoff 2025-07-01 has no churner in its window"):
        backtest(no_churn, ["2025-01-01", "2025-07-01"])
    short_spine = quiet.assign(month_start_on="2025-04-01", month_end_on="2025-04-30")
    with pytest.raises(ValueError, match="the spine ends on 2025-04-30"):
        build_labels(hand_sources(**LABEL_EXAMPLE, customer_months=short_spine), "2025-01-01")


# --------------------------------------------------------------------------- warehouse


@pytest.mark.slow
def test_pandas_spine_and_sources_match_the_warehouse(built_warehouse):
    """`load_sources` reads the dbt relations, and the pandas copy of the spine's rule gives
    dbt's is_active and is_churned for every customer and complete month."""
    with duckdb.connect(built_warehouse, read_only=True) as con:
        sources = load_sources(con, whole_spine=True)
        labelled = load_sources(con)  # only the spine's months the labels read
    for cutoff in ("2025-01-01", "2025-05-01"):
        pd.testing.assert_frame_equal(build_labels(labelled, cutoff), build_labels(sources, cutoff))
    assert len(labelled.customer_months) < len(sources.customer_months) / 5
    mine = customer_months(sources, sources.customer_months["month_start_on"].min(), sources.as_of)
    complete = mine["month_end_on"] == mine["month_start_on"] + pd.offsets.MonthEnd(0)
    mine = mine.loc[complete]  # a month the data ends inside is measured on another day
    spine = sources.customer_months
    spine = spine.loc[spine["month_end_on"] <= mine["month_end_on"].max()]
    joined = spine.merge(mine, on=["customer_id", "month_start_on"], suffixes=("_dbt", "_pd"))
    assert len(joined) == len(mine) == len(spine) > 1000
    assert (joined["month_end_on_dbt"] == joined["month_end_on_pd"]).all()
    assert (joined["is_active_dbt"] == joined["is_active_pd"]).all()
    assert (joined["is_churned_dbt"] == joined["is_churned_pd"]).all()


# --------------------------------------------------------------------------- one window


def test_the_dbt_var_sets_the_window_of_population_and_labels():
    """`WH_DBT_VARS='{"activity_window_days": 180}'` reaches dbt (`dbt_vars`) and the model
    alike. LABEL_EXAMPLE at cutoff 2025-01-01 (the population is judged on 2024-12-31):

    365 days: A, B, C, D, E active; labels as in `test_labels_by_hand`.
    180 days: B (last order 2024-03-15, 291 days before) is already lost, so out of the
    population; C (last order 2024-09-01) lapses on 2025-02-28 and E (2024-12-01) on
    2025-05-30, both inside the window: churned; A (record) and D (contract) as before.
    """
    assert Settings.from_env({}).activity_window_days == 365  # dbt_project.yml's default
    assert hand_sources(**LABEL_EXAMPLE).activity_window_days == 365
    configured = Settings.from_env({"WH_DBT_VARS": json.dumps({"activity_window_days": 180})})
    assert configured.dbt_vars_arg() == ["--vars", '{"activity_window_days": 180}']  # dbt's
    assert configured.activity_window_days == 180  # what the churn asset passes
    sources = dataclasses.replace(hand_sources(**LABEL_EXAMPLE), activity_window_days=180)
    assert sources.activity_window_days == 180
    labels = build_labels(sources, "2025-01-01", window_days=180)
    assert dict(zip(labels["customer_id"], labels["churned"], strict=True)) == {
        "A": True,
        "C": True,
        "D": True,
        "E": True,
    }
    features = build_features(sources, "2025-01-01")
    assert features["customer_id"].to_list() == ["A", "C", "D", "E"]
    spine = customer_months(sources, "2025-01-01", "2025-06-30").set_index(
        ["customer_id", "month_start_on"]
    )
    assert spine.loc[("C", pd.Timestamp("2025-02-01")), "is_churned"]
    assert spine.loc[("E", pd.Timestamp("2025-05-01")), "is_churned"]
    with pytest.raises(ValueError, match="activity_window_days must be a whole number"):
        Settings.from_env({"WH_DBT_VARS": json.dumps({"activity_window_days": "soon"})})


def test_lost_by_the_activity_rule_by_hand():
    """As of 2026-12-06 with a 365-day window; the spine's next close is 2026-12-31.

    A: last invoice 2025-12-20, lapses on 2026-12-20                      -> lost
    B: last invoice 2026-01-05, lapses on 2027-01-05                      -> not lost
    C: last invoice 2025-12-10, contract to 2027-03-31: lapses 2027-04-01 -> not lost
    D: a contract ending 2026-12-15 and no invoice: lapses on 2026-12-16  -> lost
    E: last invoice 2025-12-31: inactive at the end of 2026-12-31         -> lost
    F: last invoice 2025-11-01: already inactive, not in the list.
    """
    customers = pd.DataFrame({"customer_id": list("ABCDEF"), "acquired_on": "2024-01-01"})
    sources = dataclasses.replace(
        hand_sources(
            customers=customers,
            orders=orders(
                ("A", "2025-12-20"),
                ("B", "2026-01-05"),
                ("C", "2025-12-10"),
                ("E", "2025-12-31"),
                ("F", "2025-11-01"),
            ),
            contracts=pd.DataFrame(
                {
                    "customer_id": ["C", "D"],
                    "start_on": ["2026-04-01", "2025-12-16"],
                    "end_on": ["2027-03-31", "2026-12-15"],
                    "status": ["active", "active"],
                }
            ),
        ),
        as_of="2026-12-06",
        activity_window_days=365,
    )
    lapse = lapses_on(sources, "2026-12-06")
    assert lapse.dt.strftime("%Y-%m-%d").to_dict() == {
        "A": "2026-12-20",
        "B": "2027-01-05",
        "C": "2027-04-01",
        "D": "2026-12-16",
        "E": "2026-12-31",
    }
    for customer, day in lapse.items():  # the rule's own verdict, the day before and on it
        assert is_active_on(sources, day - pd.Timedelta(days=1))[customer]
        assert not is_active_on(sources, day)[customer]
    lost = lost_by_activity_rule(sources, "2026-12-06")
    assert lost[lost].index.to_list() == ["A", "D", "E"]


def orders_only(sources: Sources) -> Sources:
    """The same firm as an export of customers and orders only: every other table empty."""
    empty = {
        name: getattr(sources, name).iloc[:0]
        for name in ("complaints", "interactions", "contracts", "assignments", "survey_answers")
    }
    return dataclasses.replace(sources, churn_records=sources.churn_records.iloc[:0], **empty)


def test_orders_only_gives_reasons_from_orders_only(firm):
    """A drop with orders only: the features of the empty tables are not built, so no
    customer is told "no touch for long" (which used to restate the tenure) or "no open
    contract"; every customer at or above the alert risk has a reason."""
    only = orders_only(firm)
    order_features = [n for n in FEATURE_NAMES if FEATURE_SOURCES[n] in ("orders", "customers")]
    assert available_features(only) == tuple(order_features)
    assert available_features(firm) == FEATURE_NAMES
    frames = training_frames(only, CUTOFFS[1:3], window_days=180)
    rows = pd.concat(frames.values(), ignore_index=True)
    assert [c for c in rows.columns if c not in ("customer_id", "cutoff", "churned")] == (
        order_features
    )
    model = train(rows.drop(columns="churned"), rows[["customer_id", "cutoff", "churned"]])
    assert set(model.feature_names) <= set(order_features)
    today = build_features(only, AS_OF + pd.Timedelta(days=1))
    table = early_warning(model, today, value=pd.Series(1.0, index=today["customer_id"]))
    given = pd.concat([table[f"reason_{k}"] for k in (1, 2, 3)]).dropna()
    allowed = {FEATURES_BY_NAME[n].reason for n in order_features} | {BASELINE_REASON.reason}
    assert set(given) <= allowed
    assert not given.str.contains("长期未联系|无有效合同|投诉|满意度|客户经理").any()
    alerted = table.loc[table["risk"] >= ALERT_RISK]
    assert len(alerted) > 20
    assert alerted["reason_1"].notna().all()


def test_every_alerted_customer_has_a_reason():
    """Churn common in the whole base (logit 0.8 at the mean) and rising with tenure, against
    the documented direction (a young relationship is the risky one):

    - "long": tenure two sd above the mean raises the log-odds, but on the side the catalogue
      calls safe, so the usual rule gives no reason; above the alert risk it gets tenure;
    - "average": every feature at its training mean, nothing raised the log-odds: the reason
      is the baseline, with the model's log-odds at the reference as its contribution.
    """
    rng = np.random.default_rng(5)
    n = 1500
    tenure = rng.normal(700, 200, n)
    recent = rng.poisson(2.0, n).astype(float)
    logit = 0.8 + 1.0 * (tenure - 700) / 200
    keys = {"customer_id": [f"C{i:04d}" for i in range(n)], "cutoff": pd.Timestamp("2025-01-01")}
    features = pd.DataFrame({**keys, "orders_90d": recent, "tenure_days": tenure})
    labels = pd.DataFrame({**keys, "churned": rng.random(n) < 1 / (1 + np.exp(-logit))})
    model = train(features, labels, gbm_max_iter=40)
    mean = model.reference["logistic"]
    probe = pd.DataFrame(
        {
            "customer_id": ["long", "average"],
            "cutoff": pd.Timestamp("2025-01-01"),
            "orders_90d": [mean["orders_90d"]] * 2,
            "tenure_days": [mean["tenure_days"] + 400, mean["tenure_days"]],
        }
    )
    risk = score(model, probe, "logistic")
    assert (risk >= ALERT_RISK).all()
    strict = reasons(model, probe, "logistic", alert_risk=1.0)  # the usual rule alone
    assert strict.empty
    got = reasons(model, probe, "logistic").set_index("customer_id")
    assert got.loc["long", "feature"] == "tenure_days"
    assert got.loc["long", "contribution"] > 0
    assert got.loc["average", "feature"] == "baseline"
    assert got.loc["average", "reason"] == BASELINE_REASON.reason
    intercept = model.classifier("logistic").named_steps["model"].intercept_[0]
    assert got.loc["average", "contribution"] == pytest.approx(intercept)
    assert intercept > 0.5  # a base rate near 0.69 (logit 0.8)


@pytest.mark.slow
def test_one_window_moves_the_spine_the_churn_population_and_the_live_set(
    built_warehouse, tmp_path, monkeypatch, dbt_subprocess
):
    """`WH_DBT_VARS='{"activity_window_days": 180}'`: dbt rebuilds the spine and
    customer_facts (whose is_active is the live set CLV values) with it, and the churn model,
    given the same setting (`Settings.activity_window_days`), scores exactly the
    customers the spine calls active on as_of — fewer than with 365 days."""
    database = tmp_path / "warehouse.duckdb"
    shutil.copy(built_warehouse, database)

    def active_sets(con) -> tuple[set, set, pd.Timestamp]:
        last = con.execute("select max(month_end_on) from int_customer_months").fetchone()[0]
        spine = con.execute(
            "select customer_id from int_customer_months where is_active and month_end_on = ?",
            [last],
        ).df()
        live = con.execute("select customer_id from customer_facts where is_active").df()
        return set(spine["customer_id"]), set(live["customer_id"]), pd.Timestamp(last)

    monkeypatch.delenv("WH_DBT_VARS", raising=False)
    with duckdb.connect(str(database), read_only=True) as con:
        spine_365, live_365, as_of = active_sets(con)
        population_365 = set(
            build_features(load_sources(con, as_of=as_of), as_of + pd.Timedelta(days=1))[
                "customer_id"
            ]
        )
    assert spine_365 == live_365 == population_365

    monkeypatch.setenv("WH_DBT_VARS", json.dumps({"activity_window_days": 180}))
    dbt_vars = {**Settings.from_env().dbt_vars, "as_of": str(as_of.date())}
    result = dbt_subprocess(
        ["run", "--quiet", "--full-refresh", "--select", "int_customer_months+,+customer_facts",
         "--vars", json.dumps(dbt_vars)],
        database,
        tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:]
    with duckdb.connect(str(database), read_only=True) as con:
        spine_180, live_180, _ = active_sets(con)
        window = Settings.from_env().activity_window_days  # as the churn asset passes it
        sources = load_sources(con, as_of=as_of, activity_window_days=window)
    assert sources.activity_window_days == 180
    population_180 = set(build_features(sources, as_of + pd.Timedelta(days=1))["customer_id"])
    assert spine_180 == live_180 == population_180
    assert spine_180 < spine_365 and len(spine_365) - len(spine_180) > 10
    # the labels of a cutoff cover the customers active then by the same window: fewer
    cutoff = (as_of - pd.Timedelta(days=200)).to_period("M").to_timestamp()
    labelled_180 = set(build_labels(sources, cutoff)["customer_id"])
    everyone = dataclasses.replace(sources, activity_window_days=365, customer_months=None)
    assert labelled_180 < set(build_labels(everyone, cutoff)["customer_id"])
    active = is_active_on(sources, cutoff - pd.Timedelta(days=1))
    assert labelled_180 == set(active.index[active.to_numpy()])
