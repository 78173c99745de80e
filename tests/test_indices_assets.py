"""The index assets (H1, H2, H3, weights, backtest, segments, F10): hand-computed helpers, a
synthetic set of windows, and the warehouse of the session's end-to-end build."""

from __future__ import annotations

import shutil

import duckdb
import numpy as np
import pandas as pd
import pytest

from orchestration.assets._io import write_analytics_table
from orchestration.assets.indices import index_check_counts, index_settings, read_inputs
from orchestration.indices import (
    ahp_weights,
    compute_index,
    entropy_weights,
    load_ahp_matrices,
    load_index_definitions,
    load_segment_actions,
)
from orchestration.indices.tables import (
    COLUMN_DOCS,
    INDICATOR_COLUMNS,
    SEGMENT_COLUMNS,
    TABLES,
    WEIGHTINGS,
    IndexInputs,
    IndexSettings,
    compute_tables,
    indicator_frame,
    prepare_windows,
    reference_with_history,
    score_customers,
    unit_indicators,
    window_rows,
)
from orchestration.metrics import rank_auc, spearman
from orchestration.settings import Settings, SettingsError

DEFINITIONS = load_index_definitions()
AHP = load_ahp_matrices()
SETTINGS = IndexSettings()

# --- helpers by hand ---------------------------------------------------------------------


def test_rank_auc_by_hand():
    # positives score 2 and 4, negatives 1 and 3: of the 4 pairs, 3 are ordered right
    assert rank_auc(pd.Series([1.0, 2.0, 3.0, 4.0]), pd.Series([0, 1, 0, 1])) == 0.75
    # a tie counts half
    assert rank_auc(pd.Series([1.0, 1.0]), pd.Series([1, 0])) == 0.5
    assert rank_auc(pd.Series([4.0, 3.0, 2.0]), pd.Series([1, 0, 0])) == 1.0
    assert np.isnan(rank_auc(pd.Series([1.0, 2.0]), pd.Series([1, 1])))


def test_spearman_by_hand():
    # ranks of y: 1 2 4 3; sum of squared rank differences 2; 1 - 6 * 2 / (4 * 15) = 0.8
    assert spearman(pd.Series([1, 2, 3, 4]), pd.Series([10, 20, 40, 30])) == pytest.approx(0.8)
    assert np.isnan(spearman(pd.Series([1, 2, 3]), pd.Series([5, 5, 5])))


def test_entropy_weight_of_a_constant_column_is_zero_not_negative():
    # with 5 rows the computed entropy of a constant column is 1 + 2e-16: its divergence
    # must be clipped to 0, else aggregation rejects the weights as negative
    frame = pd.DataFrame({"B1": [1.0] * 5, "F3": [0.1, 0.4, 0.2, 0.9, 0.5]})
    weights = entropy_weights(frame).weights
    assert weights["B1"] == 0.0
    assert weights["F3"] == pytest.approx(1.0)


def test_index_settings_read_the_weighting_from_the_settings():
    assert index_settings(Settings.from_env({})).weighting == "expert"
    assert index_settings(Settings.from_env({"WH_INDEX_WEIGHTING": "CRITIC"})).weighting == "critic"
    with pytest.raises(SettingsError, match="WH_INDEX_WEIGHTING='topsis'"):
        Settings.from_env({"WH_INDEX_WEIGHTING": "topsis"})


def test_reference_takes_an_indicator_without_history_from_the_scored_window():
    reference = pd.DataFrame({"F4": [1.0, 2.0], "F7": [np.nan, np.nan]}, index=["a", "b"])
    data = pd.DataFrame({"F4": [3.0, 4.0, 5.0], "F7": [10.0, 20.0, 30.0]}, index=["a", "b", "c"])
    filled, no_history = reference_with_history(reference, data)
    assert no_history == ["F7"]
    assert filled["F7"].tolist() == [10.0, 20.0]
    assert filled["F4"].tolist() == [1.0, 2.0]


