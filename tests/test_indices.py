"""Composite indices, weights, segments and F10 against hand-computed and published values."""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from orchestration.indices import (
    ACTIONS,
    SAATY_RANDOM_INDEX,
    IndexDefinition,
    MinMaxReference,
    ZScoreReference,
    aggregate,
    ahp_weights,
    band,
    compute_index,
    critic_weights,
    entropy_weights,
    load_ahp_matrices,
    load_catalogue,
    load_expert_weights,
    load_index_definitions,
    load_segment_actions,
    loyalty_extra_revenue,
    rfm_scores,
    rfm_segments,
    segment_migration,
    survey_loyalty_index,
    trend,
    value_loyalty_segments,
)

CATALOGUE = load_catalogue()
DEFINITIONS = load_index_definitions()
WEIGHTS_HEADER = "index_code,indicator_code,weight,measure"
PAIRWISE_HEADER = "index_code,row_indicator_code,column_indicator_code,preference"


def matrix(rows: list[str], labels: list[str] | None = None) -> pd.DataFrame:
    """A pairwise matrix from rows written as in the textbook ("1 1/3 5")."""
    values = [[float(Fraction(cell)) for cell in row.split()] for row in rows]
    labels = labels or [f"c{i}" for i in range(len(values))]
    return pd.DataFrame(values, index=labels, columns=labels)


