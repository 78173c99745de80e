"""The generator's fixed parameters (dates, rates, Arrow types, random streams), the
known truth (`Truth`) and the calendar of a run."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pyarrow as pa

DEFAULT_END_DATE = dt.date(2026, 10, 31)  # fixed, so the same arguments give the same files
DEFAULT_CHUNK_SIZE = 50_000
DAYS_PER_WEEK = 7.0
DAYS_PER_YEAR = 365.0
CONTRACT_TERM_DAYS = 365  # an annual term: start + 364 days is its last day
DECLINE_DAYS = 180.0  # signals deteriorate over this many days before a customer churns
FX_TO_CNY = {"CNY": 1.0, "USD": 7.10, "EUR": 7.75, "HKD": 0.91}  # as seeds/fx_rates.csv
ARROW_TYPES = {
    "string": pa.string(),
    "int": pa.int64(),
    "decimal": pa.decimal128(18, 2),
    "date": pa.date32(),
    "timestamp": pa.timestamp("s"),
    "bool": pa.bool_(),
}
# One random stream per table family: changing how one table is drawn leaves the others alone.
STREAMS = {
    name: i
    for i, name in enumerate(
        (
            "firm",
            "customers",
            "purchases",
            "contracts",
            "contacts",
            "orders",
            "interactions",
            "tickets",
            "complaints",
            "feedback",
            "events",
            "referrals",
            "reviews",
            "loyalty",
            "assignments",
            "churn",
            "surveys",
            "costs",
        )
    )
}


# Standard seven-region division of mainland China (华东, 华北, 华南, 华中, 西南, 西北, 东北).
@dataclass(frozen=True)
class Truth:
    """The parameters the data is drawn from; written to `<truth>/params.json`.

    Time unit of the BG/NBD parameters: weeks. Spend unit: SPEND_SCALE_CNY yuan.
    """

    bgnbd_r: float = 1.3
    bgnbd_alpha: float = 5.0  # mean purchase rate r/alpha = 0.26 a week
    bgnbd_a: float = 0.5
    bgnbd_b: float = 9.0  # mean dropout probability a/(a+b) = 0.053 after each repeat purchase
    gg_p: float = 3.5
    gg_q: float = 4.0
    gg_gamma: float = 9.0  # mean spend per order p*gamma/(q-1) = 10.5 units
    spend_scale_cny: float = 1000.0  # one Gamma-Gamma unit in CNY
    # sBG per product-line cohort: (alpha, beta) of the annual contract churn probability theta.
    sbg: dict[str, tuple[float, float]] = field(
        default_factory=lambda: {
            "system_integration": (0.9, 3.5),
            "automation": (1.0, 4.0),
            "consulting": (0.7, 1.8),
            "accounting": (1.2, 6.0),
            "design": (0.6, 1.5),
            "maintenance": (1.5, 8.0),
            "training": (0.5, 1.2),
            "software": (1.0, 5.0),
        }
    )
    copula_rho_dropout: float = 0.6  # corr of -z with the normal score of p
    copula_rho_contract: float = 0.5  # corr of -z with the normal score of theta
    copula_rho_spend: float = 1.0  # nu = F_Gamma^-1(Phi(-v)): spend is a function of value v
    satisfaction_loading: float = 0.75  # latent satisfaction = 0.75 z + sqrt(1 - 0.75^2) e
    inside_window_share: float = 0.75  # the rest was acquired up to MATURE_YEARS before
    mature_years: int = 3
    contract_share_by_size: tuple[float, ...] = (0.3, 0.45, 0.55, 0.65, 0.75)
    churn_record_share: float = 0.8
    credit_note_share: float = 0.02
    foreign_currency_share: float = 0.04
    survey_skip_share: float = 0.04


@dataclass(frozen=True)
class Calendar:
    """Day numbers (days since 1970-01-01) of the window; float days carry the time of day."""

    end: int  # the end date: the last day with data
    window_start: int  # end - years: customers acquired from here on are "inside"
    earliest: int  # earliest acquisition of the mature base

    @property
    def horizon(self) -> float:
        """Exclusive upper bound of every timestamp: midnight after the end date."""
        return float(self.end + 1)


def _day(date: dt.date) -> int:
    return (date - dt.date(1970, 1, 1)).days


def _years_before(date: dt.date, years: int) -> dt.date:
    """The same calendar day `years` earlier (the 28th for a 29 February that does not exist)."""
    try:
        return date.replace(year=date.year - years)
    except ValueError:
        return date.replace(year=date.year - years, day=28)