def test_unit_indicators_by_hand():
    # c1-c3 (manager m1) and c4 (m2) are active in the window; c5 (m1) is not and counts
    # nowhere. m1: satisfaction (80 + 60) / 2 = 70, H1 (40 + 50 + 60) / 3 = 50, complaints
    # 3 / 3, churn: c1 and c2 active at the start, c2 churned: 1 / 2, events 6 / 3 × 100.
    # m2: c4 not active at the start: churn rate unknown (null). company: all four.
    rows = pd.DataFrame(
        {
            "active_in_window_flag": [1, 1, 1, 1, 0],
            "satisfaction_pct": [80.0, 60.0, np.nan, 90.0, 10.0],
            "complaint_count": [0, 1, 2, 0, 5],
            "active_at_start_flag": [1, 1, 0, 0, 1],
            "churned_in_window_flag": [0, 1, 0, 0, 1],
            "event_participation_count": [1, 2, 3, 4, 9],
        },
        index=["c1", "c2", "c3", "c4", "c5"],
    )
    loyalty = pd.Series([40.0, 50.0, 60.0, 70.0, 0.0], index=rows.index)
    managers = pd.Series(["m1", "m1", "m1", "m2", "m1"], index=rows.index)
    units = unit_indicators(rows, loyalty, managers)
    m1 = units.loc[("account_manager", "m1")]
    assert m1["customers"] == 3
    assert m1[["A2", "H1", "D1", "B2", "C3"]].tolist() == pytest.approx([70, 50, 1, 0.5, 200])
    m2 = units.loc[("account_manager", "m2")]
    assert np.isnan(m2["B2"]) and m2["C3"] == 400.0
    company = units.loc[("company", "all")]
    assert company["customers"] == 4
    assert company[["A2", "H1", "D1", "B2", "C3"]].tolist() == pytest.approx(
        [230 / 3, 55, 0.75, 0.5, 250]
    )
    # teams: m1's customers c1, c2, c3 are in team t1, m2's c4 in t2 (c5 is inactive)
    teams = pd.Series(["t1", "t1", "t1", "t2", "t1"], index=rows.index)
    by_team = unit_indicators(rows, loyalty, managers, teams)
    assert by_team.loc[("team", "t1")].equals(m1)
    assert by_team.loc[("team", "t2")]["customers"] == 1
    assert ("team", "t1") not in units.index


def test_index_check_counts_flag_bad_tables():
    con = duckdb.connect()
    good = {
        "customer_indices": pd.DataFrame(
            {
                "loyalty_index_pct": [0.0, 100.0, np.nan],
                "value_index_pct": [50.0, np.nan, 1.0],
                "survey_loyalty_index_pct": [np.nan, 20.0, 100.0],
                "loyalty_coverage_rate": [0.5, 1.0, 0.2],
                "value_coverage_rate": [1.0, 0.7, 0.4],
            }
        ),
        "management_level": pd.DataFrame({"management_level_pct": [10.0, np.nan]}),
        "index_weights": pd.DataFrame(
            {
                "index_code": ["H1", "H1", "H2"],
                "weighting_method": ["expert"] * 3,
                "weight": [0.25, 0.75, 1.0],
            }
        ),
    }
    for name, frame in good.items():
        write_analytics_table(con, name, frame)
    assert not any(index_check_counts(con).values())
    con.execute("insert into analytics.customer_indices values (120, 1, 1, 1, 1)")
    con.execute("insert into analytics.management_level values ('nan'::double)")
    con.execute("insert into analytics.index_weights values ('H2', 'ahp', 0.9)")
    counts = index_check_counts(con)
    assert counts["scores_outside_0_100"] == 1
    assert counts["not_finite_management_level"] == 1
    assert counts["weight_sums_not_1"] == 1


# --- a synthetic set of windows ----------------------------------------------------------

WINDOWS = {
    "2025-06-01": "is_current_window",
    "2024-06-01": "is_previous_window",
    "2024-03-01": "is_backtest_window",
    "2023-03-01": "is_backtest_reference_window",
}