def write(tmp_path: Path, name: str, lines: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# --- weights: entropy and CRITIC by hand -------------------------------------------------


def test_entropy_weights_by_hand():
    # Three rows, three normalised indicators:
    #   a = (1, 1, 1):        p = (1/3, 1/3, 1/3), e = ln 3 / ln 3 = 1, d = 0
    #   b = (1, 0, 0):        p = (1, 0, 0), e = 0 (0 · ln 0 = 0), d = 1
    #   c = (.5, .25, .25):   p = (.5, .25, .25),
    #                         e = −(.5 ln .5 + 2 × .25 ln .25) / ln 3 = 1.5 ln 2 / ln 3 = 0.946395
    #                         d = 1 − 0.946395 = 0.053605
    # w = d / Σd: a 0, b 1 / 1.053605 = 0.949122, c 0.053605 / 1.053605 = 0.050878
    data = pd.DataFrame({"a": [1, 1, 1], "b": [1, 0, 0], "c": [0.5, 0.25, 0.25]})
    result = entropy_weights(data)
    d_c = 1 - 1.5 * math.log(2) / math.log(3)
    assert result.method == "entropy"
    assert result.weights["a"] == pytest.approx(0.0, abs=1e-12)
    assert result.weights["b"] == pytest.approx(1 / (1 + d_c))
    assert result.weights["c"] == pytest.approx(d_c / (1 + d_c))
    assert result.weights["b"] == pytest.approx(0.949122, abs=1e-6)
    assert result.details["entropy_c"] == pytest.approx(0.946395, abs=1e-6)


def test_entropy_weights_use_complete_rows_and_reject_negative_values():
    data = pd.DataFrame({"a": [1, 1, 1, np.nan], "b": [1, 0, 0, 1], "c": [0.5, 0.25, 0.25, 1]})
    assert entropy_weights(data).details["rows"] == 3
    with pytest.raises(ValueError, match="non-negative"):
        entropy_weights(pd.DataFrame({"a": [-1.0, 1.0], "b": [0.0, 1.0]}))


def test_critic_weights_by_hand():
    # a = (0, .5, 1), b = (1, .5, 0), c = (0, 1, 1)
    # population σ: σ_a = σ_b = √(0.5/3) = 1/√6; σ_c = √((4/9 + 1/9 + 1/9)/3) = √2/3
    # Pearson: r_ab = −1; r_ac = 0.5 / (√0.5 · √(2/3)) = √3/2; r_bc = −√3/2
    # C_a = σ_a [(1 − 1) + (1 + 1) + (1 − √3/2)] = (3 − √3/2)/√6 = 0.871195
    # C_b = σ_b [(1 + 1) + 0 + (1 + √3/2)]       = (3 + √3/2)/√6 = 1.578301
    # C_c = σ_c [(1 − √3/2) + (1 + √3/2) + 0]    = 2√2/3         = 0.942809
    # Σ = 3.392305; w = (0.256814, 0.465259, 0.277926)
    data = pd.DataFrame({"a": [0, 0.5, 1], "b": [1, 0.5, 0], "c": [0, 1, 1]})
    result = critic_weights(data)
    assert result.method == "critic"
    assert result.weights.to_numpy() == pytest.approx([0.256814, 0.465259, 0.277926], abs=1e-6)
    assert result.weights.sum() == pytest.approx(1.0)


def test_critic_gives_a_constant_indicator_no_weight():
    data = pd.DataFrame({"a": [0, 0.5, 1], "b": [1, 0.5, 0], "k": [0.3, 0.3, 0.3]})
    weights = critic_weights(data).weights
    # a and b: σ = 1/√6 each, conflict (1 − (−1)) + (1 − 0) = 3 each -> 1/2, 1/2; k: σ = 0.
    assert weights.to_dict() == pytest.approx({"a": 0.5, "b": 0.5, "k": 0.0})


# --- weights: AHP ------------------------------------------------------------------------


def test_saaty_random_index_table():
    assert SAATY_RANDOM_INDEX == {
        1: 0.0,
        2: 0.0,
        3: 0.58,
        4: 0.90,
        5: 1.12,
        6: 1.24,
        7: 1.32,
        8: 1.41,
        9: 1.45,
        10: 1.49,
    }


def test_ahp_saaty_drink_consumption_example():
    # Saaty (2008), "Decision making with the analytic hierarchy process", Int. J. Services
    # Sciences 1(1): relative consumption of drinks in the U.S. (coffee, wine, tea, beer,
    # sodas, milk, water); published eigenvector .177 .019 .042 .116 .190 .129 .327, C.R. .022.
    drinks = matrix(
        [
            "1 9 5 2 1 1 1/2",
            "1/9 1 1/3 1/9 1/9 1/9 1/9",
            "1/5 3 1 1/3 1/4 1/3 1/9",
            "1/2 9 3 1 1/2 1 1/3",
            "1 9 4 2 1 2 1/2",
            "1 9 3 1 1/2 1 1/3",
            "2 9 9 3 2 3 1",
        ],
        ["coffee", "wine", "tea", "beer", "sodas", "milk", "water"],
    )
    result = ahp_weights(drinks, name="drinks")
    published = [0.177, 0.019, 0.042, 0.116, 0.190, 0.129, 0.327]
    assert result.method == "ahp"
    assert result.weights.to_numpy() == pytest.approx(published, abs=5e-4)
    assert result.details["random_index"] == 1.32
    assert result.details["consistency_ratio"] == pytest.approx(0.022, abs=5e-4)


HOUSE = [  # Saaty (1990), "How to make a decision", EJOR 48: criteria for buying a house
    "1 5 3 7 6 6 1/3 1/4",
    "1/5 1 1/3 5 3 3 1/5 1/7",
    "1/3 3 1 6 3 4 6 1/5",
    "1/7 1/5 1/6 1 1/3 1/4 1/7 1/8",
    "1/6 1/3 1/3 3 1 1/2 1/5 1/6",
    "1/6 1/3 1/4 4 2 1 1/5 1/6",
    "3 5 1/6 7 5 5 1 1/2",
    "4 7 5 8 6 6 2 1",
]


def test_ahp_inconsistent_textbook_matrix_is_rejected_with_its_name():
    # Published: λ_max 9.669, C.I. 0.238, C.R. 0.169 (RI 1.41 for n = 8): too inconsistent.
    with pytest.raises(ValueError, match=r"AHP matrix house: consistency ratio 0\.169"):
        ahp_weights(matrix(HOUSE), name="house")


def test_ahp_house_example_matches_published_eigenvector_when_allowed():
    result = ahp_weights(matrix(HOUSE), name="house", max_consistency_ratio=1.0)
    published = [0.173, 0.054, 0.188, 0.018, 0.031, 0.036, 0.167, 0.333]
    assert result.weights.to_numpy() == pytest.approx(published, abs=5e-4)
    assert result.details["lambda_max"] == pytest.approx(9.669, abs=5e-4)
    assert result.details["consistency_index"] == pytest.approx(0.238, abs=5e-4)
    assert result.details["consistency_ratio"] == pytest.approx(0.169, abs=5e-4)


def test_ahp_consistent_matrix_recovers_the_weights_exactly():
    # a_ij = w_i / w_j is perfectly consistent: λ_max = n, CI = CR = 0, eigenvector = w.
    w = np.array([0.5, 0.3, 0.2])
    result = ahp_weights(pd.DataFrame(np.outer(w, 1 / w)), name="consistent")
    assert result.weights.to_numpy() == pytest.approx(w)
    assert result.details["lambda_max"] == pytest.approx(3.0)
    assert result.details["consistency_ratio"] == pytest.approx(0.0, abs=1e-9)


def test_ahp_rejects_non_reciprocal_and_non_positive_matrices():
    with pytest.raises(ValueError, match=r"AHP matrix m: not reciprocal at \(c0, c1\)"):
        ahp_weights(matrix(["1 3 1", "1/2 1 1", "1 1 1"]), name="m")
    with pytest.raises(ValueError, match=r"AHP matrix m: entry \(c0, c1\) = 0.0 is not positive"):
        ahp_weights(matrix(["1 0", "1 1"]), name="m")


def test_ahp_seed_matrices_are_consistent_and_cover_each_index():
    matrices = load_ahp_matrices()
    for code, pairwise in matrices.items():
        result = ahp_weights(pairwise, name=code)
        assert set(pairwise.index) == set(DEFINITIONS[code].indicators)
        assert result.details["consistency_ratio"] < 0.1
    # H3 in the seed is perfectly consistent: A2 = H1 = B2 = 2 × D1 = 2 × C3.
    assert ahp_weights(matrices["H3"], name="H3").weights.to_dict() == pytest.approx(
        {"A2": 0.25, "H1": 0.25, "D1": 0.125, "B2": 0.25, "C3": 0.125}
    )


def test_ahp_seed_errors_name_file_index_and_pair(tmp_path):
    missing = write(tmp_path, "pairs.csv", [PAIRWISE_HEADER, "H3,A2,D1,2"])
    with pytest.raises(ValueError, match=r"pairs\.csv, index H3: pair \('D1', 'A2'\) is missing"):
        load_ahp_matrices(missing, CATALOGUE)
    bad = write(tmp_path, "pairs.csv", [PAIRWISE_HEADER, "H3,A2,D1,2", "H3,D1,A2,0.4"])
    with pytest.raises(ValueError, match=r"pairs\.csv, index H3: not reciprocal at \(A2, D1\)"):
        load_ahp_matrices(bad, CATALOGUE)
    unknown = write(tmp_path, "pairs.csv", [PAIRWISE_HEADER, "H3,A2,Z9,2", "H3,Z9,A2,0.5"])
    with pytest.raises(ValueError, match=r"pairs\.csv, index H3: indicator 'Z9' is not in"):
        load_ahp_matrices(unknown, CATALOGUE)


# --- normalisation -----------------------------------------------------------------------


def test_minmax_inverts_lower_is_better_indicators_from_the_catalogue():
    # The catalogue says D1 (complaint rate) is lower_is_better and A2 higher_is_better.
    directions = DEFINITIONS["H3"].directions
    assert directions["D1"] == "lower_is_better"
    assert directions["A2"] == "higher_is_better"
    reference = pd.DataFrame({"A2": [60.0, 80.0], "D1": [0.0, 10.0]})
    scaler = MinMaxReference.fit(reference, {"A2": directions["A2"], "D1": directions["D1"]})
    out = scaler.transform(pd.DataFrame({"A2": [65.0], "D1": [2.0]}))
    assert out.loc[0, "A2"] == pytest.approx(0.25)  # (65 − 60) / 20
    assert out.loc[0, "D1"] == pytest.approx(0.8)  # (10 − 2) / 10: fewer complaints is better


def test_minmax_reference_is_fixed_and_later_values_are_clipped():
    scaler = MinMaxReference.fit(
        pd.DataFrame({"up": [10.0, 20.0], "down": [10.0, 20.0]}),
        {"up": "higher_is_better", "down": "lower_is_better"},
    )
    later = pd.DataFrame({"up": [25.0, 5.0, 15.0, np.nan], "down": [25.0, 5.0, 15.0, 12.0]})
    out = scaler.transform(later)
    assert out["up"].tolist()[:3] == [1.0, 0.0, 0.5]  # 25 above the reference max -> 1
    assert math.isnan(out["up"].iloc[3])  # missing stays missing
    assert out["down"].tolist() == pytest.approx([0.0, 1.0, 0.5, 0.8])
    assert scaler.minimum["up"] == 10.0 and scaler.maximum["up"] == 20.0


def test_minmax_between_reference_quantiles_resists_an_outlier():
    # Reference 0, 1, …, 100: the 10 % and 90 % quantiles are 10 and 90 (linear interpolation).
    reference = pd.DataFrame({"F7": np.arange(101, dtype=float)})
    scaler = MinMaxReference.fit(reference, {"F7": "higher_is_better"}, quantiles=(0.1, 0.9))
    assert (scaler.minimum["F7"], scaler.maximum["F7"]) == (10.0, 90.0)
    out = scaler.transform(pd.DataFrame({"F7": [50.0, 95.0, 5.0]}))["F7"]
    assert out.tolist() == pytest.approx([0.5, 1.0, 0.0])
    assert scaler.method == "minmax_reference_q0.1_q0.9"


def test_minmax_constant_reference_column_is_missing_not_a_number():
    scaler = MinMaxReference.fit(pd.DataFrame({"k": [3.0, 3.0]}), {"k": "higher_is_better"})
    assert scaler.transform(pd.DataFrame({"k": [3.0, 4.0]}))["k"].isna().all()


def test_zscore_uses_the_reference_mean_and_sample_sd_oriented():
    # reference (2, 4, 6): mean 4, sample sd = √((4 + 0 + 4) / 2) = 2
    scaler = ZScoreReference.fit(
        pd.DataFrame({"up": [2.0, 4.0, 6.0], "down": [2.0, 4.0, 6.0]}),
        {"up": "higher_is_better", "down": "lower_is_better"},
    )
    z = scaler.transform(pd.DataFrame({"up": [8.0, 4.0], "down": [8.0, 4.0]}))
    assert z["up"].tolist() == pytest.approx([2.0, 0.0])
    assert z["down"].tolist() == pytest.approx([-2.0, 0.0])
    unit = scaler.transform(
        pd.DataFrame({"up": [8.0, 4.0], "down": [8.0, 4.0]}), unit_interval=True
    )
    assert unit["up"].tolist() == pytest.approx([0.977250, 0.5], abs=1e-6)  # Φ(2), Φ(0)


def test_neutral_or_unknown_indicator_cannot_be_oriented():
    with pytest.raises(ValueError, match="'B4'"):
        MinMaxReference.fit(pd.DataFrame({"B4": [1.0, 2.0]}), {"B4": "neutral"})


# --- aggregation, coverage, bounds, monotonicity -----------------------------------------


def test_missing_indicator_is_reweighted_and_coverage_reported():
    weights = pd.Series({"a": 0.5, "b": 0.3, "c": 0.2})
    normalised = pd.DataFrame(
        {
            "a": [1.0, 0.4, np.nan, np.nan],
            "b": [0.5, 0.8, np.nan, np.nan],
            "c": [0.0, np.nan, 0.9, np.nan],
        },
        index=["full", "no_c", "only_c", "nothing"],
    )
    result = aggregate(normalised, weights, min_coverage=0.5)
    # full:   100 × (0.5 × 1 + 0.3 × 0.5 + 0.2 × 0) = 65, coverage 1
    # no_c:   100 × (0.5 × 0.4 + 0.3 × 0.8) / 0.8 = 100 × 0.44 / 0.8 = 55, coverage 0.8
    # only_c: coverage 0.2 < 0.5 -> missing, not 0; nothing: coverage 0 -> missing
    assert result.scores["full"] == pytest.approx(65.0)
    assert result.scores["no_c"] == pytest.approx(55.0)
    assert math.isnan(result.scores["only_c"])
    assert math.isnan(result.scores["nothing"])
    assert result.coverage.tolist() == pytest.approx([1.0, 0.8, 0.2, 0.0])
    assert result.weights.to_dict() == {"a": 0.5, "b": 0.3, "c": 0.2}
    # With a lower minimum the lone indicator carries the score: 100 × 0.9.
    assert aggregate(normalised, weights, min_coverage=0.2).scores["only_c"] == pytest.approx(90)


def test_aggregate_refuses_a_weighted_indicator_absent_from_the_data():
    with pytest.raises(ValueError, match="column.*c missing"):
        aggregate(pd.DataFrame({"a": [1.0]}), pd.Series({"a": 0.5, "c": 0.5}))


def test_compute_index_h3_by_hand():
    # H3 expert weights: A2 .25, H1 .25, D1 .15 (inverted), B2 .20 (inverted), C3 .15.
    reference = pd.DataFrame(
        {
            "A2": [60.0, 80.0],
            "H1": [50.0, 70.0],
            "D1": [0.2, 0.4],
            "B2": [0.10, 0.30],
            "C3": [10.0, 30.0],
        },
        index=["unit_a", "unit_b"],
    )
    later = pd.DataFrame(
        {"A2": [70.0], "H1": [90.0], "D1": [0.3], "B2": [np.nan], "C3": [40.0]}, index=["unit_c"]
    )
    h3 = DEFINITIONS["H3"]
    base = compute_index(h3, reference)
    # unit_a normalised (0, 0, 1, 1, 0): 100 × (.15 + .20) = 35
    # unit_b normalised (1, 1, 0, 0, 1): 100 × (.25 + .25 + .15) = 65
    assert base.scores.tolist() == pytest.approx([35.0, 65.0])
    assert base.method == "minmax_reference+expert"
    result = compute_index(h3, later, reference=reference)
    # unit_c: A2 .5, H1 1 (90 clipped), D1 .5, B2 missing, C3 1 (40 clipped)
    # available weight .8; Σ w x = .125 + .25 + .075 + .15 = .6 -> 100 × .6 / .8 = 75
    assert result.scores["unit_c"] == pytest.approx(75.0)
    assert result.coverage["unit_c"] == pytest.approx(0.8)
    assert result.frame().loc["unit_c", "band"] == "yellow"
    assert result.details["reference_max_H1"] == 70.0
    # Explicit weights override the seed: all weight on A2 -> 100 × 0.5.
    only_a2 = pd.Series({"A2": 1.0, "H1": 0.0, "D1": 0.0, "B2": 0.0, "C3": 0.0})
    given = compute_index(h3, later, reference=reference, weights=only_a2)
    assert given.scores["unit_c"] == pytest.approx(50.0)
    assert given.method == "minmax_reference+given"


def test_compute_index_zscore_maps_the_reference_mean_to_50():
    # Every indicator at its reference mean: z = 0, Φ(0) = 0.5 each -> index 50.
    reference = pd.DataFrame(
        {"A2": [60.0, 80.0], "H1": [50.0, 70.0], "D1": [0.2, 0.4], "B2": [0.1, 0.3], "C3": [1, 3]}
    )
    at_mean = reference.mean().to_frame().T
    result = compute_index(DEFINITIONS["H3"], at_mean, reference=reference, normalisation="zscore")
    assert result.scores.iloc[0] == pytest.approx(50.0)
    assert result.method == "zscore_reference+expert"
    assert result.details["reference_sd_A2"] == pytest.approx(math.sqrt(200))  # sample sd


def test_compute_index_learns_data_driven_weights_on_the_reference_period():
    reference = pd.DataFrame({"A2": [0.0, 1.0, 2.0], "D1": [2.0, 1.0, 0.0], "C3": [0, 0, 3.0]})
    definition = IndexDefinition(
        "H3",
        "test",
        "test",
        pd.Series({"A2": 0.5, "D1": 0.3, "C3": 0.2}),
        {"A2": "higher_is_better", "D1": "lower_is_better", "C3": "higher_is_better"},
    )
    later = reference * 1.5
    for weighting, weigh in (("entropy", entropy_weights), ("critic", critic_weights)):
        result = compute_index(definition, later, reference=reference, weighting=weighting)
        expected = weigh(MinMaxReference.fit(reference, definition.directions).transform(reference))
        assert result.weights.to_dict() == pytest.approx(expected.weights.to_dict())
        assert result.method == f"minmax_reference+{weighting}"


def test_compute_index_with_seed_ahp_weights_reports_consistency():
    units = pd.DataFrame(
        {"A2": [60.0, 80.0], "H1": [50.0, 70.0], "D1": [0.2, 0.4], "B2": [0.1, 0.3], "C3": [1, 3]}
    )
    result = compute_index(
        DEFINITIONS["H3"], units, weighting="ahp", ahp_matrix=load_ahp_matrices()["H3"]
    )
    # AHP weights A2 .25, H1 .25, D1 .125, B2 .25, C3 .125; first unit scores D1 and B2 only.
    assert result.scores.tolist() == pytest.approx([37.5, 62.5])
    assert result.details["consistency_ratio"] == pytest.approx(0.0, abs=1e-9)


def test_index_stays_within_0_100_and_improving_an_indicator_never_lowers_it():
    rng = np.random.default_rng(20240601)
    h1 = DEFINITIONS["H1"]
    columns = list(h1.indicators)
    data = pd.DataFrame(rng.normal(50, 20, size=(300, len(columns))), columns=columns)
    data = data.mask(rng.random(data.shape) < 0.15)  # 15 % missing at random
    reference = data.iloc[:150]
    scores = compute_index(h1, data, reference=reference).scores
    assert scores.dropna().between(0, 100).all()
    assert scores.notna().sum() > 250
    rises = 0
    for trial in range(400):
        row = int(rng.integers(len(data)))
        code = columns[trial % len(columns)]
        if pd.isna(data.at[row, code]):
            continue
        step = float(rng.uniform(0.1, 60.0))
        better = data.copy()
        # Improving means lower for D1 (complaints, lower_is_better), higher otherwise.
        better.at[row, code] += step if h1.directions[code] == "higher_is_better" else -step
        new = compute_index(h1, better, reference=reference).scores
        if not math.isnan(scores[row]):
            assert new[row] >= scores[row] - 1e-9, (code, row)
            assert new[row] <= 100.0
            rises += new[row] > scores[row] + 1e-9
        unchanged = new.drop(index=row)
        assert unchanged.equals(scores.drop(index=row))  # fixed reference: others unmoved
    assert rises > 100  # the check bites: most improvements do raise the score


# --- expert-weight seed validation -------------------------------------------------------


def test_shipped_expert_weights_seed_is_valid_and_sums_to_one():
    weights = load_expert_weights()
    assert set(weights) == {"H1", "H2", "H3"}
    for series in weights.values():
        assert series.sum() == pytest.approx(1.0, abs=1e-9)
    assert set(weights["H1"].index) == {"B1", "F3", "G4", "E1", "C3", "E3", "A2", "D1"}
    assert set(weights["H3"].index) == {"A2", "H1", "D1", "B2", "C3"}


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (
            ["H3,A2,0.6,", "H3,D1,-0.1,", "H3,B2,0.5,"],
            r"weights\.csv, index H3: indicator 'D1' has a negative weight -0\.1",
        ),
        (
            ["H3,A2,0.6,", "H3,D1,0.3,"],
            r"weights\.csv, index H3: weights sum to 0\.9, not 1 .*A2=0\.6, D1=0\.3",
        ),
        (
            ["H3,A2,0.6,", "H3,Z9,0.4,"],
            r"weights\.csv, index H3: indicator 'Z9' is not in the indicator catalogue",
        ),
        (
            ["H3,A2,0.6,", "H3,B4,0.4,"],
            r"weights\.csv, index H3: indicator 'B4' has direction 'neutral'",
        ),
        (
            ["H3,A2,0.6,", "H3,A2,0.4,"],
            r"weights\.csv, index H3: indicator 'A2' appears more than once",
        ),
    ],
    ids=["negative", "not-summing-to-one", "unknown", "neutral", "duplicate"],
)
def test_expert_weights_seed_errors_name_file_index_and_indicator(tmp_path, rows, message):
    path = write(tmp_path, "weights.csv", [WEIGHTS_HEADER, *rows])
    with pytest.raises(ValueError, match=message):
        load_expert_weights(path, CATALOGUE)


