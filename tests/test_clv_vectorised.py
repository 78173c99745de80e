"""Issue 19, item 2: the CLV code without Python loops over customers or contracts, and CLV
that does not depend on the order the warehouse returns its rows in.

- the renewal chains (`chain_roots`, pointer doubling) against the walk along renewal_of it
  replaced, on hand-made chains and on 2,000 random ones;
- the contract values and cash flows (one vectorised sBG call per product line) against one
  `sbg.discounted_expected_residual_lifetime` call per chain, to the last bit;
- `rfm_summary_sql` (the validation split summarised in DuckDB) against `rfm_summary` on the
  CDNOW sample, to the last bit, in days, weeks and months;
- two builds that read the same rows in different orders give identical tables.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from orchestration.clv import bgnbd, gammagamma, paretonbd, sbg, value
from orchestration.clv import warehouse as wh
from orchestration.clv.summary import read_cdnow, rfm_summary, rfm_summary_sql
from orchestration.clv.tables import compute_tables

CDNOW = Path(__file__).parents[2] / "shared" / "data" / "cdnow"
AS_OF = "1997-09-30"
SETTINGS = wh.ClvSettings(draws=50)


def walked_roots(contract_ids: list, renewal_of: list) -> list:
    """The loop `contract_histories` used before: follow renewal_of one contract at a time."""
    parent = dict(zip(contract_ids, renewal_of, strict=True))
    roots = []
    for contract_id in contract_ids:
        node, seen = contract_id, set()
        while isinstance(parent.get(node), str) and parent[node] in parent and node not in seen:
            seen.add(node)
            node = parent[node]
        roots.append(node)
    return roots


def test_chain_roots_follow_renewal_of_to_the_first_contract():
    """K1 <- K2 <- K3 is one chain; K4 renews a contract not loaded (its own chain start);
    K5 renews nothing; K6 <-> K7 renew each other (bad data): each is a chain of its own."""
    ids = pd.Series(["K3", "K1", "K2", "K4", "K5", "K6", "K7"])
    renewal_of = pd.Series(["K2", None, "K1", "K0", np.nan, "K7", "K6"], dtype=object)
    roots = wh.chain_roots(ids, renewal_of)
    assert roots.tolist() == ["K1", "K1", "K1", "K4", "K5", "K6", "K7"]


def test_chain_roots_equal_the_walk_on_random_chains():
    """2,000 contracts in random chains up to 40 long (and references to unknown contracts),
    shuffled: the same root for every contract as the walk."""
    rng = np.random.default_rng(7)
    ids = [f"K{i:05d}" for i in range(2000)]
    renewal_of: list = []
    for i, _ in enumerate(ids):
        if i == 0 or rng.random() < 0.1:
            renewal_of.append(None if rng.random() < 0.8 else f"X{i}")
        else:
            renewal_of.append(ids[i - 1 - int(rng.integers(0, min(i, 3)))])
    order = rng.permutation(len(ids))
    shuffled_ids = [ids[i] for i in order]
    shuffled_parents = [renewal_of[i] for i in order]
    roots = wh.chain_roots(pd.Series(shuffled_ids), pd.Series(shuffled_parents, dtype=object))
    assert roots.tolist() == walked_roots(shuffled_ids, shuffled_parents)
    depth = pd.Series(roots).value_counts().max()
    assert depth > 20  # long chains were walked, not only one-step ones


def random_histories(rng: np.random.Generator, size: int) -> pd.DataFrame:
    """Chains drawn from sBG (a churn probability from Beta(a, b) per chain, a different
    (a, b) per line), censored after 0 .. 8 renewals; 'unfitted' has no fit of its own."""
    lines = np.array(["software", "consulting", "training", "unfitted"])
    line = rng.integers(0, 4, size)
    a, b = np.array([1.0, 2.0, 0.8, 1.0])[line], np.array([3.0, 3.0, 1.5, 2.0])[line]
    lifetime = rng.geometric(rng.beta(a, b))  # contract periods paid, >= 1
    censor = rng.integers(0, 9, size)
    churned = lifetime - 1 <= censor
    return pd.DataFrame(
        {
            "chain_id": [f"K{i}" for i in range(size)],
            "customer_id": [f"C{i % (size // 3)}" for i in range(size)],
            "product_line": lines[line],
            "renewals": np.where(churned, lifetime - 1, censor),
            "churned": churned,
            "is_open": ~churned,
            "annual_value_cny": rng.gamma(2.0, 5000.0, size),
        }
    )


@pytest.fixture(scope="module")
def histories_and_fits():
    rng = np.random.default_rng(3)
    histories = random_histories(rng, 3000)
    fits = wh.fit_contract_cohorts(histories[histories["product_line"] != "unfitted"])
    assert {"all", "software", "consulting", "training"} <= set(fits)
    return histories, fits


@pytest.mark.parametrize("horizon_months", [60, None])
def test_contract_clv_equals_one_sbg_call_per_chain(histories_and_fits, horizon_months):
    """Per chain: annual value x DERL(d | renewals + 1) of its line's fit (the pooled fit for
    'unfitted'), summed per customer; bit for bit what one call per chain gave."""
    histories, fits = histories_and_fits
    margins = {"software": 0.7, "consulting": 0.45}
    got = wh.contract_clv(histories, fits, 0.1, horizon_months, margins, 0.9)
    open_chains = histories[histories["is_open"]]
    derl = [
        float(
            np.asarray(
                sbg.discounted_expected_residual_lifetime(
                    fits.get(line, fits["all"]),
                    0.1,
                    renewals + 1,
                    None if horizon_months is None else horizon_months / 12,
                )
            ).reshape(-1)[0]
        )
        for line, renewals in zip(open_chains["product_line"], open_chains["renewals"], strict=True)
    ]
    rates = [margins.get(line, 0.9) for line in open_chains["product_line"]]
    expected = (
        open_chains.assign(
            contract_clv_cny=open_chains["annual_value_cny"] * derl,
            contract_clv_margin_cny=open_chains["annual_value_cny"] * np.array(derl) * rates,
        )
        .groupby("customer_id")[["contract_clv_cny", "contract_clv_margin_cny"]]
        .sum()
    )
    got = got.set_index("customer_id")
    assert got.index.tolist() == expected.index.tolist()
    for column in ("contract_clv_cny", "contract_clv_margin_cny"):
        assert got[column].to_numpy().tolist() == expected[column].to_numpy().tolist()


def test_contract_cash_flows_equal_the_survival_of_each_chain(histories_and_fits):
    """Year j's revenue = sum over open chains of annual value x S(n + j) / S(n - 1), each
    chain's survival a cumulative product of its line's retention, bit for bit."""
    histories, fits = histories_and_fits
    flows = wh.contract_cash_flows(histories, fits, 10, {"software": 0.7}, 1.0)
    open_chains = histories[histories["is_open"]]
    survival = np.ones((len(open_chains), 10))
    for i, (line, renewals) in enumerate(
        zip(open_chains["product_line"], open_chains["renewals"], strict=True)
    ):
        alpha, beta = (fits.get(line, fits["all"]).params[k] for k in ("alpha", "beta"))
        t = renewals + 2 + np.arange(10)
        survival[i] = np.cumprod((beta + t - 1) / (alpha + beta + t - 1))
    annual = open_chains["annual_value_cny"].to_numpy()
    assert flows["revenue_cny"].tolist() == (annual @ survival).tolist()


@pytest.mark.parametrize("unit", ["days", "weeks", "months"])
def test_rfm_summary_sql_equals_rfm_summary_on_cdnow(unit):
    """The CDNOW sample (2,357 customers, several purchases a day merged) summarised by DuckDB
    and by pandas: the same customers in the same order and the same x, t_x, T and holdout
    counts and lengths to the last bit; customer 1 in weeks as in test_clv: x = 2."""
    path = CDNOW / "CDNOW_sample.txt"
    if not path.exists():
        pytest.fail(f"reference data missing: {path}")
    transactions = read_cdnow(path)
    expected = rfm_summary(transactions, AS_OF, "1998-06-30", time_unit=unit)
    with duckdb.connect(":memory:") as con:
        con.register("transactions", transactions)
        got = con.execute(rfm_summary_sql("transactions", AS_OF, "1998-06-30", unit)).df()
    assert got["customer_id"].tolist() == expected.index.tolist()
    for column in ("x", "t_x", "T", "x_holdout", "duration_holdout"):
        assert got[column].to_numpy(float).tolist() == expected[column].to_numpy(float).tolist()
    if unit == "weeks":
        assert got.loc[got["customer_id"] == 1, ["x", "x_holdout"]].values.tolist() == [[2, 1]]


@pytest.fixture(scope="module")
def firm() -> dict:
    """The CDNOW calibration period as a firm: its summary and transactions (customers
    CD1 ..), 400 contracts in renewal chains and slices, data ending at as_of."""
    path = CDNOW / "CDNOW_sample.txt"
    if not path.exists():
        pytest.fail(f"reference data missing: {path}")
    raw = read_cdnow(path)
    raw = raw[raw["date"] <= AS_OF]
    transactions = pd.DataFrame(
        {
            "customer_id": "CD" + raw["customer_id"].astype(str),
            "ordered_on": raw["date"],
            "amount": raw["amount"],
        }
    )
    summary = rfm_summary(
        transactions, AS_OF, time_unit="weeks", date_col="ordered_on", amount_col="amount"
    )
    summary = pd.DataFrame(
        {
            "customer_id": summary.index,
            "time_unit": "weeks",
            "frequency_x": summary["x"].to_numpy(),
            "recency_t_x": summary["t_x"].to_numpy(),
            "age_t": summary["T"].to_numpy(),
            "mean_repeat_spend_cny": summary["mean_spend"].where(summary["x"] > 0).to_numpy(),
            "calibration_spend_cny": transactions.groupby("customer_id")["amount"]
            .sum()
            .reindex(summary.index)
            .to_numpy(),
            "margin_rate": 0.5,
            "holdout_frequency": np.nan,
            "holdout_length": np.nan,
        }
    )
    rng = np.random.default_rng(11)
    rows = []
    for chain in range(150):
        customer = summary["customer_id"].iloc[int(rng.integers(0, len(summary)))]
        line = ["software", "training"][chain % 2]
        start = pd.Timestamp("1994-01-01") + pd.Timedelta(days=int(rng.integers(0, 300)))
        previous = None
        for _ in range(int(rng.integers(1, 5))):
            contract_id = f"K{len(rows):04d}"
            end = start + pd.Timedelta(days=364)
            rows.append(
                {
                    "contract_id": contract_id,
                    "customer_id": customer,
                    "product_line": line,
                    "start_on": start,
                    "end_on": end,
                    "contract_value_cny": float(rng.integers(1, 50)) * 1000,
                    "renewal_of": previous,
                    "status": "active" if end >= pd.Timestamp(AS_OF) else "expired",
                }
            )
            previous, start = contract_id, end + pd.Timedelta(days=1)
            if start > pd.Timestamp(AS_OF):
                break
    contracts = pd.DataFrame(rows)
    customers = pd.DataFrame(
        {
            "customer_id": summary["customer_id"],
            "acquisition_cost_cny": 10.0,
            "revenue_12m_cny": summary["calibration_spend_cny"],
            "rfm_segment": np.where(summary["frequency_x"] > 2, "loyal", "other"),
            "is_live": True,
        }
    )
    slices = pd.concat(
        [
            customers[["customer_id"]].assign(slice_type="company", slice_value="all"),
            customers[["customer_id"]].assign(
                slice_type="region", slice_value=np.where(np.arange(len(customers)) % 3, "n", "s")
            ),
        ]
    )
    return {
        "summary": summary,
        "transactions": transactions,
        "contracts": contracts,
        "customers": customers,
        "slices": slices,
    }


def build(firm: dict, order: np.random.Generator | None, validation: bool = False) -> dict:
    """compute_tables on the firm's rows, shuffled by `order` (None: as they are)."""

    def rows(frame: pd.DataFrame) -> pd.DataFrame:
        return frame if order is None else frame.sample(frac=1.0, random_state=order)

    summary_sql = None
    if validation:
        with duckdb.connect(":memory:") as con:
            con.register("transactions", firm["transactions"])
            summary_sql = con.execute(
                rfm_summary_sql(
                    "transactions",
                    wh.validation_split_on(AS_OF, SETTINGS.validation_days),
                    AS_OF,
                    "weeks",
                    date_col="ordered_on",
                )
            ).df()
    _, frames = compute_tables(
        rows(firm["summary"]),
        rows(firm["transactions"]),
        rows(firm["contracts"]),
        rows(firm["customers"]),
        rows(firm["slices"]),
        AS_OF,
        0.3,
        SETTINGS,
        {"software": 0.7},
        {"t12m_transactional_revenue_cny": 1e6, "t12m_contract_revenue_cny": 5e5},
        None if summary_sql is None else rows(summary_sql),
    )
    return frames


