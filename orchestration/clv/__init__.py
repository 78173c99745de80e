"""Customer lifetime value models in plain numpy/scipy (METRICS F6, F7).

No Dagster, no database: every function takes arrays (or a transactions DataFrame for the
summary) and returns arrays, so the package works the same in a notebook and in an asset.

- `bgnbd`, `paretonbd`: purchase frequency and P(alive) for non-contractual customers;
- `gammagamma`: spend per purchase;
- `sbg`: contract renewals (shifted-beta-geometric), retention path, DEL and DERL;
- `summary.rfm_summary`: (x, t_x, T, mean spend, holdout) from transactions;
- `value`: the seed CLV formula and the discounted probabilistic CLV with an interval.

Typical use, time in weeks:

    summary = rfm_summary(transactions, calibration_end="2026-06-30")
    purchases = bgnbd.fit(summary.x, summary.t_x, summary["T"])
    spend = gammagamma.fit(summary.x, summary.mean_spend)
    clv = customer_lifetime_value(purchases, spend, summary.x, summary.t_x, summary["T"],
                                  summary.mean_spend, horizon_periods=12, period="months")
"""

from . import bgnbd, gammagamma, paretonbd, sbg
from ._common import FitResult
from .summary import read_cdnow, rfm_summary
from .value import ClvInterval, clv_interval, customer_lifetime_value, seed_clv

__all__ = [
    "ClvInterval",
    "FitResult",
    "bgnbd",
    "clv_interval",
    "customer_lifetime_value",
    "gammagamma",
    "paretonbd",
    "read_cdnow",
    "rfm_summary",
    "sbg",
    "seed_clv",
]
