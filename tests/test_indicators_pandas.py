"""loyalty_indicators recomputed with pandas from the generated landing files.

Each recomputation reads the landing CSVs of the session's generated firm (never the
warehouse's staging or fact tables) and follows the definition written in the header comment
of the SQL model that produces the indicator. The one warehouse input is the customer-month
spine `int_customer_months` (the activity rule belongs to the spine, not to the indicators):
it gives the customers active in a period, the denominator of the per-customer rates, and the
periods and slices every zero-filled indicator has a row for. I2 also reads the load ledger,
for the day each file was loaded.

Periods are calendar months, quarters and years; as_of is today, as in the fixture's build
(the empty `as_of` var), so the point-in-time rules of the facts are applied with today's date.
Every row of the compared slice types is compared: the keys must be the same set (the pandas
rows less the 0/0 ones, which the mart's tidy rule drops), and numerator, denominator and value
agree to 1e-9 relative.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from orchestration.contract import TABLES
from orchestration.settings import ROOT
from orchestration.synthetic import DEFAULT_END_DATE
from tests.conftest import YEARS

RTOL = 1e-9
GRAINS = {"month": "M", "quarter": "Q", "year": "Y"}
SLICE_TYPES = ("company", "industry", "region")
KEYS = ["period_grain", "period_start_on", "slice_type", "slice_value"]
VARIANT_KEYS = ["indicator_variant", *KEYS]
NPS_PROMOTER_MIN, NPS_DETRACTOR_MAX = 9, 6  # dbt vars nps_promoter_min / nps_detractor_max

# Coverage: every slice type of loyalty_retention; the exceptions are written out below.
CUSTOMER_SLICE_TYPES = frozenset({"company", "industry", "region", "size_band", "account_manager"})
SLICE_TYPE_EXCEPTIONS = {
    # G1 and G2 are the industry and the region distributions: their slice is the dimension
    # itself (int_distribution_indicators).
    "G1": frozenset({"industry"}),
    "G2": frozenset({"region"}),
    # I2 describes the warehouse's own loads, per company and per raw table; customers have
    # nothing to do with it (int_data_quality_indicators).
    "I2": frozenset({"company", "table"}),
    # B3 is also cut by the contracts' product line (int_renewal_churn_indicators).
    "B3": CUSTOMER_SLICE_TYPES | {"product_line"},
}
# G6 (industry benchmarks) reads loyalty_indicators, so it lives in loyalty_benchmarks.
CODES_OUTSIDE_INDICATORS = frozenset({"G6"})


# -- reading the landing files ------------------------------------------------------------


def landing_csv(landing: Path, table: str) -> pd.DataFrame:
    """The table's one drop file, every column as text (blank = missing)."""
    [path] = (landing / table).glob("*.csv")
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])


def flag(column: pd.Series) -> pd.Series:
    return column.str.strip().str.lower().eq("true")


def stamp(column: pd.Series) -> pd.Series:
    return pd.to_datetime(column)


@dataclass(frozen=True)
class Inputs:
    """The landing tables, the slices and the spine's active counts, read once per module."""

    as_of: pd.Timestamp
    tables: dict[str, pd.DataFrame]
    slices: pd.DataFrame  # customer_id, slice_type, slice_value for SLICE_TYPES
    active: pd.DataFrame  # KEYS, customers_active: every period and slice of the spine
    ledger: pd.DataFrame  # raw_meta.load_ledger

    def table(self, name: str) -> pd.DataFrame:
        return self.tables[name].copy()


def slices_from_files(customers: pd.DataFrame) -> pd.DataFrame:
    parts = [customers[["customer_id"]].assign(slice_type="company", slice_value="all")]
    for slice_type in SLICE_TYPES[1:]:
        parts.append(
            customers[["customer_id", slice_type]]
            .rename(columns={slice_type: "slice_value"})
            .assign(slice_type=slice_type)
        )
    return pd.concat(parts, ignore_index=True)


# -- periods, slices and aggregation -------------------------------------------------------