def test_two_builds_in_different_row_orders_give_identical_clv(firm):
    """The same rows in two random orders (as a warehouse returns them): every table equal to
    the last bit, the CLV of every customer included. Before the inputs were sorted, CLV
    moved by about 1e-3 CNY between builds."""
    first = build(firm, np.random.default_rng(1))
    second = build(firm, np.random.default_rng(2))
    assert first["customer_clv"]["contract_clv_cny"].gt(0).sum() > 20
    assert first["customer_clv"]["transactional_clv_cny"].gt(0).sum() > 2000
    for name, frame in first.items():
        pd.testing.assert_frame_equal(frame, second[name], check_exact=True, obj=name)


def test_the_validation_split_summarised_in_sql_gives_the_same_clv(firm):
    """The asset summarises the validation split in DuckDB (rfm_summary_sql) instead of
    reading every transaction: the chosen model, its errors and every table are the same as
    from the transactions themselves."""
    from_rows = build(firm, None)
    from_sql = build(firm, np.random.default_rng(5), validation=True)
    for name, frame in from_rows.items():
        pd.testing.assert_frame_equal(frame, from_sql[name], check_exact=True, obj=name)


def test_holdout_validation_buckets_by_calibration_frequency(firm):
    """x = 0, 3, 7 and 12 repeat purchases fall in the buckets 0, 3, 7+ and 7+; each bucket's
    actual mean is the mean of its customers' holdout purchases (7+: (2 + 4) / 2)."""
    summary = pd.DataFrame(
        {
            "frequency_x": [0, 3, 7, 12],
            "recency_t_x": [0.0, 20.0, 30.0, 38.0],
            "age_t": [40.0, 40.0, 40.0, 40.0],
            "holdout_frequency": [0, 1, 2, 4],
            "holdout_length": [39.0] * 4,
        }
    )
    fit = wh.fit_purchase_models(firm["summary"], "weeks")  # CDNOW's calibration period
    table = wh.holdout_validation(summary, {"bgnbd": fit["bgnbd"]})
    assert table["frequency_bucket"].tolist() == ["0", "3", "7+"]
    assert table["bucket_order"].tolist() == [0, 3, 7]
    assert table["customers"].tolist() == [1, 1, 2]
    assert table["actual_mean_purchases"].tolist() == [0.0, 1.0, 3.0]


