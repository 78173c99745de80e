"""Generator truth through the landing files (issue 6): on 100,000 generated customers the
BG/NBD and Gamma-Gamma fits are within 5 % (and 4 standard errors) of the generator's truth.

The summary is built from `landing/orders` the way the warehouse builds
`customer_clv_inputs` (stg_crm__orders + the CDNOW conventions of `rfm_summary`):
- every invoice that is not a credit note is a purchase, contract-billed or not
  (`contract_id` labels some purchases; it does not mark a separate process);
- amounts in CNY: `amount` x `rate_to_cny` of `seeds/fx_rates.csv`, as `amount_cny`;
- a customer's invoices of one day are one transaction (the generator puts at most one
  purchase on a day, so the merge loses nothing);
- calibration ends on the end date (the warehouse's `as_of`): T = (end date - first order) / 7.

Known, small, and inside the tolerances: purchases on whole days are Bernoulli trials, a little
less dispersed than Poisson counts, so r and alpha come out about 1 % (1-1.5 standard errors)
high at this size; Gamma-Gamma's p and gamma have standard errors near 2 %, so 5 % is about
2.3 of them.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from orchestration.clv import FitResult, bgnbd, gammagamma, rfm_summary
from orchestration.synthetic import generate

pytestmark = pytest.mark.slow

CUSTOMERS = 100_000
YEARS = 3
SEED = 11
WITHIN = 0.05  # the relative tolerance
Z = 4.0  # and at most this many standard errors from the truth
FX_RATES = Path(__file__).resolve().parents[1] / "seeds" / "fx_rates.csv"


@pytest.fixture(scope="session")
def generated(tmp_path_factory) -> dict:
    """100,000 customers over 3 years, once per session: the files and the truth."""
    root = tmp_path_factory.mktemp("clv_generator")
    generate(
        root / "landing",
        root / "truth",
        customers=CUSTOMERS,
        years=YEARS,
        seed=SEED,
        progress=False,
    )
    params = json.loads((root / "truth" / "params.json").read_text())
    orders = pd.read_csv(
        root / "landing" / "orders" / f"{params['end_date']}.csv",
        usecols=["customer_id", "ordered_on", "amount", "currency", "is_credit_note"],
        dtype={"customer_id": str, "currency": str, "is_credit_note": str},
    )
    people = pd.read_csv(root / "truth" / "customers.csv", dtype={"customer_id": str})
    return {"params": params, "orders": orders, "people": people.set_index("customer_id")}


@pytest.fixture(scope="session")
def summary(generated) -> pd.DataFrame:
    """(x, t_x, T, mean repeat spend in CNY) per customer, as customer_clv_inputs has them."""
    orders = generated["orders"]
    purchases = orders[orders["is_credit_note"] == "false"].copy()
    rate = pd.read_csv(FX_RATES).set_index("currency")["rate_to_cny"]
    purchases["amount_cny"] = purchases["amount"] * purchases["currency"].map(rate)
    assert purchases["amount_cny"].notna().all(), "a currency missing from seeds/fx_rates.csv"
    return rfm_summary(
        purchases,
        generated["params"]["end_date"],
        time_unit=generated["params"]["time_unit"],
        date_col="ordered_on",
        amount_col="amount_cny",
    )


def _assert_near_truth(fit: FitResult, truth: dict[str, float]) -> None:
    assert fit.converged, fit.message
    for name, true in truth.items():
        estimate, se = fit.params[name], fit.std_errors[name]
        assert 0 < se < 0.25 * true, (name, se)
        assert abs(estimate / true - 1) < WITHIN, (name, estimate, true)
        assert abs(estimate - true) < Z * se, (name, estimate, true, se)


def test_the_warehouse_summary_is_the_generators_own(generated, summary):
    """Built from the files, x, t_x and T are exactly the generator's: no purchase is lost to
    the same-day merge, none is added by a credit note, and T ends on the end date."""
    people = generated["people"]
    assert len(summary) == len(people) == CUSTOMERS
    truth = people.loc[summary.index]
    assert (summary["x"] == truth["x"]).all()
    # customers.csv has 8 significant digits: a day is 0.14 weeks, the rounding under 1e-5
    np.testing.assert_allclose(summary["t_x"], truth["t_x_weeks"], rtol=0, atol=1e-5)
    np.testing.assert_allclose(summary["T"], truth["T_weeks"], rtol=0, atol=1e-5)


def test_bgnbd_recovers_the_generator_truth(generated, summary):
    params = generated["params"]
    fit = bgnbd.fit(summary["x"], summary["t_x"], summary["T"], time_unit=params["time_unit"])
    _assert_near_truth(fit, {name: params[f"bgnbd_{name}"] for name in ("r", "alpha", "a", "b")})


def test_gammagamma_recovers_the_generator_truth(generated, summary):
    """Spend in CNY: gamma is in CNY too, the truth's gamma x spend_scale_cny (p, q have no
    unit)."""
    params = generated["params"]
    fit = gammagamma.fit(summary["x"], summary["mean_spend"])
    assert fit.n == (summary["x"] > 0).sum()
    _assert_near_truth(
        fit,
        {
            "p": params["gg_p"],
            "q": params["gg_q"],
            "gamma": params["gg_gamma"] * params["spend_scale_cny"],
        },
    )