def by_period(frame: pd.DataFrame, on: str) -> pd.DataFrame:
    """One copy of each row per grain, with the calendar period its date `on` falls in."""
    parts = [
        frame.assign(
            period_grain=grain,
            period_start_on=frame[on].dt.to_period(freq).dt.start_time,
        )
        for grain, freq in GRAINS.items()
    ]
    return pd.concat(parts, ignore_index=True)


def sliced(frame: pd.DataFrame, inputs: Inputs, customer: str = "customer_id") -> pd.DataFrame:
    slices = inputs.slices.rename(columns={"customer_id": customer})
    return frame.merge(slices, on=customer, how="inner")


def ratio(frame: pd.DataFrame, numerator: str, denominator: str) -> pd.DataFrame:
    """Sum of `numerator` over sum of `denominator` per period and slice (rows that exist)."""
    return frame.groupby(KEYS, as_index=False).agg(
        numerator=(numerator, "sum"), denominator=(denominator, "sum")
    )


def percentiles(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """Median and p90 (linear interpolation, as percentile_cont) as numerator over 1."""
    grouped = frame.groupby(KEYS)[column]
    parts = []
    for name, q in (("median", 0.5), ("p90", 0.9)):
        part = grouped.quantile(q).rename("numerator").reset_index()
        parts.append(part.assign(indicator_variant=name, denominator=1.0))
    return pd.concat(parts, ignore_index=True)


def over_active(counts: pd.DataFrame, inputs: Inputs, per_customer: bool) -> pd.DataFrame:
    """Counts for every period and slice customers exist in (0 when nothing happened), over 1
    or over the customers active in the period."""
    keys = pd.concat([inputs.active[KEYS], counts[KEYS]]).drop_duplicates()
    out = keys.merge(counts, on=KEYS, how="left").merge(inputs.active, on=KEYS, how="left")
    out["numerator"] = out["numerator"].fillna(0.0)
    out["denominator"] = out["customers_active"].fillna(0.0) if per_customer else 1.0
    return out.drop(columns="customers_active")


def count(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.groupby(KEYS).size().rename("numerator").reset_index()


def hours_between(start: pd.Series, end: pd.Series) -> pd.Series:
    """dbt.datediff(start, end, 'minute') / 60: minute boundaries crossed, so the seconds of
    both stamps are dropped first (the models' header comments)."""
    return (end.dt.floor("min") - start.dt.floor("min")).dt.total_seconds() / 3600.0


def known_on(column: pd.Series, as_of: pd.Timestamp) -> pd.Series:
    """The timestamp when its date is on or before as_of, else missing (not known yet)."""
    return column.where(column.dt.normalize() <= as_of)


# -- the recomputations, one per indicator (definitions: the models' header comments) ------


def a2_satisfaction_pct(inputs: Inputs) -> pd.DataFrame:
    """int_survey_indicators A2: mean of (oriented score × 100 / scale max) over the answered
    overall-satisfaction items of satisfaction surveys, by submission date."""
    answers = survey_answers(inputs)
    answers = answers[
        answers["survey_kind"].eq("satisfaction") & answers["dimension"].eq("overall_satisfaction")
    ]
    answers = answers.assign(pct=answers["oriented"] * 100.0 / answers["scale_max"], one=1.0)
    out = ratio(sliced(by_period(answers, "submitted_at"), inputs), "pct", "one")
    return out.assign(indicator_variant="standard")


def a3_top_two_box(inputs: Inputs) -> pd.DataFrame:
    """int_survey_indicators A3 response_based: customers whose latest overall-satisfaction
    answer in the period is in the top two points of its scale / respondents."""
    answers = survey_answers(inputs)
    answers = answers[
        answers["survey_kind"].eq("satisfaction") & answers["dimension"].eq("overall_satisfaction")
    ]
    latest = latest_per_customer(answers, inputs)
    latest = latest.assign(
        satisfied=(latest["oriented"] >= latest["scale_max"] - 1).astype(float), one=1.0
    )
    return ratio(latest, "satisfied", "one").assign(indicator_variant="response_based")


def a4_resolution_hours(inputs: Inputs) -> pd.DataFrame:
    """int_service_indicators A4: hours from opening to resolution of the tickets resolved in
    the period (resolutions after as_of not known), median and p90."""
    tickets = inputs.table("service_tickets")
    tickets["opened_at"] = stamp(tickets["opened_at"])
    tickets["resolved_at"] = known_on(stamp(tickets["resolved_at"]), inputs.as_of)
    tickets = tickets[tickets["opened_at"].dt.normalize() <= inputs.as_of]
    tickets = tickets.dropna(subset=["resolved_at"])
    tickets["hours"] = hours_between(tickets["opened_at"], tickets["resolved_at"])
    return percentiles(sliced(by_period(tickets, "resolved_at"), inputs), "hours")


def a6_valid_feedback_pct(inputs: Inputs) -> pd.DataFrame:
    """int_service_indicators A6: 100 × valid items / all items received in the period, for
    all channels ('standard') and per channel ('channel:<channel>')."""
    feedback = inputs.table("feedback")
    feedback["received_at"] = stamp(feedback["received_at"])
    feedback = feedback[feedback["received_at"].dt.normalize() <= inputs.as_of]
    feedback = feedback.assign(valid=100.0 * flag(feedback["is_valid"]), one=1.0)
    periods = sliced(by_period(feedback, "received_at"), inputs)
    parts = [ratio(periods, "valid", "one").assign(indicator_variant="standard")]
    for channel, rows in periods.groupby("channel"):
        parts.append(ratio(rows, "valid", "one").assign(indicator_variant=f"channel:{channel}"))
    return pd.concat(parts, ignore_index=True)


def c2_consultations(inputs: Inputs) -> pd.DataFrame:
    """int_engagement_indicators C2: consultations in the period, all and by channel; a row
    (0) for every period and slice with customers, for every channel seen anywhere."""
    interactions = inputs.table("interactions")
    interactions["occurred_at"] = stamp(interactions["occurred_at"])
    interactions = interactions[
        interactions["kind"].eq("consultation")
        & (interactions["occurred_at"].dt.normalize() <= inputs.as_of)
    ]
    periods = sliced(by_period(interactions, "occurred_at"), inputs)
    parts = [over_active(count(periods), inputs, False).assign(indicator_variant="standard")]
    for channel, rows in periods.groupby("channel"):
        counts = over_active(count(rows), inputs, False)
        parts.append(counts.assign(indicator_variant=f"channel:{channel}"))
    return pd.concat(parts, ignore_index=True)


def complaints_as_of(inputs: Inputs) -> pd.DataFrame:
    """Complaints opened by as_of; closing, outcome and satisfaction only if closed by then."""
    complaints = inputs.table("complaints")
    complaints["opened_at"] = stamp(complaints["opened_at"])
    complaints["resolved_at"] = known_on(stamp(complaints["resolved_at"]), inputs.as_of)
    complaints["outcome"] = complaints["outcome"].where(complaints["resolved_at"].notna())
    return complaints[complaints["opened_at"].dt.normalize() <= inputs.as_of]


def d1_complaints_per_customer(inputs: Inputs) -> pd.DataFrame:
    """int_complaint_indicators D1: complaints opened in the period / customers active in it,
    for every period and slice with customers."""
    periods = sliced(by_period(complaints_as_of(inputs), "opened_at"), inputs)
    return over_active(count(periods), inputs, True).assign(indicator_variant="standard")


def d2_resolution_pct(inputs: Inputs) -> pd.DataFrame:
    """int_complaint_indicators D2: 100 × complaints closed 'resolved' by as_of / complaints
    opened in the period ('standard'), and over those of them closed by as_of ('of_closed')."""
    complaints = complaints_as_of(inputs)
    complaints = complaints.assign(resolved=100.0 * complaints["outcome"].eq("resolved"), one=1.0)
    periods = sliced(by_period(complaints, "opened_at"), inputs)
    closed = periods[periods["resolved_at"].notna()]
    return pd.concat(
        [
            ratio(periods, "resolved", "one").assign(indicator_variant="standard"),
            ratio(closed, "resolved", "one").assign(indicator_variant="of_closed"),
        ],
        ignore_index=True,
    )


def d3_handling_hours(inputs: Inputs) -> pd.DataFrame:
    """int_complaint_indicators D3: hours from opening to closing of the complaints closed in
    the period, median and p90."""
    complaints = complaints_as_of(inputs).dropna(subset=["resolved_at"])
    complaints["hours"] = hours_between(complaints["opened_at"], complaints["resolved_at"])
    return percentiles(sliced(by_period(complaints, "resolved_at"), inputs), "hours")


def e1_referral_rate(inputs: Inputs) -> pd.DataFrame:
    """int_advocacy_indicators E1: customers who referred at least one customer converted by
    as_of ('standard') or made any referral ('any_referral') in the period / customers active
    in it; a row for every period and slice of the spine (referrers are sliced)."""
    referrals = inputs.table("referrals")
    referrals["referred_on"] = stamp(referrals["referred_on"])
    referrals = referrals[referrals["referred_on"] <= inputs.as_of]
    acquired = inputs.table("customers").set_index("customer_id")["acquired_on"]
    converted_by_as_of = stamp(referrals["referred_customer_id"].map(acquired)) <= inputs.as_of
    referrals["converted"] = flag(referrals["is_converted"]) & converted_by_as_of
    per_referrer = (
        by_period(referrals, "referred_on")
        .groupby(["referrer_customer_id", "period_grain", "period_start_on"], as_index=False)
        .agg(converted=("converted", "any"))
    )
    periods = sliced(per_referrer, inputs, customer="referrer_customer_id")
    parts = []
    for variant, rows in (
        ("standard", periods[periods["converted"]]),
        ("any_referral", periods),
    ):
        rates = inputs.active.merge(count(rows), on=KEYS, how="left")
        rates = rates.rename(columns={"customers_active": "denominator"})
        rates["numerator"] = rates["numerator"].fillna(0.0)
        parts.append(rates.assign(indicator_variant=variant))
    return pd.concat(parts, ignore_index=True)


def e3_nps(inputs: Inputs) -> pd.DataFrame:
    """int_survey_indicators E3: each customer's latest answer in the period to a 0–10
    likelihood-to-recommend item; 100 × (promoters − detractors) / respondents (standard),
    and 100 × promoters, passives, detractors / respondents (the shares, summing to 100)."""
    answers = survey_answers(inputs)
    answers = answers[
        answers["dimension"].eq("likelihood_to_recommend")
        & answers["scale_min"].eq(0)
        & answers["scale_max"].eq(10)
    ]
    latest = latest_per_customer(answers, inputs)
    promoter = latest["value"] >= NPS_PROMOTER_MIN
    detractor = latest["value"] <= NPS_DETRACTOR_MAX
    scores = {
        "standard": np.select([promoter, detractor], [100.0, -100.0], 0.0),
        "promoters": np.where(promoter, 100.0, 0.0),
        "passives": np.where(~promoter & ~detractor, 100.0, 0.0),
        "detractors": np.where(detractor, 100.0, 0.0),
    }
    latest = latest.assign(one=1.0)
    return pd.concat(
        [
            ratio(latest.assign(score=score), "score", "one").assign(indicator_variant=variant)
            for variant, score in scores.items()
        ],
        ignore_index=True,
    )


def e4_reviews(inputs: Inputs) -> pd.DataFrame:
    """int_advocacy_indicators E4: reviews published in the period by sentiment (counts) and
    (positive − negative) / (positive + negative); a review without a customer counts in the
    company slice and as 'unattributed' in the others."""
    reviews = inputs.table("reviews")
    reviews["published_on"] = stamp(reviews["published_on"])
    reviews = reviews[reviews["published_on"] <= inputs.as_of]
    periods = by_period(reviews, "published_on")
    anonymous = periods[periods["customer_id"].isna()]
    unattributed = pd.concat(
        [
            anonymous.assign(
                slice_type=slice_type,
                slice_value="all" if slice_type == "company" else "unattributed",
            )
            for slice_type in SLICE_TYPES
        ],
        ignore_index=True,
    )
    rows = pd.concat([sliced(periods, inputs), unattributed], ignore_index=True)
    totals = pd.crosstab([rows[k] for k in KEYS], rows["sentiment"]).reindex(
        columns=["positive", "negative", "neutral"], fill_value=0
    )
    totals = totals.astype(float).reset_index()
    parts = [
        totals.assign(indicator_variant=s, numerator=totals[s], denominator=1.0)
        for s in ("positive", "negative", "neutral")
    ]
    parts.append(
        totals.assign(
            indicator_variant="net_sentiment",
            numerator=totals["positive"] - totals["negative"],
            denominator=totals["positive"] + totals["negative"],
        )
    )
    return pd.concat(parts, ignore_index=True)[[*VARIANT_KEYS, "numerator", "denominator"]]


def orders_as_of(inputs: Inputs) -> pd.DataFrame:
    """Orders and credit notes dated by as_of, amounts converted at the fx_rates seed."""
    orders = inputs.table("orders")
    orders["ordered_on"] = stamp(orders["ordered_on"])
    orders = orders[orders["ordered_on"] <= inputs.as_of]
    rates = pd.read_csv(ROOT / "seeds" / "fx_rates.csv").set_index("currency")["rate_to_cny"]
    orders["amount_cny"] = orders["amount"].astype(float) * orders["currency"].map(rates)
    orders["invoice"] = (~flag(orders["is_credit_note"])).astype(float)
    return orders


def f2_average_order_value(inputs: Inputs) -> pd.DataFrame:
    """int_value_indicators F2: net revenue (credit notes included) / invoices, per period."""
    periods = sliced(by_period(orders_as_of(inputs), "ordered_on"), inputs)
    return ratio(periods, "amount_cny", "invoice").assign(indicator_variant="standard")


def f3_repeat_purchase_rate(inputs: Inputs) -> pd.DataFrame:
    """int_value_indicators F3: customers with two or more invoices in the period / customers
    with at least one (a row wherever the slice has an order or credit note)."""
    periods = sliced(by_period(orders_as_of(inputs), "ordered_on"), inputs)
    per_customer = periods.groupby([*KEYS, "customer_id"], as_index=False)["invoice"].sum()
    per_customer["repeat"] = (per_customer["invoice"] >= 2).astype(float)
    per_customer["buyer"] = (per_customer["invoice"] >= 1).astype(float)
    return ratio(per_customer, "repeat", "buyer").assign(indicator_variant="standard")


def b3_renewal_rate(inputs: Inputs) -> pd.DataFrame:
    """int_renewal_churn_indicators B3 standard: contracts ending (end_on <= as_of) in the
    period that a contract signed by as_of names in renewal_of / contracts ending in it."""
    contracts = inputs.table("contracts")
    contracts["start_on"] = stamp(contracts["start_on"])
    contracts["end_on"] = stamp(contracts["end_on"])
    contracts = contracts[contracts["start_on"] <= inputs.as_of]
    renewed = set(contracts["renewal_of"].dropna())
    up = contracts[contracts["end_on"] <= inputs.as_of]
    up = up.assign(renewed=up["contract_id"].isin(renewed).astype(float), one=1.0)
    periods = sliced(by_period(up, "end_on"), inputs)
    return ratio(periods, "renewed", "one").assign(indicator_variant="standard")


def i2_accepted_share(inputs: Inputs) -> pd.DataFrame:
    """int_data_quality_indicators I2 standard: rows accepted / rows in, per period of the
    load. Expected: every data row of every file accepted (the generated files are clean),
    in the period the ledger dates its load."""
    files = pd.DataFrame(
        {
            "table_name": list(inputs.tables),
            "rows": [float(len(frame)) for frame in inputs.tables.values()],
        }
    )
    loads = inputs.ledger[["table_name", "started_at"]].merge(files, on="table_name")
    assert len(loads) == len(files)
    periods = by_period(loads, "started_at")
    parts = [
        periods.assign(slice_type="company", slice_value="all"),
        periods.assign(slice_type="table", slice_value=periods["table_name"]),
    ]
    rows = pd.concat(parts, ignore_index=True)
    return ratio(rows, "rows", "rows").assign(indicator_variant="standard")


# -- surveys -------------------------------------------------------------------------------


def survey_answers(inputs: Inputs) -> pd.DataFrame:
    """Answered items with the respondent, the survey kind and the item's scale; reverse
    items flipped (scale_min + scale_max − value)."""
    answers = inputs.table("survey_answers").dropna(subset=["value"])
    answers["value"] = answers["value"].astype(float)
    responses = inputs.table("survey_responses")
    responses["submitted_at"] = stamp(responses["submitted_at"])
    questions = inputs.table("survey_questions")
    for column in ("scale_min", "scale_max"):
        questions[column] = questions[column].astype(int)
    questions["reverse"] = flag(questions["is_reverse_coded"])
    surveys = inputs.table("surveys").rename(columns={"kind": "survey_kind"})
    questions = questions.merge(surveys[["survey_id", "survey_kind"]], on="survey_id")
    out = answers.merge(
        responses[["response_id", "customer_id", "submitted_at"]], on="response_id"
    ).merge(
        questions[["question_id", "dimension", "scale_min", "scale_max", "reverse", "survey_kind"]],
        on="question_id",
    )
    flipped = out["scale_min"] + out["scale_max"] - out["value"]
    out["oriented"] = flipped.where(out["reverse"], out["value"])
    return out


def latest_per_customer(answers: pd.DataFrame, inputs: Inputs) -> pd.DataFrame:
    """Each customer's latest answer per period and slice: latest submission day, then the
    highest response_id."""
    periods = sliced(by_period(answers, "submitted_at"), inputs)
    periods["submitted_on"] = periods["submitted_at"].dt.normalize()
    ordered = periods.sort_values(["submitted_on", "response_id"], ascending=False)
    return ordered.drop_duplicates([*KEYS, "customer_id"], keep="first")


# -- the cases -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    code: str
    variants: tuple[str, ...] | None  # None: every variant the warehouse has for the code
    compute: Callable[[Inputs], pd.DataFrame]
    slice_types: tuple[str, ...] = SLICE_TYPES


CASES = [
    Case("A2", None, a2_satisfaction_pct),
    Case("A3", ("response_based",), a3_top_two_box),
    Case("A4", None, a4_resolution_hours),
    Case("A6", None, a6_valid_feedback_pct),
    Case("B3", ("standard",), b3_renewal_rate),
    Case("C2", None, c2_consultations),
    Case("D1", None, d1_complaints_per_customer),
    Case("D2", None, d2_resolution_pct),
    Case("D3", None, d3_handling_hours),
    Case("E1", ("standard", "any_referral"), e1_referral_rate),
    Case("E3", None, e3_nps),
    Case("E4", None, e4_reviews),
    Case("F2", None, f2_average_order_value),
    Case("F3", None, f3_repeat_purchase_rate),
    Case("I2", ("standard",), i2_accepted_share, ("company", "table")),
]


@pytest.fixture(scope="module")
def inputs(built) -> Inputs:
    landing = built["landing"]
    tables = {t.name: landing_csv(landing, t.name) for t in TABLES}
    slices = slices_from_files(tables["customers"])
    with duckdb.connect(built["database"], read_only=True) as con:
        spine = con.execute(
            "select customer_id, month_start_on, is_active or was_active_at_start as active "
            "from int_customer_months"
        ).df()
        ledger = con.execute(
            "select table_name, started_at from raw_meta.load_ledger "
            "where status in ('loaded', 'replaced', 'rejected')"
        ).df()
    spine["month_start_on"] = pd.to_datetime(spine["month_start_on"])
    per_customer = (
        by_period(spine, "month_start_on")
        .groupby(["customer_id", "period_grain", "period_start_on"], as_index=False)["active"]
        .max()
    )
    active = (
        per_customer.merge(slices, on="customer_id")
        .groupby(KEYS, as_index=False)["active"]
        .sum()
        .rename(columns={"active": "customers_active"})
    )
    active["customers_active"] = active["customers_active"].astype(float)
    ledger["started_at"] = pd.to_datetime(ledger["started_at"])
    return Inputs(
        as_of=pd.Timestamp(dt.date.today()),
        tables=tables,
        slices=slices,
        active=active,
        ledger=ledger,
    )


def warehouse_rows(database: str, case: Case) -> pd.DataFrame:
    with duckdb.connect(database, read_only=True) as con:
        rows = con.execute(
            "select indicator_variant, period_grain, period_start_on, slice_type, slice_value, "
            "numerator, denominator, value from loyalty_indicators "
            "where indicator_code = ? and list_contains(?, slice_type)",
            [case.code, list(case.slice_types)],
        ).df()
    if case.variants is not None:
        rows = rows[rows["indicator_variant"].isin(case.variants)]
    rows["period_start_on"] = pd.to_datetime(rows["period_start_on"])
    return rows


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=[c.code for c in CASES])
def test_indicator_matches_pandas_on_the_landing_files(built, inputs, case):
    expected = case.compute(inputs)[[*VARIANT_KEYS, "numerator", "denominator"]]
    expected["period_start_on"] = pd.to_datetime(expected["period_start_on"])
    # the mart's tidy rule: a 0/0 row says nothing and is dropped; 0 over n > 0 is kept
    expected = expected[(expected["numerator"] != 0) | (expected["denominator"] != 0)]
    actual = warehouse_rows(built["database"], case)

    # the recomputation is not vacuous: all grains and slice types, something happened
    assert set(expected["period_grain"]) == set(GRAINS), case.code
    assert set(expected["slice_type"]) == set(case.slice_types), case.code
    assert (expected["numerator"] != 0).any(), case.code
    if case.variants is not None:
        assert set(expected["indicator_variant"]) == set(case.variants), case.code

    merged = expected.merge(
        actual, on=VARIANT_KEYS, how="outer", suffixes=("_pandas", "_sql"), indicator=True
    )
    only = merged[merged["_merge"] != "both"]
    assert only.empty, f"{case.code}: rows on one side only\n{only.head(20).to_string()}"

    def same(pandas: pd.Series, sql: pd.Series) -> np.ndarray:
        return np.isclose(
            pandas.astype(float), sql.astype(float), rtol=RTOL, atol=0.0, equal_nan=True
        )

    expected_value = merged["numerator_pandas"] / merged["denominator_pandas"].where(
        merged["denominator_pandas"] != 0
    )
    checks = {
        "numerator": same(merged["numerator_pandas"], merged["numerator_sql"]),
        "denominator": same(merged["denominator_pandas"], merged["denominator_sql"]),
        "value": same(expected_value, merged["value"]),
    }
    for name, ok in checks.items():
        columns = ["numerator_pandas", "numerator_sql", "denominator_pandas"]
        columns += ["denominator_sql", "value"]
        wrong = merged.loc[~ok, [*VARIANT_KEYS, *columns]]
        assert ok.all(), f"{case.code} {name} differs on {len(wrong)} rows\n{wrong.head(20)}"


# -- coverage ------------------------------------------------------------------------------


def numbered(letter: str, last: int) -> list[str]:
    return [f"{letter}{i}" for i in range(1, last + 1)]


# The codes of METRICS.md (the shared indicator catalogue) groups A–E and G, and I2: the
# periodic indicators loyalty_indicators carries (F and H are per-customer or Python
# outputs, I1 is a property of the schemas, tested in tests/test_pipeline.py).
CATALOGUE_CODES = [
    *numbered("A", 7),
    *numbered("B", 8),
    *numbered("C", 8),
    *numbered("D", 5),
    *numbered("E", 5),
    *numbered("G", 7),
    "I2",
]


@pytest.mark.slow
def test_every_catalogue_indicator_has_every_grain_and_slice(built):
    """Every code of METRICS A–E, G and I2 has a non-null value at every grain for every
    slice type it is defined on, and in each slice type a value for every calendar year that
    lies wholly inside the generated history (I2 is dated by the load, not the history).
    Not every month: on 300 customers the survey waves (A1–A3, E2, E3, E5) fall in a few
    months only. G6 is checked in loyalty_benchmarks below."""
    catalogue = pd.read_csv(ROOT / "seeds" / "indicator_catalogue.csv")
    codes = [c for c in catalogue["indicator_code"] if c[0] in "ABCDEG" or c == "I2"]
    assert codes == CATALOGUE_CODES  # the seed names every code of METRICS.md, no other
    full_years = range(DEFAULT_END_DATE.year - YEARS + 1, DEFAULT_END_DATE.year)
    assert len(full_years) >= 1
    with duckdb.connect(built["database"], read_only=True) as con:
        present = con.execute(
            "select distinct indicator_code, period_grain, slice_type from loyalty_indicators "
            "where value is not null"
        ).fetchall()
        yearly = con.execute(
            "select distinct indicator_code, slice_type, year(period_start_on) "
            "from loyalty_indicators where value is not null and period_grain = 'year'"
        ).fetchall()
    found: dict[str, set[tuple[str, str]]] = {}
    for code, grain, slice_type in present:
        found.setdefault(code, set()).add((grain, slice_type))
    years_found: dict[str, set[tuple[str, int]]] = {}
    for code, slice_type, year in yearly:
        years_found.setdefault(code, set()).add((slice_type, year))
    missing = {}
    for code in codes:
        if code in CODES_OUTSIDE_INDICATORS:
            continue
        slice_types = SLICE_TYPE_EXCEPTIONS.get(code, CUSTOMER_SLICE_TYPES)
        wanted = {(grain, s) for grain in GRAINS for s in slice_types}
        if found.get(code, set()) != wanted:
            missing[code] = sorted(wanted ^ found.get(code, set()))
        if code != "I2":
            wanted_years = {(s, year) for s in slice_types for year in full_years}
            if not wanted_years <= years_found.get(code, set()):
                missing[f"{code} years"] = sorted(wanted_years - years_found.get(code, set()))
    assert missing == {}


@pytest.mark.slow
def test_g6_benchmarks_sit_beside_the_company_indicators(built):
    """G6: every benchmark row of the seed appears once for every year of loyalty_indicators,
    with its benchmark value and the company's yearly value of the same indicator."""
    seed = pd.read_csv(ROOT / "seeds" / "industry_benchmarks.csv")
    seed = seed.rename(columns={"industry": "benchmark_industry"})
    keys = ["indicator_code", "indicator_variant", "benchmark_industry"]
    with duckdb.connect(built["database"], read_only=True) as con:
        years = con.execute(
            "select distinct period_start_on from loyalty_indicators "
            "where period_grain = 'year' and slice_type = 'company'"
        ).df()["period_start_on"]
        benchmarks = con.execute(
            "select b.period_start_on, b.indicator_code, b.indicator_variant, "
            "b.benchmark_industry, b.benchmark_value, b.our_value, i.value "
            "from loyalty_benchmarks b left join loyalty_indicators i "
            "on i.indicator_code = b.indicator_code "
            "and i.indicator_variant = b.indicator_variant "
            "and i.period_start_on = b.period_start_on "
            "and i.period_grain = 'year' and i.slice_type = 'company'"
        ).df()
    assert len(years) >= 2
    assert len(benchmarks) == len(seed) * len(years)
    assert set(pd.to_datetime(benchmarks["period_start_on"])) == set(pd.to_datetime(years))
    assert not benchmarks.duplicated(["period_start_on", *keys]).any()
    merged = benchmarks.merge(seed, on=keys, how="left", suffixes=("", "_seed"))
    assert np.allclose(merged["benchmark_value"], merged["benchmark_value_seed"], rtol=RTOL)
    assert np.allclose(benchmarks["our_value"], benchmarks["value"], rtol=RTOL, equal_nan=True)
    # some year has a value of ours beside every benchmark
    covered = benchmarks.groupby("period_start_on")["our_value"].agg(lambda v: v.notna().all())
    assert covered.any()