def test_weights_summing_to_one_within_tolerance_pass(tmp_path):
    path = write(tmp_path, "weights.csv", [WEIGHTS_HEADER, "H3,A2,0.3333333,", "H3,D1,0.6666667,"])
    assert load_expert_weights(path, CATALOGUE)["H3"].sum() == pytest.approx(1.0)


# --- bands, trend, survey index ----------------------------------------------------------


def test_band_edges():
    scores = pd.Series([0, 50, 50.01, 51, 75, 75.01, 76, 100, np.nan])
    assert band(scores).tolist() == [
        "red",
        "red",
        "yellow",
        "yellow",
        "yellow",
        "green",
        "green",
        "green",
        None,
    ]
    custom = ((40.0, "low"), (100.0, "high"))
    assert band(pd.Series([40.0, 40.5]), custom).tolist() == ["low", "high"]
    with pytest.raises(ValueError, match="0, 100"):
        band(pd.Series([100.5]))
    with pytest.raises(ValueError, match="ending at 100"):
        band(pd.Series([1.0]), ((50.0, "a"), (90.0, "b")))


def test_trend_against_previous_period():
    previous = pd.Series({"a": 60.0, "b": 60.0, "c": 60.0, "d": 60.0})
    current = pd.Series({"a": 65.0, "b": 50.0, "c": 60.5, "e": 70.0, "d": np.nan})
    result = trend(current, previous)
    assert result.loc["a", "change_points"] == pytest.approx(5.0)
    assert result["trend"].to_dict() == {"a": "up", "b": "down", "c": "flat", "d": None, "e": None}