# --- the purchase part: one evaluation per (x, T) pair, percentiles without a column loop -----


@pytest.fixture(scope="module")
def cdnow_fits() -> dict:
    """The CDNOW calibration summary in weeks (2,357 customers, 464 distinct (x, T) pairs),
    BG/NBD, Pareto/NBD and Gamma-Gamma fitted on it."""
    path = CDNOW / "CDNOW_sample.txt"
    if not path.exists():
        pytest.fail(f"reference data missing: {path}")
    summary = rfm_summary(read_cdnow(path), AS_OF, time_unit="weeks")
    x, t_x, T = (summary[k].to_numpy(float) for k in ("x", "t_x", "T"))  # noqa: N806
    return {
        "rfm": (x, t_x, T),
        "zbar": np.where(x > 0, summary["mean_spend"].to_numpy(float), 1.0),
        "bgnbd": bgnbd.fit(x, t_x, T, time_unit="weeks"),
        "paretonbd": paretonbd.fit(x, t_x, T, time_unit="weeks"),
        "spend": gammagamma.fit(x[x > 0], summary["mean_spend"].to_numpy(float)[x > 0]),
    }


@pytest.mark.parametrize("model", [bgnbd, paretonbd])
def test_expected_purchases_by_period_equal_each_customers_own_evaluation(cdnow_fits, model):
    """Expected purchases month by month, evaluated once per (x, T) pair and gathered, equal
    the evaluation of every customer at every month's end (what the function did before) to
    the last bit, at once and in blocks of 500 customers (the cash flows' way)."""
    fit = cdnow_fits[model.MODEL]
    x, t_x, T = cdnow_fits["rfm"]  # noqa: N806
    edges = (365.25 / 12 / 7) * np.arange(1, 25)
    values = [fit.params[k] for k in model.PARAMS]
    each = model._expected(values, edges[None, :], x[:, None], t_x[:, None], T[:, None])
    expected = np.diff(each, axis=1, prepend=0.0)
    got = value.expected_purchases_by_period(fit, x, t_x, T, 24, "months")
    assert np.array_equal(got, expected)
    blocks = list(value.expected_purchases_in_blocks(fit, x, t_x, T, 24, "months", block=500))
    assert [part.start for part, _ in blocks] == [0, 500, 1000, 1500, 2000]
    assert np.array_equal(np.vstack([matrix for _, matrix in blocks]), expected)
    tails, pair_of = value.pair_tails(model, values, edges, x, T)
    assert len(tails) == 464 and np.array_equal(
        tails[pair_of], model._tail(values, edges, x[:, None], T[:, None])
    )