def synthetic_windows(customers: int = 120, seed: int = 3) -> pd.DataFrame:
    """Every column of int_customer_index_inputs for four windows; a latent loyalty drives
    the indicators and the next-window outcomes. Customer c000 has the same indicators in the
    current and the previous window."""
    rng = np.random.default_rng(seed)
    ids = [f"c{i:03d}" for i in range(customers)]
    latent = rng.normal(size=customers)
    frames = []
    for end, role in WINDOWS.items():
        end_month = pd.Timestamp(end)
        active = (latent + rng.normal(scale=0.8, size=customers) > -0.8).astype(int)
        invoices = rng.poisson(np.exp(1 + 0.5 * latent)) * active
        revenue = invoices * rng.gamma(2.0, 5000.0, size=customers)
        answered = rng.random(customers) < 0.4
        frame = pd.DataFrame(
            {
                "customer_id": ids,
                "window_end_month_on": end_month,
                "window_start_on": end_month - pd.DateOffset(months=11),
                "window_end_on": end_month + pd.offsets.MonthEnd(0),
                "has_next_window": role != "is_current_window",
                "industry": "it",
                "size_band": "small",
                "active_at_end_flag": active,
                "active_at_start_flag": (rng.random(customers) < 0.8).astype(int),
                "churned_in_window_flag": (rng.random(customers) < 0.1).astype(int),
                "active_in_window_flag": np.maximum(active, (rng.random(customers) < 0.5)),
                "invoice_count": invoices,
                "repeat_order_count": np.maximum(invoices - 1, 0),
                "tenure_months": rng.integers(1, 60, size=customers),
                "converted_referral_count": rng.poisson(0.2 * np.exp(latent)),
                "event_participation_count": rng.poisson(0.5 * np.exp(latent)),
                "likelihood_to_recommend_score": np.where(
                    answered, np.clip(np.round(7 + 2 * latent), 0, 10), np.nan
                ),
                "satisfaction_pct": np.where(answered, np.clip(70 + 15 * latent, 20, 100), np.nan),
                "complaint_count": rng.poisson(np.exp(-0.5 * latent) * 0.3),
                "net_revenue_cny": revenue,
                "purchasing_power_ratio": revenue / revenue.mean(),
                "revenue_growth_rate": rng.normal(0.05, 0.3, size=customers),
                "previous_window_net_revenue_cny": revenue,
                "last_invoiced_on": np.where(
                    invoices > 0, end_month - pd.to_timedelta(rng.integers(0, 300), "D"), pd.NaT
                ),
                "recency_days": np.where(
                    invoices > 0, rng.integers(0, 300, size=customers), np.nan
                ),
                "invoices_to_date": invoices + rng.integers(0, 5, size=customers),
                "net_revenue_to_date_cny": revenue * 2,
                "next_window_active_flag": np.where(
                    role == "is_current_window",
                    np.nan,
                    (latent + rng.normal(scale=0.5, size=customers) > -1).astype(float),
                ),
                "next_window_net_revenue_cny": np.where(
                    role == "is_current_window", np.nan, revenue * rng.uniform(0.5, 1.5, customers)
                ),
            }
        )
        for flag in WINDOWS.values():
            frame[flag] = flag == role
        frames.append(frame)
    windows = pd.concat(frames, ignore_index=True)
    current = windows["is_current_window"]
    same = windows["customer_id"] == "c000"
    columns = list(INDICATOR_COLUMNS.values())
    windows.loc[same & current, columns] = windows.loc[
        same & windows["is_previous_window"], columns
    ].to_numpy()
    return windows


def synthetic_inputs(**changes) -> IndexInputs:
    windows = synthetic_windows()
    ids = windows["customer_id"].unique()
    rng = np.random.default_rng(11)
    values = dict(
        windows=windows,
        managers=pd.Series([f"m{i % 4}" for i in range(len(ids))], index=ids),
        loyalty_answers=pd.DataFrame(
            {
                "customer_id": ["c001", "c001", "c002"],
                "score": [4.0, 5.0, 1.0],
                "scale_max": [5] * 3,
            }
        ),
        clv=pd.Series(rng.gamma(2.0, 20000.0, size=len(ids)), index=ids),
    )
    return IndexInputs(**(values | changes))


