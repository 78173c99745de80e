"""The semantic layer: MetricFlow validates the configs and its metrics equal the marts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from orchestration.settings import ROOT

MF = str(Path(sys.executable).with_name("mf"))


def mf(*args: str, database: str = ":memory:") -> subprocess.CompletedProcess:
    env = {**os.environ, "WH_DUCKDB_PATH": database, "DBT_PROFILES_DIR": str(ROOT)}
    env.setdefault("WH_PII_SALT", "test-salt")
    return subprocess.run(
        [MF, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def test_semantic_configs_validate():
    """`mf validate-configs` on the parsed project: semantic models, metrics, time spine."""
    result = mf("validate-configs", "--skip-dw")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ERRORS: 0" in result.stdout


@pytest.mark.slow
def test_metrics_equal_the_marts(built_warehouse, tmp_path):
    """Monthly revenue and retention from MetricFlow equal fct_orders and loyalty_indicators."""
    out = tmp_path / "mf.csv"
    result = mf(
        "query",
        "--metrics",
        "revenue,retention_rate_month",
        "--group-by",
        "metric_time__month",
        "--csv",
        str(out),
        database=built_warehouse,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    got = pd.read_csv(out, parse_dates=["metric_time__month"]).set_index("metric_time__month")
    with duckdb.connect(built_warehouse, read_only=True) as con:
        revenue = con.execute(
            "select date_trunc('month', ordered_on) as m, sum(amount_cny) as revenue "
            "from fct_orders group by 1"
        ).df()
        retention = con.execute(
            "select period_start_on as m, value from loyalty_indicators "
            "where indicator_code = 'B1' and indicator_variant = 'standard' "
            "and period_grain = 'month' and slice_type = 'company'"
        ).df()
    revenue = revenue.set_index(pd.to_datetime(revenue["m"]))["revenue"].astype(float)
    retention = retention.set_index(pd.to_datetime(retention["m"]))["value"].astype(float)
    assert len(revenue) > 12
    pd.testing.assert_series_equal(
        got["revenue"].dropna().sort_index(),
        revenue.sort_index(),
        check_names=False,
        check_index_type=False,
        check_freq=False,
        rtol=1e-9,
    )
    both = got[["retention_rate_month"]].join(retention.rename("expected"), how="inner").dropna()
    assert len(both) > 12
    assert (both["retention_rate_month"] - both["expected"]).abs().max() < 1e-9


@pytest.mark.slow
def test_indicator_names_come_from_the_catalogue_by_join(built_warehouse, tmp_path):
    """loyalty_indicators carries codes only; MetricFlow names them through the indicator
    entity (loyalty_indicator_catalogue): the yearly company numerators of B1 and B2 grouped
    by name equal the mart's, named by a SQL join to the catalogue."""
    out = tmp_path / "mf.csv"
    where = " and ".join(
        [
            "{{ Dimension('indicator_row__indicator_code') }} in ('B1', 'B2')",
            "{{ Dimension('indicator_row__indicator_variant') }} = 'standard'",
            "{{ Dimension('indicator_row__period_grain') }} = 'year'",
            "{{ Dimension('indicator_row__slice_type') }} = 'company'",
        ]
    )
    result = mf(
        "query",
        "--metrics",
        "indicator_numerator_total",
        "--group-by",
        "indicator__indicator_name_en,indicator__indicator_name_zh",
        "--where",
        where,
        "--csv",
        str(out),
        database=built_warehouse,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    got = {
        (row.indicator__indicator_name_en, row.indicator__indicator_name_zh): float(
            row.indicator_numerator_total
        )
        for row in pd.read_csv(out).itertuples()
    }
    with duckdb.connect(built_warehouse, read_only=True) as con:
        expected = {
            (en, zh): float(total)
            for en, zh, total in con.execute(
                "select c.indicator_name_en, c.indicator_name_zh, sum(i.numerator) "
                "from loyalty_indicators as i inner join loyalty_indicator_catalogue as c "
                "on i.indicator_code = c.indicator_code "
                "where i.indicator_code in ('B1', 'B2') and i.indicator_variant = 'standard' "
                "and i.period_grain = 'year' and i.slice_type = 'company' group by 1, 2"
            ).fetchall()
        }
    assert set(expected) == {("Retention rate", "客户留存率"), ("Churn rate", "客户流失率")}
    assert got == expected
