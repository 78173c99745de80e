"""Customer concentration (METRICS F11): how much of the revenue hangs on a few customers.

Pure functions over a per-customer revenue series; no Dagster, no database. The warehouse
computes F11 in SQL (`customer_concentration_summary`, per slice); this is its pandas twin,
for a notebook and for the tests that check the mart against it on the same customers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

TOP_N = 10


def concentration(revenue: pd.Series, top_n: int = TOP_N) -> dict[str, float | int]:
    """Top-N share and Herfindahl index of per-customer net revenue.

    Only customers with positive net revenue hold a share: a customer whose credit notes
    exceed its invoices cannot have a negative share of the market. They are counted in
    `customers_non_positive` so nothing disappears silently.

    Herfindahl index = sum of squared revenue shares, from 1/n (all equal) to 1 (one customer).
    """
    values = pd.to_numeric(revenue, errors="raise").astype(float).to_numpy()
    positive = np.sort(values[values > 0])[::-1]
    total = float(positive.sum())
    shares = positive / total if total > 0 else positive
    top = positive[:top_n]
    return {
        "customers": int(values.size),
        "customers_with_revenue": int(positive.size),
        "customers_non_positive": int(values.size - positive.size),
        "revenue_cny": total,
        "top_n": int(top_n),
        "top_n_revenue_cny": float(top.sum()),
        "top_n_share_rate": float(top.sum() / total) if total > 0 else float("nan"),
        "herfindahl_index": float(np.sum(shares**2)) if total > 0 else float("nan"),
        "equivalent_customers": float(1 / np.sum(shares**2)) if total > 0 else float("nan"),
    }