def test_nan_percentiles_equal_numpys_nanpercentile():
    """By hand: [1, 2, 3, 4, 5] has its 50th percentile at 3 and its 10th at 1.4; [1, 2, 3,
    4, NaN] at 2.5 and 1.3. And on 300 draws x 1,000 customers with NaN in a tenth of the
    columns, the same numbers as np.nanpercentile to the last bit."""
    small = np.array([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0], [4.0, 4.0], [5.0, np.nan]])
    np.testing.assert_allclose(value.nan_percentiles(small, [10, 50]), [[1.4, 1.3], [3.0, 2.5]])
    rng = np.random.default_rng(11)
    values = rng.lognormal(size=(300, 1000))
    values[rng.random(values.shape) < 0.01] = np.nan
    values[:, ::10][rng.random((300, 100)) < 0.3] = np.nan
    got = value.nan_percentiles(values, [5, 95])
    assert np.array_equal(got, np.nanpercentile(values, [5, 95], axis=0))


def test_clv_interval_does_not_depend_on_the_threads(cdnow_fits, monkeypatch):
    """The bootstrap's draws evaluated by one thread or by three: the same interval to the
    last bit (each draw is computed alone; the threads only share the work)."""
    x, t_x, T = cdnow_fits["rfm"]  # noqa: N806
    args = (cdnow_fits["bgnbd"], cdnow_fits["spend"], x, t_x, T, cdnow_fits["zbar"])
    monkeypatch.setattr(value, "BOOTSTRAP_THREADS", 1)
    one = value.clv_interval(*args, draws=30, seed=5)
    monkeypatch.setattr(value, "BOOTSTRAP_THREADS", 3)
    three = value.clv_interval(*args, draws=30, seed=5)
    for name in ("clv", "lower", "upper", "has_interval"):
        assert np.array_equal(getattr(one, name), getattr(three, name))
    assert (one.lower < one.clv).mean() > 0.9 and (one.clv < one.upper).mean() > 0.9


