"""The synthetic firm: deterministic, conforming to the landing contract, true to its truth.

The contract checks are written here in pandas, independently of the ingestion code, so a
mistake in one cannot hide a mistake in the other.
"""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest
from scipy import special, stats

from orchestration.contract import TABLES
from orchestration.synthetic import Truth, generate, main

CUSTOMERS = 3000
YEARS = 3
END = dt.date(2026, 10, 31)
TYPE_PATTERNS = {
    "int": r"-?\d+",
    "decimal": r"-?\d+(\.\d{1,2})?",
    "date": r"\d{4}-\d{2}-\d{2}",
    "timestamp": r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}",
    "bool": r"true|false",
}


@pytest.fixture(scope="module")
def firm(tmp_path_factory):
    """3,000 customers over 3 years in chunks of 1,000: big enough for the statistics."""
    root = tmp_path_factory.mktemp("firm")
    counts = generate(
        root / "landing",
        root / "truth",
        customers=CUSTOMERS,
        years=YEARS,
        seed=11,
        end_date=END,
        chunk_size=1000,
        progress=False,
    )
    tables = {
        t.name: pd.read_csv(
            root / "landing" / t.name / f"{END}.csv", dtype=str, keep_default_na=False
        )
        for t in TABLES
    }
    people = pd.read_csv(root / "truth" / "customers.csv")
    params = json.loads((root / "truth" / "params.json").read_text())
    return root, counts, tables, people, params


def test_same_arguments_same_bytes_other_seed_other_bytes(tmp_path):
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        generate(
            tmp_path / name / "landing",
            tmp_path / name / "truth",
            customers=200,
            years=2,
            seed=seed,
            chunk_size=70,
            progress=False,
        )
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.csv"))
    assert len(files) == len(TABLES) + 1  # every table, and the truth's customers.csv
    for rel in files:
        a, b, c = ((tmp_path / n / rel).read_bytes() for n in "abc")
        assert a == b, rel
        if rel.parts[-2] in ("orders", "customers", "truth"):
            assert a != c, rel
    # the command line writes the same bytes as the Python API
    main(
        [
            *("--customers", "200", "--years", "2", "--seed", "5", "--chunk-size", "70"),
            *("--out", str(tmp_path / "cli" / "landing"), "--truth", str(tmp_path / "cli" / "t")),
            "--no-progress",
        ]
    )
    for rel in files:
        if rel.parts[0] == "landing":
            assert (tmp_path / "cli" / rel).read_bytes() == (tmp_path / "a" / rel).read_bytes()


def test_every_table_has_exactly_the_contract_header(firm):
    root, counts, tables, _, _ = firm
    for t in TABLES:
        with (root / "landing" / t.name / f"{END}.csv").open(encoding="utf-8") as fh:
            assert fh.readline() == ",".join(t.column_names) + "\n", t.name
        assert len(tables[t.name]) == counts[t.name] > 0, t.name


def test_every_value_has_its_type_allowed_value_bound_and_date_range(firm):
    _, _, tables, _, _ = firm
    for t in TABLES:
        frame = tables[t.name]
        for col in t.columns:
            values = frame[col.name]
            given = values[values != ""]
            where = f"{t.name}.{col.name}"
            if col.required:
                assert len(given) == len(values), f"{where} has blanks"
            if col.type in TYPE_PATTERNS:
                bad = given[~given.str.fullmatch(TYPE_PATTERNS[col.type])]
                assert bad.empty, f"{where}: {bad.head(3).tolist()}"
            if col.allowed:
                assert set(given) <= set(col.allowed), where
            if col.min_value is not None:
                assert (given.astype(float) >= col.min_value).all(), where
            if col.max_value is not None:
                assert (given.astype(float) <= col.max_value).all(), where
            if col.type in ("date", "timestamp"):
                when = pd.to_datetime(given, format="ISO8601")  # raises on an impossible date
                assert (when >= pd.Timestamp("1990-01-01")).all(), where
                if not col.future_allowed:
                    assert (when < pd.Timestamp(END) + pd.Timedelta(days=1)).all(), where


def test_keys_are_unique_and_references_exist(firm):
    _, _, tables, _, _ = firm
    for t in TABLES:
        frame = tables[t.name]
        assert not frame.duplicated(list(t.key)).any(), t.name
        for col in t.columns:
            if col.references:
                target, target_col = col.references.split(".")
                given = frame.loc[frame[col.name] != "", col.name]
                missing = set(given) - set(tables[target][target_col])
                assert not missing, f"{t.name}.{col.name}: {sorted(missing)[:3]}"