def test_survey_loyalty_index_is_mean_over_each_items_scale_maximum():
    # Seed 002: mean loyalty score / scale max × 100. Firm x: 4, 5, 3 on 1–5 -> 4 / 5 -> 80.
    # Firm y: 8 on 0–10 and 2 on 1–5 -> (0.8 + 0.4) / 2 = 0.6 -> 60; one unanswered item.
    scores = pd.Series([4, 5, 3, 8, 2, np.nan])
    scale_max = pd.Series([5, 5, 5, 10, 5, 5])
    groups = pd.Series(["x", "x", "x", "y", "y", "y"])
    result = survey_loyalty_index(scores, scale_max, groups)
    assert result.scores.to_dict() == pytest.approx({"x": 80.0, "y": 60.0})
    assert result.coverage.to_dict() == pytest.approx({"x": 1.0, "y": 2 / 3})
    assert result.method == "survey_mean_over_scale_max"
    with pytest.raises(ValueError, match="outside"):
        survey_loyalty_index(pd.Series([6.0]), 5)


# --- segments, actions, migration, F10 ---------------------------------------------------


def test_value_loyalty_quadrants_map_to_seed_actions():
    # median value of (10, 20, 30, 40, 25) = 25; median loyalty of (80, 20, 90, 30) = 55
    value = pd.Series({"c1": 10.0, "c2": 20.0, "c3": 30.0, "c4": 40.0, "c5": 25.0})
    loyalty = pd.Series({"c1": 80.0, "c2": 20.0, "c3": 90.0, "c4": 30.0, "c5": np.nan})
    result = value_loyalty_segments(value, loyalty)
    assert result.thresholds == {"value": 25.0, "loyalty": 55.0}
    assert result.segments["action_code"].dropna().to_dict() == {
        "c1": "develop",  # low value, high loyalty
        "c2": "maintain",  # low, low
        "c3": "retain",  # high, high
        "c4": "win_back",  # high value, low loyalty
    }
    assert result.segments.loc["c3", "segment_zh"] == "核心客户(高价值高忠诚)"
    assert result.segments.loc["c4", "action_zh"] == "挽回"
    assert pd.isna(result.segments.loc["c5", "segment_code"])
    # Band thresholds: loyalty high only in the green band (> 75).
    banded = value_loyalty_segments(value, loyalty, value_threshold=25, loyalty_threshold=75)
    assert banded.segments.loc["c1", "segment_code"] == "low_value_high_loyalty"
    assert banded.segments.loc["c3", "segment_code"] == "high_value_high_loyalty"


