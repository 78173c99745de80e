"""The synthetic firm: deterministic, conforming to the landing contract, true to its truth."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from orchestration.contract import TABLES
from orchestration.ingest import iter_check
from orchestration.synthetic import Truth, generate

CUSTOMERS = 3000


@pytest.fixture(scope="module")
def firm(tmp_path_factory):
    root = tmp_path_factory.mktemp("firm")
    counts = generate(
        root / "landing",
        root / "truth",
        customers=CUSTOMERS,
        years=3,
        seed=11,
        chunk_size=1000,
        progress=False,
    )
    return root, counts


def read(root, table):
    return pd.read_csv(
        next((root / "landing" / table).glob("*.csv")), dtype=str, keep_default_na=False
    )


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        generate(
            tmp_path / name, None, customers=200, years=2, seed=seed, chunk_size=70, progress=False
        )
    for t in TABLES:
        a, b, c = (next((tmp_path / n / t.name).glob("*.csv")).read_bytes() for n in "abc")
        assert a == b, t.name
    orders = [next((tmp_path / n / "orders").glob("*.csv")).read_bytes() for n in "ac"]
    assert orders[0] != orders[1]


def test_every_table_has_the_contract_header_and_rows(firm):
    root, counts = firm
    for t in TABLES:
        frame = read(root, t.name)
        assert list(frame.columns) == t.column_names, t.name
        assert len(frame) == counts[t.name] > 0, t.name


def test_every_row_passes_the_landing_contract(firm):
    root, _ = firm
    results = list(iter_check(root / "landing", dt.date(2026, 11, 24)))
    assert len(results) == len(TABLES)
    for result, reasons in results:
        assert result.status == "loaded", result.error
        assert result.rows_quarantined == 0, (result.file, reasons[:3])


def test_contract_references_hold_independently(firm):
    root, _ = firm
    customers = set(read(root, "customers")["customer_id"])
    contacts = read(root, "contacts")
    responses = read(root, "survey_responses")
    assert set(read(root, "orders")["customer_id"]) <= customers
    # a respondent is a contact of the responding customer
    owner = dict(zip(contacts["contact_id"], contacts["customer_id"], strict=True))
    assert all(
        owner[c] == k
        for c, k in zip(responses["contact_id"], responses["customer_id"], strict=True)
    )
    contracts = read(root, "contracts")
    chained = contracts[contracts["renewal_of"] != ""]
    parent = contracts.set_index("contract_id").loc[chained["renewal_of"]]
    assert (parent["customer_id"].to_numpy() == chained["customer_id"].to_numpy()).all()
    assert (parent["end_on"].to_numpy() < chained["start_on"].to_numpy()).all()


def test_truth_parameters_are_what_the_data_was_drawn_from(firm):
    root, _ = firm
    truth = Truth()
    people = pd.read_csv(root / "truth" / "customers.csv")
    params = json.loads((root / "truth" / "params.json").read_text())
    assert params["customers"] == len(people) == CUSTOMERS
    a, b = truth.bgnbd_a, truth.bgnbd_b
    sd_p = np.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))
    assert abs(people["p_dropout"].mean() - a / (a + b)) < 4 * sd_p / np.sqrt(CUSTOMERS)
    r, alpha = truth.bgnbd_r, truth.bgnbd_alpha
    sd_lam = np.sqrt(r) / alpha
    assert abs(people["lambda_per_week"].mean() - r / alpha) < 4 * sd_lam / np.sqrt(CUSTOMERS)
    # the copula ties dropout to loyalty: loyal customers drop out less
    assert np.corrcoef(people["loyalty_z"], people["p_dropout"])[0, 1] < -0.3


def test_signals_co_move_with_loyalty(firm):
    root, _ = firm
    people = pd.read_csv(root / "truth" / "customers.csv").set_index("customer_id")
    answers = read(root, "survey_answers")
    questions = read(root, "survey_questions").set_index("question_id")
    responses = read(root, "survey_responses").set_index("response_id")
    answers = answers[(answers["value"] != "")].join(questions, on="question_id")
    answers = answers[answers["is_reverse_coded"] == "false"]
    lo, hi = answers["scale_min"].astype(float), answers["scale_max"].astype(float)
    answers["score"] = (answers["value"].astype(float) - lo) / (hi - lo)
    answers["customer_id"] = responses.loc[answers["response_id"], "customer_id"].to_numpy()
    score = answers.groupby("customer_id")["score"].mean()
    assert np.corrcoef(score, people.loc[score.index, "loyalty_z"])[0, 1] > 0.5
    # churned customers complained more per year of relationship than retained ones
    complaints = read(root, "complaints").groupby("customer_id").size()
    people["complaints"] = complaints.reindex(people.index, fill_value=0)
    end = pd.Timestamp(params_end(root))
    stop = pd.to_datetime(people["churned_on"]).fillna(end)
    years = ((stop - pd.to_datetime(people["acquired_on"])).dt.days / 365).clip(lower=0.25)
    rate = people["complaints"] / years
    assert rate[people["churned"]].mean() > 1.5 * rate[~people["churned"]].mean()


def params_end(root) -> str:
    return json.loads((root / "truth" / "params.json").read_text())["end_date"]
