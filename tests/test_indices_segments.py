"""Issue 19, item 2: the indices' segments without per-row Python, and tables that do not
depend on the order of the rows or on customers outside the windows.

- `compute_tables` gives the same tables, to the last bit, whatever order the window rows
  come in and whatever other customers the side inputs (managers, CLV, survey answers) hold;
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
from orchestration.indices.tables import IndexInputs, compute_tables


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