def test_rfm_eight_segments_and_actions():
    # Means: recency 55 days, frequency 5.5, monetary 550. R is high when recency < 55.
    r = [10, 10, 100, 100, 10, 10, 100, 100]
    f = [10, 1, 10, 1, 10, 1, 10, 1]
    m = [1000, 1000, 1000, 1000, 100, 100, 100, 100]
    result = rfm_segments(pd.Series(r), pd.Series(f), pd.Series(m))
    assert result.thresholds == {"recency_days": 55.0, "frequency": 5.5, "monetary": 550.0}
    assert result.segments["segment_code"].tolist() == [
        "important_value",
        "important_develop",
        "important_keep",
        "important_win_back",
        "general_value",
        "general_develop",
        "general_keep",
        "general_lapsed",
    ]
    assert result.segments["action_code"].tolist() == [
        "retain",
        "develop",
        "maintain",
        "win_back",
        "develop",
        "develop",
        "maintain",
        "let_go",
    ]
    assert result.segments["segment_zh"].iloc[0] == "重要价值客户"


def test_rfm_scores_by_percentile_rank():
    scores = rfm_scores(
        pd.Series([10, 20, 30, 40, 50]), pd.Series([1, 1, 2, 3, 9]), pd.Series([5, 4, 3, 2, 1])
    )
    assert scores["recency_score"].tolist() == [5, 4, 3, 2, 1]  # most recent scores 5
    # frequency ranks (1.5, 1.5, 3, 4, 5) / 5 × 5 -> ceil: 2, 2, 3, 4, 5
    assert scores["frequency_score"].tolist() == [2, 2, 3, 4, 5]
    assert scores["monetary_score"].tolist() == [5, 4, 3, 2, 1]