def _rule_holds(name: str, f: pd.DataFrame, tables: dict[str, pd.DataFrame]) -> pd.Series:
    """Each contract rule, restated in pandas (ISO dates and timestamps compare as text)."""

    def given(col: str) -> pd.Series:
        return f[col] != ""

    if name == "assignment_period":
        return ~given("assigned_to") | (f["assigned_to"] >= f["assigned_from"])
    if name == "contract_term":
        return f["end_on"] >= f["start_on"]
    if name == "credit_note_sign":
        amount = f["amount"].astype(float)
        return (amount != 0) & ((amount < 0) == (f["is_credit_note"] == "true"))
    if name == "ticket_timeline":
        return (~given("first_response_at") | (f["first_response_at"] >= f["opened_at"])) & (
            ~given("resolved_at") | (f["resolved_at"] >= f["opened_at"])
        )
    if name == "complaint_timeline":
        return ~given("resolved_at") | (f["resolved_at"] >= f["opened_at"])
    if name == "referral_conversion":
        return (f["is_converted"] == "true") == given("referred_customer_id")
    if name == "question_scale":
        return f["scale_max"].astype(int) > f["scale_min"].astype(int)
    if name == "answer_in_scale":
        q = tables["survey_questions"].set_index("question_id")
        lo = q.loc[f["question_id"], "scale_min"].astype(float).to_numpy()
        hi = q.loc[f["question_id"], "scale_max"].astype(float).to_numpy()
        value = pd.to_numeric(f["value"]).to_numpy()
        return pd.Series(np.isnan(value) | ((value >= lo) & (value <= hi)), index=f.index)
    raise AssertionError(f"rule {name} has no check in this test: add one")


def test_every_table_rule_holds(firm):
    _, _, tables, _, _ = firm
    for t in TABLES:
        for rule in t.rules:
            holds = _rule_holds(rule.name, tables[t.name], tables)
            assert holds.all(), f"{t.name} breaks {rule.name}: {tables[t.name][~holds].head(3)}"


def test_rows_make_business_sense(firm):
    _, _, tables, _, _ = firm
    customers = tables["customers"].set_index("customer_id")
    contacts = tables["contacts"]
    # a respondent is a contact of the responding customer
    responses = tables["survey_responses"]
    answered = responses[responses["contact_id"] != ""]
    owner = contacts.set_index("contact_id")["customer_id"]
    assert (owner.loc[answered["contact_id"]].to_numpy() == answered["customer_id"]).all()
    assert contacts["phone"].replace("", "13800000000").str.fullmatch(r"1[3-9]\d{9}").all()
    assert (
        contacts["email"]
        .replace("", "a.b@c.com")
        .str.fullmatch(r"[a-z]+\.[a-z]+@[a-z-]+\.com")
        .all()
    )
    assert contacts.groupby("customer_id").size().between(1, 4).all()
    assert (
        contacts.groupby("customer_id")["is_primary"].apply(lambda s: (s == "true").sum()) == 1
    ).all()
    # a renewal continues an earlier contract of the same customer
    contracts = tables["contracts"].set_index("contract_id")
    renewal = contracts[contracts["renewal_of"] != ""]
    parent = contracts.loc[renewal["renewal_of"]]
    assert (parent["customer_id"].to_numpy() == renewal["customer_id"].to_numpy()).all()
    assert (parent["end_on"].to_numpy() < renewal["start_on"].to_numpy()).all()
    assert (parent["status"] == "renewed").all()
    # an invoice bills a contract of its own customer; credit notes follow their invoice
    orders = tables["orders"]
    billed = orders[orders["contract_id"] != ""]
    assert (
        contracts.loc[billed["contract_id"], "customer_id"].to_numpy() == billed["customer_id"]
    ).all()
    first = orders[orders["is_credit_note"] == "false"].groupby("customer_id")["ordered_on"].min()
    assert (first == customers.loc[first.index, "acquired_on"]).all()  # first order at acquisition
    # converted referrals point at referral-channel customers acquired after the referral
    referrals = tables["referrals"]
    converted = referrals[referrals["is_converted"] == "true"]
    won = customers.loc[converted["referred_customer_id"]]
    assert (won["acquisition_channel"] == "referral").all()
    assert (won["acquired_on"].to_numpy() > converted["referred_on"].to_numpy()).all()
    assert (converted["referrer_customer_id"] != converted["referred_customer_id"]).all()
    # each province lies in one region, and the well-known ones in the right one
    region = customers.groupby("province")["region"].unique()
    assert (region.str.len() == 1).all()
    known = {
        "江苏": "east",
        "广东": "south",
        "北京": "north",
        "四川": "southwest",
        "湖北": "central",
    }
    for province, expected in known.items():
        assert region[province][0] == expected, province
    # loyalty points: the running balance of every member never goes below zero
    ledger = tables["loyalty_programme"]
    sign = ledger["entry_type"].map({"enrol": 0, "earn": 1, "redeem": -1, "expire": -1})
    balance = (sign * ledger["points"].astype(int)).groupby(ledger["customer_id"]).cumsum()
    assert (balance >= 0).all()
    # a customer has one manager at a time
    spells = tables["account_assignments"].sort_values(["customer_id", "assigned_from"])
    same = spells["customer_id"].eq(spells["customer_id"].shift())
    previous_end = spells["assigned_to"].shift()
    assert (~same | ((previous_end != "") & (previous_end < spells["assigned_from"]))).all()
    # skipped survey answers are blank, never 0 on a 1-based scale
    assert not (tables["survey_answers"]["value"] == "").all()


