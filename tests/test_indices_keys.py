"""Issue 19, item 2: the indices on integer customer keys and the segments without per-row
Python, with the same tables as before.

- `CustomerKeys` keys the windows' customers by their position in the sorted ids and gives the
  published tables their ids back; customers outside the windows (a manager, a CLV or a
  survey answer of someone without a window) are left out, as the reindexing by window
  customers always left them;
- `compute_tables` gives the same tables whatever order the window rows come in and whatever
  other customers the side inputs hold;
- the segment rules, one table lookup over all customers, give the codes of the per-customer
  rule they replaced, missing inputs included.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_indices_assets import SETTINGS, synthetic_inputs

from orchestration.indices.segments import (
    RFM_SEGMENTS,
    VALUE_LOYALTY_SEGMENTS,
    rfm_segments,
    value_loyalty_segments,
)
from orchestration.indices.tables import CustomerKeys, IndexInputs, compute_tables


def test_customer_keys_are_positions_in_the_sorted_ids():
    """Windows of c3, c1, c3 (two windows), c2: keys c1 = 0, c2 = 1, c3 = 2. The manager,
    CLV and survey answer of c9 (no window) are dropped; decode gives the ids back."""
    inputs = IndexInputs(
        windows=pd.DataFrame({"customer_id": ["c3", "c1", "c3", "c2"], "x": [1, 2, 3, 4]}),
        managers=pd.Series(["m1", "m2", "m9"], index=["c1", "c3", "c9"]),
        loyalty_answers=pd.DataFrame(
            {"customer_id": ["c2", "c9", "c2"], "score": [4.0, 1.0, 5.0], "scale_max": 5}
        ),
        clv=pd.Series([10.0, 90.0], index=["c9", "c3"]),
        teams=None,
    )
    keys, keyed = CustomerKeys.encode(inputs)
    assert keys.ids.tolist() == ["c1", "c2", "c3"]
    assert keyed.windows["customer_id"].tolist() == [2, 0, 2, 1]
    assert keyed.managers.to_dict() == {0: "m1", 2: "m2"}
    assert keyed.loyalty_answers["customer_id"].tolist() == [1, 1]
    assert keyed.loyalty_answers["score"].tolist() == [4.0, 5.0]
    assert keyed.clv.to_dict() == {2: 90.0}
    assert keyed.teams is None
    decoded = keys.decode(pd.DataFrame({"customer_id": [2, 0], "v": [1, 2]}))
    assert decoded["customer_id"].tolist() == ["c3", "c1"]


@pytest.fixture(scope="module")
def tables():
    return compute_tables(synthetic_inputs(), SETTINGS).frames()


def test_tables_do_not_depend_on_row_order_or_other_customers(tables):
    """The synthetic windows shuffled, with a manager, a CLV and survey answers of a customer
    that has no window: every table equal to the last bit, customers named by their ids."""
    base = synthetic_inputs()
    shuffled = base.windows.sample(frac=1.0, random_state=3)
    changed = compute_tables(
        IndexInputs(
            windows=shuffled,
            managers=pd.concat([base.managers, pd.Series(["m0"], index=["zz_no_window"])]),
            loyalty_answers=pd.concat(
                [
                    base.loyalty_answers,
                    pd.DataFrame({"customer_id": ["zz_no_window"], "score": [1.0], "scale_max": 5}),
                ]
            ),
            clv=pd.concat([base.clv, pd.Series([1e9], index=["zz_no_window"])]),
        ),
        SETTINGS,
    ).frames()
    for name, frame in tables.items():
        pd.testing.assert_frame_equal(frame, changed[name], check_exact=True, obj=name)
    ids = set(base.windows["customer_id"])
    assert set(tables["customer_indices"]["customer_id"]) <= ids
    assert set(tables["customer_segments"]["customer_id"]) <= ids
    assert tables["customer_indices"]["customer_id"].is_monotonic_increasing


def per_row_value_loyalty(value, loyalty, cut_value, cut_loyalty):
    """The per-customer rule `value_loyalty_segments` used before."""
    return [
        VALUE_LOYALTY_SEGMENTS[(bool(v > cut_value), bool(lo > cut_loyalty))]
        if not (np.isnan(v) or np.isnan(lo))
        else None
        for v, lo in zip(value, loyalty, strict=True)
    ]


def per_row_rfm(r, f, m, cuts):
    """The per-customer rule `rfm_segments` used before."""
    return [
        RFM_SEGMENTS[(bool(a < cuts[0]), bool(b > cuts[1]), bool(c > cuts[2]))]
        if not np.isnan([a, b, c]).any()
        else None
        for a, b, c in zip(r, f, m, strict=True)
    ]


def test_segments_equal_the_per_row_rule():
    """3,000 customers with ties at the thresholds and 5 % missing inputs."""
    rng = np.random.default_rng(5)
    size = 3000

    def column(values: np.ndarray) -> pd.Series:
        values = values.astype(float)
        values[rng.random(size) < 0.05] = np.nan
        return pd.Series(values, index=[f"c{i:04d}" for i in range(size)])

    value, loyalty = column(rng.integers(0, 20, size)), column(rng.integers(0, 20, size))
    quadrants = value_loyalty_segments(value, loyalty)
    assert quadrants.segments["segment_code"].tolist() == per_row_value_loyalty(
        value, loyalty, quadrants.thresholds["value"], quadrants.thresholds["loyalty"]
    )
    r, f, m = (column(rng.integers(0, 10, size)) for _ in range(3))
    rfm = rfm_segments(r, f, m, split="median")
    cuts = [rfm.thresholds[k] for k in ("recency_days", "frequency", "monetary")]
    assert rfm.segments["segment_code"].tolist() == per_row_rfm(r, f, m, cuts)
    assert rfm.segments["segment_code"].isna().sum() > 100
    assert rfm.segments["segment_code"].nunique() == 8