SUMMED = wh.EQUITY_SUMMED


def merged_equity(values: pd.DataFrame, slices: pd.DataFrame) -> pd.DataFrame:
    """`customer_equity` as it was: a merge of the slices with the values and a groupby
    with the customers counted by nunique."""
    joined = slices[["customer_id", "slice_type", "slice_value"]].merge(
        values[["customer_id", *SUMMED]], on="customer_id", how="inner"
    )
    names = [
        "equity_cny",
        "equity_lower_cny",
        "equity_upper_cny",
        "transactional_cny",
        "contract_cny",
        "equity_margin_cny",
        "equity_margin_lower_cny",
        "equity_margin_upper_cny",
        "transactional_margin_cny",
        "contract_margin_cny",
    ]
    return (
        joined.groupby(["slice_type", "slice_value"], as_index=False)
        .agg(
            customers=("customer_id", "nunique"),
            **{name: (column, "sum") for column, name in zip(SUMMED, names, strict=True)},
        )
        .sort_values(["slice_type", "equity_margin_cny"], ascending=[True, False])
        .reset_index(drop=True)
    )


def test_customer_equity_by_hand():
    """c1 (CLV 10, margin 4) and c2 (CLV 5, margin 1) in region north, c3 (CLV 2, margin 2)
    in south and twice in segment a; c9 has slices but no value; c2's segment is missing:
    north 2 customers, 15 and 5 on margin; south 1, 2; segment a 1 customer, 4 (c3 twice)."""
    values = pd.DataFrame({"customer_id": ["c1", "c2", "c3"]})
    for column in SUMMED:
        values[column] = [10.0, 5.0, 2.0] if "margin" not in column else [4.0, 1.0, 2.0]
    slices = pd.DataFrame(
        {
            "customer_id": ["c1", "c2", "c3", "c9", "c3", "c3", "c2"],
            "slice_type": ["region"] * 4 + ["segment"] * 3,
            "slice_value": ["north", "north", "south", "south", "a", "a", None],
        }
    )
    got = wh.customer_equity(values, slices)
    assert got[
        ["slice_type", "slice_value", "customers", "equity_cny", "equity_margin_cny"]
    ].values.tolist() == [
        ["region", "north", 2, 15.0, 5.0],
        ["region", "south", 1, 2.0, 2.0],
        ["segment", "a", 1, 4.0, 4.0],
    ]
    pd.testing.assert_frame_equal(got, merged_equity(values, slices), check_exact=True)