def test_truth_is_written_for_every_customer(firm):
    _, counts, tables, people, params = firm
    assert params["customers"] == len(people) == CUSTOMERS == counts["customers"]
    assert params["rows_written"] == counts
    assert list(people["customer_id"]) == list(tables["customers"]["customer_id"])
    recorded = set(tables["churn_records"]["customer_id"])
    assert recorded == set(people.loc[people["has_churn_record"], "customer_id"])
    assert people.loc[people["has_churn_record"], "churned"].all()


def test_latent_draws_match_their_published_distributions(firm):
    _, _, _, people, _ = firm
    t = Truth()
    n = len(people)
    a, b = t.bgnbd_a, t.bgnbd_b
    sd_p = np.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))
    assert abs(people["p_dropout"].mean() - a / (a + b)) < 4 * sd_p / np.sqrt(n)
    r, alpha = t.bgnbd_r, t.bgnbd_alpha
    assert abs(people["lambda_per_week"].mean() - r / alpha) < 4 * np.sqrt(r) / alpha / np.sqrt(n)
    assert abs(people["nu"].mean() - t.gg_q / t.gg_gamma) < 4 * np.sqrt(
        t.gg_q
    ) / t.gg_gamma / np.sqrt(n)
    # the copula: normal scores of p correlate -rho with loyalty (SE about (1 - rho^2)/sqrt(n))
    score = stats.norm.ppf(stats.beta.cdf(people["p_dropout"], a, b))
    rho = np.corrcoef(people["loyalty_z"], score)[0, 1]
    assert abs(rho + t.copula_rho_dropout) < 4 * (1 - t.copula_rho_dropout**2) / np.sqrt(n)


def _summary_from_files(tables: dict[str, pd.DataFrame], start: str) -> pd.DataFrame:
    """(x, t_x, T) in weeks for customers acquired inside the window, from the CSV files."""
    orders = tables["orders"]
    orders = orders[orders["is_credit_note"] == "false"]
    day = pd.to_datetime(orders["ordered_on"])
    g = day.groupby(orders["customer_id"]).agg(["count", "max"])
    acquired = pd.to_datetime(tables["customers"].set_index("customer_id")["acquired_on"])
    g["acquired"] = acquired.loc[g.index]
    g = g[g["acquired"] >= pd.Timestamp(start)]
    horizon = pd.Timestamp(END) + pd.Timedelta(days=1)
    return pd.DataFrame(
        {
            "x": g["count"] - 1,
            "t_x": (g["max"] - g["acquired"]).dt.days / 7,
            "T": (horizon - g["acquired"]).dt.days / 7,
        }
    )