@pytest.fixture(scope="module")
def synthetic_tables():
    return compute_tables(synthetic_inputs(), SETTINGS)


def test_synthetic_tables_have_their_documented_columns(synthetic_tables):
    for name, frame in synthetic_tables.frames().items():
        assert list(frame.columns) == list(COLUMN_DOCS[name]), name
    assert set(synthetic_tables.frames()) == set(TABLES)


def test_scores_are_within_0_100_and_coverage_within_0_1(synthetic_tables):
    indices = synthetic_tables.customer_indices
    assert len(indices) == 120
    for column in ("loyalty_index_pct", "value_index_pct", "survey_loyalty_index_pct"):
        values = indices[column].dropna()
        assert len(values) and values.between(0, 100).all(), column
    for column in ("loyalty_coverage_rate", "value_coverage_rate"):
        assert indices[column].between(0, 1).all(), column
    assert synthetic_tables.management_level["management_level_pct"].between(0, 100).all()


def test_survey_loyalty_index_is_the_mean_over_the_scale_maximum(synthetic_tables):
    indices = synthetic_tables.customer_indices.set_index("customer_id")
    assert indices.at["c001", "survey_loyalty_index_pct"] == pytest.approx(90.0)  # (4+5)/2/5
    assert indices.at["c002", "survey_loyalty_index_pct"] == pytest.approx(20.0)
    assert indices.at["c001", "survey_loyalty_answers"] == 2
    assert np.isnan(indices.at["c003", "survey_loyalty_index_pct"])


def test_the_change_compares_both_windows_without_f7(synthetic_tables):
    # c000's indicators are the same in both windows: no change on either index, although
    # its H2 now includes F7 (CLV) and its previous H2 could not
    indices = synthetic_tables.customer_indices.set_index("customer_id")
    assert indices.at["c000", "loyalty_change_points"] == pytest.approx(0.0, abs=1e-9)
    assert indices.at["c000", "loyalty_trend"] == "flat"
    assert indices.at["c000", "value_change_points"] == pytest.approx(0.0, abs=1e-9)
    assert indices.at["c000", "value_index_pct"] != pytest.approx(
        indices.at["c000", "value_previous_pct"]
    )
    assert any("F7 has no history" in note for note in synthetic_tables.notes)


def test_weights_of_every_index_and_method_sum_to_one(synthetic_tables):
    weights = synthetic_tables.index_weights
    sums = weights.groupby(["index_code", "weighting_method"])["weight"].sum()
    assert len(sums) == 3 * len(WEIGHTINGS)
    assert np.allclose(sums, 1.0)
    assert (weights["weight"] >= 0).all()
    expert = weights.loc[weights["weighting_method"] == "expert"].set_index(
        ["index_code", "indicator_code"]
    )["weight"]
    assert expert[("H1", "B1")] == 0.20 and expert[("H2", "F7")] == 0.30
    ratio = (
        weights.loc[weights["weighting_method"] == "ahp"]
        .groupby("index_code")["consistency_ratio"]
        .first()
    )
    for code in ("H1", "H2", "H3"):
        assert ratio[code] == pytest.approx(
            ahp_weights(AHP[code], code).details["consistency_ratio"]
        )
        assert ratio[code] < 0.1
    assert weights.loc[weights["is_applied"], "weighting_method"].unique().tolist() == ["expert"]
    # entropy learns H1's weights on the reference (previous) customers with every H1
    # indicator known: here those who answered the survey (E3 and A2)
    previous = synthetic_windows().query("is_previous_window")
    answered = (
        previous["likelihood_to_recommend_score"].notna() & previous["satisfaction_pct"].notna()
    )
    learnt = weights.loc[
        (weights["index_code"] == "H1") & (weights["weighting_method"] == "entropy")
    ]
    assert (learnt["learnt_on_rows"] == answered.sum()).all()


