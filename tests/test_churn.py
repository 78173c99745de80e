"""Churn early warning (orchestration.churn): reasons, metrics, the backtest against the
recency baseline, what the assets read of `features_churn`, and clear errors.

The features, the population, the labels and the cutoffs are computed in SQL
(`features_churn`); their hand-computed examples are dbt unit tests in
models/marts/features/_features__models.yml (features, no leakage from rows dated on the
cutoff, labels, cutoffs, planned contract ends, the lost flag, the activity window). Here the
firm tests run dbt on a generated firm (1,500 customers, 3 years) ingested as `make run`
would, and read the model as the asset does; the hand examples of the model use a few rows
whose answers are worked out in the comments.
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
    FEATURES,
    ChurnData,
    average_precision,
    backtest,
    brier_score,
    churn_data,
    contributions,
    early_warning,
    load_churn_data,
    pareto_p_alive,
    reasons,
    reliability_table,
    roc_auc,
    score,
    train,
    training_frames,
)
from orchestration.churn.model import sample_customers
from orchestration.churn.tables import compute_tables
from orchestration.clv import paretonbd, rfm_summary
from orchestration.contract import TABLES
from orchestration.ingest import load_table
from orchestration.settings import Settings, SettingsError
from orchestration.synthetic import generate

CUSTOMERS, YEARS, SEED = 1500, 3, 11
AS_OF = pd.Timestamp("2026-10-31")  # the generator's default end date
FEATURES_BY_NAME = {f.name: f for f in FEATURES}
ORDER_FEATURES = (
    "orders_90d",
    "orders_180d",
    "orders_365d",
    "order_trend_180d",
    "days_since_last_order",
    "tenure_days",
)


@pytest.fixture(scope="module")
def firm_warehouse(tmp_path_factory, dbt_subprocess) -> Path:
    """A generated firm ingested into DuckDB and built by dbt up to `features_churn`."""
    tmp = tmp_path_factory.mktemp("churn")
    landing, database = tmp / "landing", tmp / "warehouse.duckdb"
    generate(landing, None, customers=CUSTOMERS, years=YEARS, seed=SEED, progress=False)
    with duckdb.connect(str(database)) as con:
        for table in TABLES:
            load_table(con, landing, table.name, run_id="test", run_date=AS_OF.date())
    result = dbt_subprocess(
        ["build", "--quiet", "--select", "+features_churn", "--resource-type", "seed",
         "--resource-type", "model", "--vars", json.dumps({"as_of": str(AS_OF.date())})],
        database,
        tmp,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:]
    return database


@pytest.fixture(scope="module")
def firm(firm_warehouse) -> ChurnData:
    with duckdb.connect(str(firm_warehouse), read_only=True) as con:
        return load_churn_data(con)


@pytest.fixture(scope="module")
def firm_backtest(firm):
    p_alive = pareto_p_alive(firm, [firm.cutoffs[-1]])
    return backtest(training_frames(firm), window_days=180, p_alive=p_alive)


# --------------------------------------------------------------------------- reasons


def reasons_example(seed: int = 3, n: int = 1200) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Churn driven by complaints (up) and recent orders (down); tenure is noise."""
    rng = np.random.default_rng(seed)
    complaints = rng.poisson(0.6, n).astype(float)
    recent = rng.poisson(2.0, n).astype(float)
    tenure = rng.uniform(30, 1500, n)
    logit = -1.5 + 1.2 * (complaints - 0.6) - 0.8 * (recent - 2.0)
    churned = rng.random(n) < 1 / (1 + np.exp(-logit))
    keys = {"customer_key": np.arange(1, n + 1), "cutoff": pd.Timestamp("2025-01-01")}
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
            "customer_key": [1, 2],  # worried, happy
            "cutoff": pd.Timestamp("2025-01-01"),
            "complaints_180d": [3.0, 0.0],
            "orders_90d": [0.0, 5.0],
            "tenure_days": [765.0, 765.0],
        }
    )
    top = reasons(model, probe, "logistic")
    worried = top.loc[top["customer_key"] == 1]
    assert worried["feature"].to_list()[:2] == ["complaints_180d", "orders_90d"]
    assert worried["reason"].iloc[0] == "complaints in the last 180 days / 近180天有投诉"
    assert worried["value"].to_list()[:2] == [3.0, 0.0]
    assert (worried["contribution"] > 0).all()
    assert worried["contribution"].is_monotonic_decreasing
    # No complaint and many orders: both sit on the safe side, so neither is a reason.
    assert (
        not top.loc[top["customer_key"] == 2, "feature"]
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
    value = pd.Series(1000.0, index=features["customer_key"])
    value.iloc[:5] = [1e6, np.nan, 0.0, 5.0, 2e6]
    table = early_warning(model, features, value)
    assert list(table.columns) == [
        "customer_key",
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
    assert table["customer_key"].iloc[0] == 5  # the largest value
    assert table["customer_key"].iloc[-1] == 2  # no value: last
    np.testing.assert_allclose(
        table.set_index("customer_key")["risk"].loc[features["customer_key"]],
        score(model, features).to_numpy(),
    )
    bands = table.set_index("risk_band")["risk"]
    assert (bands.loc[bands.index == "high"] >= 0.30).all()
    assert bands.loc[bands.index == "low"].lt(0.10).all()
    assert table["reason_1_contribution"].dropna().gt(0).all()
    assert not table["is_lost_by_activity_rule"].any()
    as_frame = early_warning(model, features, value.rename("value").reset_index())
    pd.testing.assert_frame_equal(as_frame, table)

    # The largest value at risk, flagged lost by the activity rule, leaves the top: key 1
    # (1e6) leads, key 2 (no value) closes the others, and key 5 comes after it, apart.
    lost = pd.Series({5: True, 3: False})
    apart = early_warning(model, features, value, lost=lost)
    assert apart["customer_key"].to_list()[0] == 1
    assert apart["customer_key"].to_list()[-2:] == [2, 5]
    assert apart["is_lost_by_activity_rule"].sum() == 1
    assert apart.loc[apart["customer_key"] == 5, "rank"].item() == len(features)


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


@pytest.mark.slow
def test_model_beats_the_recency_baseline(firm, firm_backtest):
    """The generator makes churners complain three times as often, touch less, answer
    surveys lower and stop buying in the 180 days before they leave; the model must beat
    days-since-last-order at every evaluated cutoff."""
    metrics = firm_backtest.metrics
    # as_of 2026-10-31 − 180 days = 2026-05-04: cutoffs 2026-05-01 and every 6 months before,
    # while a year of orders lies before them (the firm's first orders: end of 2023)
    cutoffs = [str(c.date()) for c in firm.cutoffs]
    assert cutoffs[-3:] == ["2025-05-01", "2025-11-01", "2026-05-01"]
    assert sorted(metrics["cutoff"].dt.strftime("%Y-%m-%d").unique()) == cutoffs[1:]
    chosen = metrics.loc[metrics["is_chosen"]].set_index("cutoff")
    recency = metrics.loc[metrics["method"] == "recency_baseline"].set_index("cutoff")
    margin = chosen["auc"] - recency["auc"]
    assert (margin > 0.10).all(), margin
    np.testing.assert_allclose(chosen["auc_margin_over_recency"], margin)
    assert (chosen["pr_auc"] > recency["pr_auc"]).all()
    assert (chosen["brier"] < recency["brier"]).all()
    # Rolling origin: each cutoff is trained on the earlier ones whose window has closed.
    assert chosen.loc["2026-05-01", "trained_on"] == ",".join(cutoffs[:-1])
    # P(alive) was passed for the last cutoff only, so only that cutoff scores it.
    pareto = metrics.loc[metrics["method"] == "pareto_p_alive"]
    assert pareto["cutoff"].dt.strftime("%Y-%m-%d").to_list() == ["2026-05-01"]


@pytest.mark.slow
def test_backtest_rows_recompute_from_features_and_labels(firm, firm_backtest):
    """The recency row's AUC is scikit-learn's AUC of the raw days since the last order on
    the cutoff's features and labels; the P(alive) row is that of 1 - P(alive)."""
    last = firm.cutoffs[-1]
    frame = firm.frame(last)
    rows = firm_backtest.metrics.set_index("method")
    rows = rows.loc[rows["cutoff"] == last]
    recency = rows.loc["recency_baseline"]
    assert recency["auc"] == pytest.approx(
        roc_auc_score(frame["churned"], frame["days_since_last_order"])
    )
    assert (recency["n"], recency["positives"]) == (len(frame), frame["churned"].sum())
    p_alive = pareto_p_alive(firm, [last]).set_index("customer_key")["p_alive"]
    dead = 1 - p_alive.reindex(frame["customer_key"]).to_numpy()
    assert rows.loc["pareto_p_alive", "auc"] == pytest.approx(roc_auc_score(frame["churned"], dead))
    assert rows.loc["pareto_p_alive", "brier"] == pytest.approx(
        brier_score_loss(frame["churned"], dead)
    )


@pytest.mark.slow
def test_pareto_benchmark_fits_the_rfm_summary_of_the_invoices(firm, firm_warehouse):
    """The invoice days `features_churn` keeps per buyer (count, first, last before the
    cutoff) give P(alive) of a Pareto/NBD fitted on `clv.rfm_summary` of every invoice before
    the cutoff, customer for customer."""
    cutoff = firm.cutoffs[-1]
    with duckdb.connect(str(firm_warehouse), read_only=True) as con:
        invoices = con.execute(
            "select customer_id, ordered_on, cast(amount_cny as double) as amount_cny "
            "from stg_crm__orders where not is_credit_note and ordered_on < ?",
            [cutoff.date()],
        ).df()
        keys = con.execute(
            "select customer_id, customer_key from features_churn where cutoff_on = ?",
            [cutoff.date()],
        ).df()
    summary = rfm_summary(
        invoices, cutoff - pd.Timedelta(days=1), date_col="ordered_on", amount_col="amount_cny"
    )
    rfm = (summary["x"], summary["t_x"], summary["T"])
    params = paretonbd.fit(*rfm)
    expected = pd.Series(
        paretonbd.probability_alive(params, *rfm),
        index=summary.index.map(keys.set_index("customer_id")["customer_key"]),
    )
    got = pareto_p_alive(firm, [cutoff]).set_index("customer_key")["p_alive"]
    assert len(got) == len(expected) > 1000
    np.testing.assert_allclose(got.to_numpy(), expected.reindex(got.index).to_numpy(), rtol=1e-9)


@pytest.mark.slow
def test_calibrated_probabilities_are_reliable(firm_backtest):
    """Across the evaluated cutoffs, the chosen model's predicted rates match the observed
    ones: n-weighted mean |mean predicted - observed| over the bins below 0.03, and the mean
    prediction within 0.025 of the churn rate (the first cutoffs learn from one or two
    cutoffs of a firm still growing, whose churn rate drifts: 0.022 at 2025-05-01)."""
    metrics, table = firm_backtest
    chosen = metrics.loc[metrics["is_chosen"], ["cutoff", "method"]]
    table = table.merge(chosen, on=["cutoff", "method"])
    gap = (table["mean_predicted"] - table["observed_rate"]).abs()
    assert np.average(gap, weights=table["n"]) < 0.03
    overall = table.groupby("cutoff").apply(
        lambda t: np.average(t["mean_predicted"] - t["observed_rate"], weights=t["n"]),
        include_groups=False,
    )
    assert overall.abs().max() < 0.025


@pytest.mark.slow
def test_backtest_on_named_cutoffs_is_the_same(firm, firm_backtest):
    """The asset builds the cutoffs' frames once for the scoring model and the backtest:
    naming the cutoffs gives the same backtest, and a cutoff without a frame is an error."""
    frames = training_frames(firm)
    p_alive = pareto_p_alive(firm, [firm.cutoffs[-1]])
    again = backtest(frames, firm.cutoffs, window_days=180, p_alive=p_alive)
    pd.testing.assert_frame_equal(again.metrics, firm_backtest.metrics)
    pd.testing.assert_frame_equal(again.reliability, firm_backtest.reliability)
    missing = str(firm.cutoffs[-1].date())
    with pytest.raises(ValueError, match=rf"frames lack the cutoffs \['{missing}'\]"):
        backtest({c: frames[c] for c in firm.cutoffs[:-1]}, firm.cutoffs)


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
    data = features.merge(labels, on=["customer_key", "cutoff"])
    sample = sample_customers(data, 701, seed=0)
    per_customer = sample.groupby("customer_key").size()
    assert (per_customer == 2).all()  # never one cutoff of a customer without the other
    assert len(sample) == 700  # as many whole customers as fit under the cap
    pd.testing.assert_frame_equal(sample, sample_customers(data, 701, seed=0))  # seeded
    assert set(sample["customer_key"]) != set(sample_customers(data, 701, seed=1)["customer_key"])
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


def test_clear_errors():
    features, labels = reasons_example(n=200)
    with pytest.raises(ValueError, match="0 churners"):
        train(features, labels.assign(churned=False))
    with pytest.raises(ValueError, match="do not cover the same customers"):
        train(features, labels.iloc[:-1])
    frame = features.merge(labels, on=["customer_key", "cutoff"])
    later = frame.assign(cutoff=pd.Timestamp("2025-03-01"))
    with pytest.raises(ValueError, match="at least two cutoffs"):
        backtest({"2025-01-01": frame})
    with pytest.raises(ValueError, match="window closed before it"):
        backtest({"2025-01-01": frame, "2025-03-01": later})
    quiet = later.assign(cutoff=pd.Timestamp("2025-07-01"), churned=False)
    with pytest.raises(ValueError, match="cutoff 2025-07-01 has no churner in its window"):
        backtest({"2025-01-01": frame, "2025-07-01": quiet})
    data = hand_data()
    with pytest.raises(ValueError, match="not a backtest cutoff of features_churn"):
        data.frame("2025-02-01")


# --------------------------------------------------------------------------- what the asset reads


def hand_data(own: bool = False) -> ChurnData:
    """`features_churn` rows by hand: as_of 2025-07-01, backtest cutoff 2025-01-01 (keys 1-3)
    and the scoring cutoff 2025-07-02 (keys 2-4, with their ids); key 9 a buyer outside the
    population. A firm without complaints, surveys, interactions, assignments or contracts:
    those features are NULL in every row."""
    rows = pd.DataFrame(
        {
            "cutoff_on": ["2025-01-01"] * 3 + ["2025-07-02"] * 3,
            "customer_key": [1, 2, 3, 2, 3, 4],
            "as_of_on": "2025-07-01",
            "is_scoring_cutoff": [False] * 3 + [True] * 3,
            "is_lost_by_activity_rule": [False, False, False, True, False, False],
            "label_window_end_on": ["2025-06-30"] * 3 + [None] * 3,
            "is_churned_in_window": [True, False, False, None, None, None],
        }
    )
    for name in FEATURE_NAMES:
        rows[name] = np.nan if name not in ORDER_FEATURES else [3, 1, 4, 1, 5, 9]
    ids = pd.DataFrame({"customer_key": [2, 3, 4], "customer_id": ["B", "C", "D"]})
    buyers = pd.DataFrame(
        {
            "cutoff_on": ["2025-01-01"] * 2,
            "customer_key": [1, 9],
            "invoice_day_count": [3, 1],
            "first_invoiced_on": ["2024-01-01", "2024-06-01"],
            "last_invoiced_on": ["2024-12-01", "2024-06-01"],
        }
    )
    return churn_data(rows, ids, buyers, own=own)


def test_churn_data_types_its_own_frames_in_place_and_copies_a_callers():
    """`own=True` (load_churn_data's fresh query results, memory) gives the same frames as
    the copying default, which leaves the caller's frames as they were."""
    rows = pd.DataFrame(
        {"cutoff_on": ["2025-01-01"], "customer_key": [1], "as_of_on": "2025-07-01",
         "is_scoring_cutoff": [False], "is_lost_by_activity_rule": [False],
         "label_window_end_on": ["2025-06-30"], "is_churned_in_window": [True],
         **{name: [1] for name in FEATURE_NAMES}}
    )  # fmt: skip
    buyers = pd.DataFrame(
        {"cutoff_on": ["2025-01-01"], "customer_key": [1], "invoice_day_count": [1],
         "first_invoiced_on": ["2024-01-01"], "last_invoiced_on": ["2024-12-01"]}
    )  # fmt: skip
    ids = pd.DataFrame({"customer_key": [1], "customer_id": ["A"]})
    kept = churn_data(rows, ids, buyers)
    assert list(rows.columns[:1]) == ["cutoff_on"] and rows["cutoff_on"][0] == "2025-01-01"
    assert rows["orders_90d"].dtype == np.int64 and "cutoff_on" in buyers.columns
    copied, owned = hand_data(), hand_data(own=True)
    pd.testing.assert_frame_equal(owned.population, copied.population, check_exact=True)
    pd.testing.assert_frame_equal(owned.buyers, copied.buyers, check_exact=True)
    assert kept.population["orders_90d"].dtype == float


def test_churn_data_splits_the_model_as_the_model_uses_it():
    """The backtest frames and the scored rows of `features_churn`, keyed by customer_key;
    only the features whose source table has rows; the window read back from the labels."""
    data = hand_data()
    assert data.as_of == pd.Timestamp("2025-07-01")
    assert data.cutoffs == [pd.Timestamp("2025-01-01")]
    assert data.scoring_cutoff == pd.Timestamp("2025-07-02")
    assert data.features == ORDER_FEATURES
    assert data.window_days() == 180
    frame = data.frame("2025-01-01")
    assert list(frame.columns) == ["customer_key", "cutoff", *ORDER_FEATURES, "churned"]
    assert frame["customer_key"].to_list() == [1, 2, 3]
    assert frame["churned"].to_list() == [True, False, False]
    assert frame["orders_90d"].dtype == float
    today = data.scoring()
    assert list(today.columns) == ["customer_key", "cutoff", *ORDER_FEATURES]
    assert (today["cutoff"] == pd.Timestamp("2025-07-02")).all()
    assert data.lost().to_dict() == {2: True, 3: False, 4: False}
    assert data.customer_ids.to_dict() == {2: "B", 3: "C", 4: "D"}


def test_pareto_benchmark_by_hand():
    """Buyer k of 12 before cutoff 2025-01-01: k invoice days, the first 5k days after
    2024-01-01 and the last 20 (k - 1) days after it, so x = k - 1 repeat days,
    t_x = 20 (k - 1) / 7 weeks and T = (2024-12-31 - first) / 7 weeks. P(alive) is
    Pareto/NBD's for those, fitted on all."""
    k = np.arange(1, 13)
    first = pd.Timestamp("2024-01-01") + pd.to_timedelta(5 * k, unit="D")
    buyers = pd.DataFrame(
        {
            "cutoff": pd.Timestamp("2025-01-01"),
            "customer_key": k,
            "invoice_day_count": k,
            "first_invoiced_on": first,
            "last_invoiced_on": first + pd.to_timedelta(20 * (k - 1), unit="D"),
        }
    )
    data = dataclasses.replace(hand_data(), buyers=buyers)
    got = pareto_p_alive(data, data.cutoffs).set_index("customer_key")
    x, t_x = k - 1, 20 * (k - 1) / 7
    age = (pd.Timestamp("2024-12-31") - first).days.to_numpy() / 7
    params = paretonbd.fit(x, t_x, age)
    np.testing.assert_allclose(
        got.loc[k, "p_alive"], paretonbd.probability_alive(params, x, t_x, age), rtol=1e-12
    )
    assert got["cutoff"].eq(pd.Timestamp("2025-01-01")).all()


@pytest.mark.slow
def test_published_tables_name_customers_by_id(firm):
    """`compute_tables` scores by key and publishes by customer_id: the scored customers are
    the model's population at as_of, each with its id, the lost ones ranked last, the value
    mapped by id."""
    ids = firm.customer_ids
    clv = pd.DataFrame({"customer_id": ids.to_numpy(), "value": np.arange(len(ids), dtype=float)})
    tables = compute_tables(firm, 180, clv, "clv_cny", None, 365)
    warning = tables.frames["churn_early_warning"]
    assert warning.columns[0] == "customer_id"
    assert "customer_key" not in warning
    assert sorted(warning["customer_id"]) == sorted(ids)
    assert (warning["cutoff"] == AS_OF + pd.Timedelta(days=1)).all()
    by_id = warning.set_index("customer_id")
    np.testing.assert_array_equal(by_id.loc[ids.to_numpy(), "value"], clv["value"])
    lost = firm.lost()
    flagged = set(ids.loc[lost[lost].index])
    assert set(by_id.index[by_id["is_lost_by_activity_rule"]]) == flagged
    assert warning["is_lost_by_activity_rule"].is_monotonic_increasing  # ranked after
    assert warning["rank"].to_list() == list(range(1, len(warning) + 1))
    assert (warning["as_of"] == AS_OF.date()).all()


# --------------------------------------------------------------------------- one window


def test_the_dbt_var_sets_the_window():
    """`WH_DBT_VARS='{"activity_window_days": 180, "churn_window_days": 90}'` reaches dbt
    (`dbt_vars_arg`: features_churn's population and labels, unit test
    features_churn_activity_window_by_hand) and the Python side alike."""
    from orchestration.assets.churn import window_days

    default = Settings.from_env({})
    assert default.activity_window_days == 365  # dbt_project.yml's default
    assert window_days(default) == 180
    configured = Settings.from_env(
        {"WH_DBT_VARS": json.dumps({"activity_window_days": 180, "churn_window_days": 90})}
    )
    assert configured.dbt_vars["activity_window_days"] == 180  # what dbt's --vars get
    assert configured.activity_window_days == 180
    assert window_days(configured) == 90
    with pytest.raises(SettingsError, match="activity_window_days"):
        Settings.from_env({"WH_DBT_VARS": json.dumps({"activity_window_days": "soon"})})


def without_sources(data: ChurnData, *features: str) -> ChurnData:
    """The same firm as if its export lacked the tables of `features`: NULL in every row,
    as `features_churn` leaves them."""
    population = data.population.assign(**{name: np.nan for name in features})
    return dataclasses.replace(data, population=population)


@pytest.mark.slow
def test_orders_only_gives_reasons_from_orders_only(firm):
    """A drop with orders only: the features of the empty tables are left out, so no
    customer is told "no touch for long" (which used to restate the tenure) or "no open
    contract"; every customer at or above the alert risk has a reason."""
    assert firm.features == FEATURE_NAMES
    only = without_sources(firm, *(n for n in FEATURE_NAMES if n not in ORDER_FEATURES))
    assert only.features == ORDER_FEATURES
    frames = training_frames(only)  # every cutoff, as the asset
    rows = pd.concat(frames.values(), ignore_index=True)
    assert [c for c in rows.columns if c not in ("customer_key", "cutoff", "churned")] == list(
        ORDER_FEATURES
    )
    model = train(rows.drop(columns="churned"), rows[["customer_key", "cutoff", "churned"]])
    assert set(model.feature_names) <= set(ORDER_FEATURES)
    today = only.scoring()
    table = early_warning(model, today, value=pd.Series(1.0, index=today["customer_key"]))
    given = pd.concat([table[f"reason_{k}"] for k in (1, 2, 3)]).dropna()
    allowed = {FEATURES_BY_NAME[n].reason for n in ORDER_FEATURES} | {BASELINE_REASON.reason}
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
    keys = {"customer_key": np.arange(1, n + 1), "cutoff": pd.Timestamp("2025-01-01")}
    features = pd.DataFrame({**keys, "orders_90d": recent, "tenure_days": tenure})
    labels = pd.DataFrame({**keys, "churned": rng.random(n) < 1 / (1 + np.exp(-logit))})
    model = train(features, labels, gbm_max_iter=40)
    mean = model.reference["logistic"]
    probe = pd.DataFrame(
        {
            "customer_key": [1, 2],  # long, average
            "cutoff": pd.Timestamp("2025-01-01"),
            "orders_90d": [mean["orders_90d"]] * 2,
            "tenure_days": [mean["tenure_days"] + 400, mean["tenure_days"]],
        }
    )
    risk = score(model, probe, "logistic")
    assert (risk >= ALERT_RISK).all()
    strict = reasons(model, probe, "logistic", alert_risk=1.0)  # the usual rule alone
    assert strict.empty
    got = reasons(model, probe, "logistic").set_index("customer_key")
    assert got.loc[1, "feature"] == "tenure_days"  # long
    assert got.loc[1, "contribution"] > 0
    assert got.loc[2, "feature"] == "baseline"  # average
    assert got.loc[2, "reason"] == BASELINE_REASON.reason
    intercept = model.classifier("logistic").named_steps["model"].intercept_[0]
    assert got.loc[2, "contribution"] == pytest.approx(intercept)
    assert intercept > 0.5  # a base rate near 0.69 (logit 0.8)


@pytest.mark.slow
def test_one_window_moves_the_spine_the_churn_population_and_the_live_set(
    built_warehouse, tmp_path, monkeypatch, dbt_subprocess
):
    """`WH_DBT_VARS='{"activity_window_days": 180}'`: dbt rebuilds the spine, customer_facts
    (whose is_active is the live set CLV values) and features_churn with it, and the churn
    model scores exactly the customers the spine calls active on as_of — fewer than with 365
    days."""
    database = tmp_path / "warehouse.duckdb"
    shutil.copy(built_warehouse, database)

    def active_sets(con) -> tuple[set, set, set, pd.Timestamp]:
        last = con.execute("select max(month_end_on) from int_customer_months").fetchone()[0]
        spine = con.execute(
            "select customer_id from int_customer_months where is_active and month_end_on = ?",
            [last],
        ).df()
        live = con.execute("select customer_id from customer_facts where is_active").df()
        scored = con.execute(
            "select customer_id from features_churn where is_scoring_cutoff and is_active_at_cutoff"
        ).df()
        return (
            set(spine["customer_id"]),
            set(live["customer_id"]),
            set(scored["customer_id"]),
            pd.Timestamp(last),
        )

    monkeypatch.delenv("WH_DBT_VARS", raising=False)
    with duckdb.connect(str(database), read_only=True) as con:
        spine_365, live_365, population_365, as_of = active_sets(con)
    assert spine_365 == live_365 == population_365

    monkeypatch.setenv("WH_DBT_VARS", json.dumps({"activity_window_days": 180}))
    dbt_vars = {**Settings.from_env().dbt_vars, "as_of": str(as_of.date())}
    result = dbt_subprocess(
        ["run", "--quiet", "--full-refresh", "--select", "int_customer_months+,+customer_facts",
         "features_churn", "--vars", json.dumps(dbt_vars)],
        database,
        tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:]
    with duckdb.connect(str(database), read_only=True) as con:
        spine_180, live_180, population_180, _ = active_sets(con)
    assert spine_180 == live_180 == population_180
    assert spine_180 < spine_365 and len(spine_365) - len(spine_180) > 10