def test_orders_follow_the_bgnbd_process_of_the_truth(firm):
    """Expected repeat purchases and the share without any, from the published parameters
    (Fader, Hardie & Lee 2005, eq. 9 and P(X(T) = 0)), against the orders in the files."""
    _, _, tables, _, params = firm
    s = _summary_from_files(tables, params["start_date"])
    r, alpha, a, b = (params[f"bgnbd_{k}"] for k in ("r", "alpha", "a", "b"))
    horizon = s["T"].to_numpy()
    expected_x = (
        (a + b - 1)
        / (a - 1)
        * (
            1
            - (alpha / (alpha + horizon)) ** r
            * special.hyp2f1(r, b, a + b - 1, horizon / (alpha + horizon))
        )
    )
    se = s["x"].std() / np.sqrt(len(s))
    assert abs(s["x"].mean() - expected_x.mean()) < 4 * se
    p_zero = (
        alpha / (alpha + horizon)
    ) ** r  # no dropout at time 0: x = 0 means no purchase at all
    zero_se = np.sqrt((p_zero * (1 - p_zero)).sum())
    assert abs((s["x"] == 0).sum() - p_zero.sum()) < 4 * zero_se


def test_order_amounts_follow_the_gamma_gamma_of_the_truth(firm):
    """amount x nu / (p x scale) has mean 1 and variance 1/p per order, given the true nu."""
    _, _, tables, people, params = firm
    orders = tables["orders"]
    cny = orders[(orders["is_credit_note"] == "false") & (orders["currency"] == "CNY")]
    nu = people.set_index("customer_id").loc[cny["customer_id"], "nu"].to_numpy()
    ratio = (
        cny["amount"].astype(float).to_numpy() * nu / (params["gg_p"] * params["spend_scale_cny"])
    )
    assert abs(ratio.mean() - 1) < 4 / np.sqrt(params["gg_p"] * len(ratio)) + 0.01


def test_contract_renewals_follow_the_sbg_of_the_truth(firm):
    """Each first term that ended before the end date is lost with probability theta."""
    _, _, tables, people, _ = firm
    contracts = tables["contracts"]
    first = contracts[(contracts["renewal_of"] == "") & (contracts["status"] != "active")]
    theta = people.set_index("customer_id").loc[first["customer_id"], "contract_theta"]
    lost = first["status"].isin(["expired", "terminated"]).to_numpy()
    expected, sd = theta.sum(), np.sqrt((theta * (1 - theta)).sum())
    assert abs(lost.sum() - expected) < 4 * sd


def test_signals_co_move_with_loyalty_and_churn(firm):
    _, _, tables, people, _ = firm
    people = people.set_index("customer_id")
    questions = tables["survey_questions"].set_index("question_id")
    answers = tables["survey_answers"]
    answers = answers[answers["value"] != ""].join(questions, on="question_id")
    lo, hi = answers["scale_min"].astype(float), answers["scale_max"].astype(float)
    score = (answers["value"].astype(float) - lo) / (hi - lo)
    answers["score"] = np.where(answers["is_reverse_coded"] == "true", 1 - score, score)
    responses = tables["survey_responses"].set_index("response_id")
    answers["customer_id"] = responses.loc[answers["response_id"], "customer_id"].to_numpy()
    mean_score = answers.groupby("customer_id")["score"].mean()
    z = people.loc[mean_score.index, "loyalty_z"]
    assert np.corrcoef(mean_score, z)[0, 1] > 0.4
    assert mean_score[z > 0.5].mean() > mean_score[z < -0.5].mean() + 0.1
    # churned customers complained more per year of relationship than retained ones
    complaints = tables["complaints"].groupby("customer_id").size()
    count = complaints.reindex(people.index, fill_value=0)
    stop = pd.to_datetime(people["churned_on"].fillna(str(END)))
    years = ((stop - pd.to_datetime(people["acquired_on"])).dt.days / 365).clip(lower=0.25)
    rate = count / years
    assert rate[people["churned"]].mean() > 1.5 * rate[~people["churned"]].mean()
    # loyal customers have more touches a year
    touches = (
        tables["interactions"].groupby("customer_id").size().reindex(people.index, fill_value=0)
    )
    assert (touches / years)[people["loyalty_z"] > 0.5].mean() > (touches / years)[
        people["loyalty_z"] < -0.5
    ].mean()
    # most churn is recorded, and recorded reasons follow complaints
    noticed = people["churned"] & (stop < pd.Timestamp(END) - pd.Timedelta(days=150))
    share = people.loc[noticed, "has_churn_record"].mean()
    n = noticed.sum()
    assert abs(share - Truth().churn_record_share) < 4 * np.sqrt(0.16 / n)