def test_segments_have_the_reports_shape_and_the_seed_labels(synthetic_tables):
    segments = synthetic_tables.customer_segments
    assert list(segments.columns) == SEGMENT_COLUMNS
    assert not segments.duplicated(["customer_id", "segment_scheme"]).any()
    assert set(segments["segment_scheme"]) == {"value_loyalty", "rfm"}
    actions = load_segment_actions()
    for row in segments.drop_duplicates(["segment_scheme", "segment_code"]).itertuples():
        seed = actions.loc[(row.segment_scheme, row.segment_code)]
        assert (row.segment_en, row.segment_zh, row.action_en, row.action_zh) == (
            seed["segment_en"],
            seed["segment_zh"],
            seed["action_en"],
            seed["action_zh"],
        )
    # value x loyalty: high means above the window's median
    indices = synthetic_tables.customer_indices.set_index("customer_id")
    quadrant = segments.loc[segments["segment_scheme"] == "value_loyalty"].set_index("customer_id")[
        "segment_code"
    ]
    high_value = indices["value_index_pct"] > indices["value_index_pct"].median()
    high_loyalty = indices["loyalty_index_pct"] > indices["loyalty_index_pct"].median()
    expected = (
        np.where(high_value, "high_value", "low_value")
        + "_"
        + np.where(high_loyalty, "high_loyalty", "low_loyalty")
    )
    assert (quadrant.reindex(indices.index).to_numpy() == expected).all()
    migration = synthetic_tables.segment_migration
    for scheme in ("value_loyalty", "rfm"):
        moved = migration.loc[migration["segment_scheme"] == scheme]
        assert moved["customers"].sum() == 120  # every current customer, from somewhere


def test_extra_revenue_by_hand_from_the_published_bands(synthetic_tables):
    indices = synthetic_tables.customer_indices.set_index("customer_id")
    rows = window_rows(prepare_windows(synthetic_windows()), pd.Timestamp("2025-06-01"))
    base = rows.loc[rows["active_in_window_flag"] == 1, "net_revenue_cny"]
    top = indices["loyalty_band"].reindex(base.index) == "green"
    row = synthetic_tables.loyalty_extra_revenue.iloc[0]
    assert row["customers"] == len(base) and row["top_customers"] == top.sum() > 0
    assert row["extra_revenue_cny"] == pytest.approx(base[top].sum() - top.sum() * base.mean())


def test_backtest_has_every_index_and_method_with_auc_within_0_1(synthetic_tables):
    backtest = synthetic_tables.index_backtest
    assert len(backtest) == 2 * len(WEIGHTINGS)
    assert set(zip(backtest["index_code"], backtest["weighting_method"], strict=True)) == {
        (code, method) for code in ("H1", "H2") for method in WEIGHTINGS
    }
    assert backtest["auc_next_retention"].between(0, 1).all()
    assert backtest["spearman_next_revenue"].between(-1, 1).all()
    assert (backtest["reference_window_end_on"].astype(str) == "2023-03-31").all()
    assert (backtest.loc[backtest["index_code"] == "H2", "missing_indicators"] == "F7").all()
    # the latent loyalty drives retention: H1 ranks retained customers above lost ones
    h1 = backtest.loc[backtest["index_code"] == "H1", "auc_next_retention"]
    assert (h1 > 0.6).all()


def test_without_a_previous_window_there_is_no_trend_or_migration():
    windows = synthetic_windows()
    tables = compute_tables(
        synthetic_inputs(windows=windows.loc[~windows["is_previous_window"]], clv=None)
    )
    assert tables.customer_indices["loyalty_trend"].isna().all()
    assert tables.segment_migration.empty
    assert (tables.management_level["score_window"] == "current").all()
    assert tables.customer_indices["value_coverage_rate"].max() <= 0.7 + 1e-12  # no F7
    assert any("no previous window" in note for note in tables.notes)
    assert any("no CLV" in note for note in tables.notes)


# --- the session's end-to-end warehouse (300 customers) ----------------------------------


@pytest.fixture(scope="module")
def warehouse_inputs(built_warehouse):
    with duckdb.connect(built_warehouse, read_only=True) as con:
        inputs, notes = read_inputs(con)
    return inputs, notes