def test_segment_actions_seed_covers_every_segment_with_a_known_action(tmp_path):
    actions = load_segment_actions()
    assert set(actions["action_code"]) == set(ACTIONS)
    assert actions.loc[("rfm", "general_lapsed"), "action_en"] == "Let go"
    bad = write(
        tmp_path,
        "actions.csv",
        [
            "segment_scheme,segment_code,segment_en,segment_zh,rule,action_code,action_en,action_zh",
            "rfm,important_value,Important value,重要价值客户,r,pamper,Pamper,宠",
        ],
    )
    with pytest.raises(ValueError, match=r"actions\.csv: segment 'important_value' has action"):
        load_segment_actions(bad)


def test_segment_migration_counts_transitions():
    before = pd.Series({"a": "core", "b": "core", "c": "x", "d": "y", "f": None})
    after = pd.Series({"a": "core", "b": "x", "c": "x", "e": "core", "f": "x"})
    counts = segment_migration(before, after).set_index(["from_segment", "to_segment"])
    assert counts["customers"].to_dict() == {
        ("absent", "core"): 1,  # e is new
        ("core", "core"): 1,
        ("core", "x"): 1,
        ("unsegmented", "x"): 1,  # f had no segment before
        ("x", "x"): 1,
        ("y", "absent"): 1,  # d left
    }


