"""MetricFlow's retention_rate_<grain> is the mart's retained / S of each period, read from the
published copy the README's example reads (dbt target `published`).

loyalty_retention puts each customer in one box by its status at the period's two ends, so a
quarter's retained customers are not a sum of its months' (a customer lost in February and won
back in March is retained by neither month and by the quarter): each grain's metric reads that
grain's own rows. Summing the monthly rows instead (the metric before) gave a pooled monthly
rate: 98.6 % where the mart said 95.8 %. Renewal and complaint resolution count contracts and
complaints, which do add up over months: their monthly metrics grouped by quarter are the
mart's quarters.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from orchestration.settings import ROOT

MF = str(Path(sys.executable).with_name("mf"))

# (grain, period start, slice type, slice value, S, retained), January–April 2025, with the
# mart's own quarter and year rows: Q1 93 / 100, Q2 107 / 108, 2025 92 / 100. Pooling the months
# by quarter would give Q1 (98 + 101 + 101) / 307 = 0.977; the industry rows must be left out.
RETENTION_ROWS = [
    ("month", "2025-01-01", "company", "all", 100, 98),
    ("month", "2025-02-01", "company", "all", 104, 101),
    ("month", "2025-03-01", "company", "all", 103, 101),
    ("month", "2025-04-01", "company", "all", 108, 107),
    ("month", "2025-01-01", "industry", "energy", 40, 29),
    ("month", "2025-03-01", "industry", "energy", 30, 20),
    ("quarter", "2025-01-01", "company", "all", 100, 93),
    ("quarter", "2025-04-01", "company", "all", 108, 107),
    ("quarter", "2025-01-01", "industry", "energy", 40, 20),
    ("year", "2025-01-01", "company", "all", 100, 92),
]
EXPECTED = {
    "quarter": {dt.date(2025, 1, 1): 93 / 100, dt.date(2025, 4, 1): 107 / 108},
    "year": {dt.date(2025, 1, 1): 92 / 100},
    "month": {
        dt.date(2025, 1, 1): 98 / 100,
        dt.date(2025, 2, 1): 101 / 104,
        dt.date(2025, 3, 1): 101 / 103,
        dt.date(2025, 4, 1): 107 / 108,
    },
}


def mf_query(published: Path, grain: str, out: Path, metric: str | None = None) -> pd.Series:
    """`metric` by metric_time at `grain`, from the DuckDB file `published` read as the
    published copy (read only), as a Series indexed by period start. The default metric is
    the retention rate of that grain."""
    metric = metric or f"retention_rate_{grain}"
    env = {
        **os.environ,
        "DBT_PROFILES_DIR": str(ROOT),
        "WH_DBT_TARGET": "published",
        "WH_PUBLISHED_PATH": str(published),
    }
    result = subprocess.run(
        [MF, "query", "--metrics", metric, "--group-by", f"metric_time__{grain}"]
        + ["--order", f"metric_time__{grain}", "--csv", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    frame = pd.read_csv(out, parse_dates=[f"metric_time__{grain}"])
    index = frame[f"metric_time__{grain}"].dt.date
    return pd.Series(frame[metric].to_numpy(), index=index)


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> Path:
    """A read-only DuckDB file with a hand-made loyalty_retention, like bi.duckdb."""
    path = tmp_path_factory.mktemp("published") / "bi.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute(
            "create table loyalty_retention (period_grain varchar, period_start_on date, "
            "slice_type varchar, slice_value varchar, customers_at_start bigint, "
            "customers_at_end bigint, customers_retained bigint)"
        )
        con.executemany(
            "insert into loyalty_retention values (?, ?, ?, ?, ?, null, ?)", RETENTION_ROWS
        )
    path.chmod(0o444)
    return path


@pytest.mark.parametrize("grain", ["month", "quarter", "year"])
def test_retention_rate_is_the_marts_at_each_grain(published, tmp_path, grain):
    got = mf_query(published, grain, tmp_path / "mf.csv")
    assert list(got.index) == sorted(EXPECTED[grain])
    for start, expected in EXPECTED[grain].items():
        assert got[start] == pytest.approx(expected, abs=1e-12), (grain, start)


@pytest.mark.slow
def test_retention_rate_equals_loyalty_retention_on_a_built_warehouse(built_warehouse, tmp_path):
    """Every company quarter and year of the end-to-end warehouse: MetricFlow equals the mart."""
    for grain in ("quarter", "year"):
        got = mf_query(Path(built_warehouse), grain, tmp_path / f"{grain}.csv")
        with duckdb.connect(built_warehouse, read_only=True) as con:
            mart = con.execute(
                "select period_start_on, retention_rate from loyalty_retention "
                "where period_grain = ? and slice_type = 'company' and retention_rate is not null",
                [grain],
            ).fetchall()
        expected = pd.Series({start: value for start, value in mart})
        assert len(expected) >= 2
        both = pd.concat([got.rename("mf"), expected.rename("mart")], axis=1, join="inner")
        assert len(both) == len(expected)
        assert (both["mf"] - both["mart"]).abs().max() < 1e-9


@pytest.mark.slow
@pytest.mark.parametrize(
    ("metric", "code"), [("renewal_rate", "B3"), ("complaint_resolution_rate", "D2")]
)
def test_additive_metrics_equal_the_quarters_of_loyalty_indicators(
    built_warehouse, tmp_path, metric, code
):
    """Contracts and complaints add up over months, so these monthly metrics grouped by
    quarter are the mart's quarter rows (the README says so)."""
    got = mf_query(Path(built_warehouse), "quarter", tmp_path / "mf.csv", metric)
    with duckdb.connect(built_warehouse, read_only=True) as con:
        rows = con.execute(
            "select period_start_on, value from loyalty_indicators where indicator_code = ? "
            "and indicator_variant = 'standard' and period_grain = 'quarter' "
            "and slice_type = 'company' and value is not null",
            [code],
        ).fetchall()
    expected = pd.Series(dict(rows))  # D2 in %: its numerator carries the 100
    both = pd.concat([got.rename("mf"), expected.rename("mart")], axis=1, join="inner").dropna()
    assert len(both) >= 4
    assert (both["mf"] - both["mart"]).abs().max() < 1e-9