@pytest.mark.slow
def test_index_inputs_match_pandas_on_the_orders(built_warehouse, warehouse_inputs):
    windows = prepare_windows(warehouse_inputs[0].windows)
    with duckdb.connect(built_warehouse, read_only=True) as con:
        orders = con.execute(
            "select customer_id, ordered_on, amount_cny, is_credit_note from fct_orders"
        ).df()
        value = con.execute(
            "select customer_id, recency_days, invoices, revenue_cny from customer_value"
        ).df()
    orders["ordered_on"] = pd.to_datetime(orders["ordered_on"])
    orders["amount_cny"] = orders["amount_cny"].astype(float)
    for flag in ("is_current_window", "is_previous_window"):
        rows = windows.loc[windows[flag]].set_index("customer_id")
        start, end = rows["window_start_on"].iloc[0], rows["window_end_on"].iloc[0]
        before = start - pd.Timedelta(days=365)  # the prior year: the 365 days before
        inside = orders.loc[orders["ordered_on"].between(start, end)]
        net = inside.groupby("customer_id")["amount_cny"].sum().reindex(rows.index, fill_value=0)
        invoices = (
            inside.loc[~inside["is_credit_note"]]
            .groupby("customer_id")
            .size()
            .reindex(rows.index, fill_value=0)
        )
        prior = (
            orders.loc[(orders["ordered_on"] >= before) & (orders["ordered_on"] < start)]
            .groupby("customer_id")["amount_cny"]
            .sum()
            .reindex(rows.index, fill_value=0)
        )
        assert np.allclose(rows["net_revenue_cny"], net)
        assert (rows["repeat_order_count"] == (invoices - 1).clip(lower=0)).all()
        growth = (net / prior - 1).where(prior > 0)
        assert np.allclose(rows["revenue_growth_rate"], growth, equal_nan=True)
    current = windows.loc[windows["is_current_window"]].set_index("customer_id")
    value = value.set_index("customer_id").reindex(current.index)
    assert np.allclose(current["recency_days"], value["recency_days"], equal_nan=True)
    assert (current["invoices_to_date"] == value["invoices"]).all()
    assert np.allclose(current["net_revenue_to_date_cny"], value["revenue_cny"])


@pytest.mark.slow
def test_indices_on_the_built_warehouse_are_bounded_and_monotone(warehouse_inputs):
    inputs, notes = warehouse_inputs
    tables = compute_tables(inputs, SETTINGS)
    indices = tables.customer_indices
    for column in ("loyalty_index_pct", "value_index_pct"):
        assert indices[column].notna().mean() > 0.9, column
        assert indices[column].dropna().between(0, 100).all(), column
    assert inputs.clv is not None, notes  # the build computes the CLV first
    # Entropy and CRITIC learn on the reference customers with every indicator known (the
    # survey respondents); a small firm may have too few: those methods are then left out,
    # with a note, and expert and AHP weights always exist.
    weights = tables.index_weights
    sums = weights.groupby(["index_code", "weighting_method"])["weight"].sum()
    assert np.allclose(sums, 1.0)
    learnt = set(weights.loc[weights["index_code"] == "H2", "weighting_method"])
    assert {(code, method) for code in ("H1", "H2", "H3") for method in ("expert", "ahp")} <= set(
        sums.index
    )
    for method in set(WEIGHTINGS) - learnt:
        assert any(note.startswith(f"{method} weights could not") for note in tables.notes)
    windows = prepare_windows(inputs.windows)
    current_end = windows.loc[windows["is_current_window"], "window_end_month_on"].iloc[0]
    previous_end = windows.loc[windows["is_previous_window"], "window_end_month_on"].iloc[0]
    current = indicator_frame(window_rows(windows, current_end), inputs.clv)
    reference, _ = reference_with_history(
        indicator_frame(window_rows(windows, previous_end)), current
    )
    raised = current.assign(F4=current["F4"] + current["F4"].abs() + 10_000.0)
    fewer_complaints = current.assign(D1=0.0)
    for method in sorted(learnt):
        before = score_customers(current, reference, method, SETTINGS, DEFINITIONS, AHP)
        after = score_customers(raised, reference, method, SETTINGS, DEFINITIONS, AHP)
        both = before.value.scores.notna() & after.value.scores.notna()
        assert (after.value.scores[both] >= before.value.scores[both] - 1e-9).all(), method
        if method == "expert":
            assert (after.value.scores[both] > before.value.scores[both] + 1e-9).any()
        calmer = score_customers(fewer_complaints, reference, method, SETTINGS, DEFINITIONS, AHP)
        assert (calmer.loyalty.scores >= before.loyalty.scores - 1e-9).all(), method
    backtest = tables.index_backtest
    assert set(backtest["weighting_method"]) == set(WEIGHTINGS)
    assert backtest.loc[backtest["weighting_method"] == "expert", "note"].isna().all()
    assert backtest["auc_next_retention"].dropna().between(0, 1).all()
    assert backtest["auc_next_retention"].notna().any()
    assert list(tables.customer_segments.columns) == SEGMENT_COLUMNS