@pytest.mark.parametrize("duplicated", [False, True])
def test_customer_equity_equals_the_merge_and_nunique(duplicated):
    """20,000 customers in 5 slice types of up to 40 values (some missing, some customers
    without values, some slices listing a customer twice): the same table as the merge and
    nunique, to the last bit; also when a customer has two rows of values."""
    rng = np.random.default_rng(3)
    ids = np.array([f"C{i:06d}" for i in range(20_000)], dtype=object)
    values = pd.DataFrame({"customer_id": ids})
    for column in SUMMED:
        values[column] = rng.lognormal(5, 2, ids.size)
    if duplicated:
        values = pd.concat([values, values.iloc[:50]], ignore_index=True)
    kinds = rng.integers(0, 5, 120_000)
    slices = pd.DataFrame(
        {
            "customer_id": rng.choice(np.r_[ids, ["X1", "X2"]], 120_000),
            "slice_type": np.array(["company", "industry", "region", "size", "manager"])[kinds],
            "slice_value": pd.Series(rng.integers(0, 40, 120_000).astype(str)).where(
                rng.random(120_000) > 0.01
            ),
        }
    ).sort_values(["slice_type", "slice_value", "customer_id"], kind="stable", ignore_index=True)
    expected = merged_equity(values, slices)
    pd.testing.assert_frame_equal(wh.customer_equity(values, slices), expected, check_exact=True)
    assert (
        expected["customers"] < slices.groupby(["slice_type", "slice_value"]).size().values
    ).any()