def test_loyalty_extra_revenue_by_hand():
    # Five customers, revenue 100, 200, 300, 400, 0; bands red, yellow, green, green, none.
    # Base average = 1000 / 5 = 200. Green: 2 customers, 700 revenue, average 350.
    # Extra = 700 − 2 × 200 = 300 = 2 × (350 − 200).
    revenue = pd.Series({"a": 100.0, "b": 200.0, "c": 300.0, "d": 400.0, "e": 0.0})
    bands = pd.Series({"a": "red", "b": "yellow", "c": "green", "d": "green", "e": None})
    result = loyalty_extra_revenue(revenue, bands)
    assert result.top_customers == 2
    assert result.base_average_revenue_cny == pytest.approx(200.0)
    assert result.top_average_revenue_cny == pytest.approx(350.0)
    assert result.extra_per_customer_cny == pytest.approx(150.0)
    assert result.extra_revenue_cny == pytest.approx(300.0)
    with pytest.raises(ValueError, match="revenue is missing"):
        loyalty_extra_revenue(pd.Series([1.0, np.nan]), pd.Series(["green", "red"]))


def test_aggregate_keeps_a_top_score_at_100_whatever_the_rounding():
    """With these weights, weighted / available overshoots 100 in the last bit for a row at
    the top of every indicator it has (seen at 100,000 customers): band() then refused the
    score. The scores stay within [0, 100]."""
    weights = pd.Series([0.016, 0.209, 0.17, 0.076, 0.208, 0.321], index=list("abcdef"))
    ones = pd.DataFrame([[np.nan, 1.0, 1.0, 1.0, 1.0, 1.0], [1.0] * 6], columns=list("abcdef"))
    scores = aggregate(ones, weights, min_coverage=0.0).scores
    assert (scores <= 100.0).all() and scores.to_numpy() == pytest.approx(100.0)
    assert band(scores).notna().all()