@pytest.mark.slow
def test_h3_company_row_recomputed_from_the_inputs(warehouse_inputs):
    inputs, _ = warehouse_inputs
    tables = compute_tables(inputs, SETTINGS)
    windows = prepare_windows(inputs.windows)
    rows = windows.loc[windows["is_current_window"] & (windows["active_in_window_flag"] == 1)]
    at_start = rows["active_at_start_flag"] == 1
    level = tables.management_level
    company = level.loc[
        (level["unit_type"] == "company") & (level["score_window"] == "current")
    ].iloc[0]
    assert company["customers"] == len(rows)
    assert company["complaints_per_customer"] == pytest.approx(rows["complaint_count"].mean())
    assert company["churn_rate"] == pytest.approx(
        rows.loc[at_start, "churned_in_window_flag"].mean()
    )
    assert company["engagement_pct"] == pytest.approx(
        rows["event_participation_count"].mean() * 100
    )
    managers = level.loc[
        (level["unit_type"] == "account_manager") & (level["score_window"] == "current")
    ]
    assert managers["customers"].sum() == len(rows)  # every customer has a current manager
    # H3 of the company from its indicators by hand: compute_index on the same units
    assert company["management_level_pct"] == pytest.approx(
        compute_index(
            DEFINITIONS["H3"],
            pd.DataFrame(
                [
                    company[
                        [
                            "satisfaction_pct",
                            "loyalty_index_pct",
                            "complaints_per_customer",
                            "churn_rate",
                            "engagement_pct",
                        ]
                    ].to_numpy(dtype=float)
                ],
                columns=["A2", "H1", "D1", "B2", "C3"],
            ),
            reference=level.loc[level["score_window"] == "previous"].rename(
                columns={
                    "satisfaction_pct": "A2",
                    "loyalty_index_pct": "H1",
                    "complaints_per_customer": "D1",
                    "churn_rate": "B2",
                    "engagement_pct": "C3",
                }
            )[["A2", "H1", "D1", "B2", "C3"]],
            quantiles=SETTINGS.quantiles,
        ).scores.iloc[0]
    )


@pytest.mark.slow
def test_the_assets_materialise_and_pass_their_check(built_warehouse, tmp_path):
    from dagster import materialize
    from dagster_duckdb import DuckDBResource

    from orchestration.assets.indices import INDEX_ASSETS

    database = tmp_path / "warehouse.duckdb"
    shutil.copy(built_warehouse, database)
    result = materialize(
        INDEX_ASSETS,
        resources={
            "duckdb": DuckDBResource(database=str(database)),
            "settings": Settings.from_env(),
        },
    )
    assert result.success
    [check] = result.get_asset_check_evaluations()
    assert check.passed, check.metadata
    with duckdb.connect(str(database), read_only=True) as con:
        columns = [
            row[0]
            for row in con.execute(
                "select column_name from information_schema.columns where table_schema = "
                "'analytics' and table_name = 'customer_segments' order by ordinal_position"
            ).fetchall()
        ]
        customers, rows = con.execute(
            "select count(distinct customer_id), count(*) from analytics.customer_indices"
        ).fetchone()
        dim = con.execute("select count(*) from dim_customers").fetchone()[0]
    assert columns == SEGMENT_COLUMNS
    assert customers == rows == dim
