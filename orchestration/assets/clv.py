"""Customer lifetime value assets (METRICS F6, F7, F8): model fits, per-customer CLV with an
interval, customer equity by slice and the holdout validation, computed by
`orchestration.clv.warehouse` from the marts `customer_clv_inputs`, `customer_value`,
`fct_contracts` and `int_customer_months`."""

import datetime as dt
import os

import pandas as pd
from dagster import (
    AssetCheckResult,
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    MaterializeResult,
    MetadataValue,
    asset_check,
    multi_asset,
)
from dagster_dbt import get_asset_key_for_model
from dagster_duckdb import DuckDBResource

from ..clv.warehouse import ClvSettings, compute, customer_equity
from ..settings import as_of
from ._io import ANALYTICS_SCHEMA, write_analytics_table
from .dbt import relation_name, warehouse_dbt_assets

GROUP = "value"
TABLES = {
    "clv_model_fits": "BG/NBD, Pareto/NBD, Gamma-Gamma and sBG (per product line) fits: "
    "parameters, standard errors, log-likelihood, n, as_of; is_chosen marks the models used.",
    "customer_clv": "Per customer: transactional CLV (chosen purchase model x Gamma-Gamma, "
    "discounted) with a bootstrap interval, contract CLV (sBG DERL x annual value), their sum, "
    "P(alive), expected purchases and the seed-002 formula (F6).",
    "customer_equity": "F8: CLV summed by company, industry, region, size band, account manager "
    "and RFM segment, with bounds.",
    "clv_holdout_validation": "Predicted against actual holdout purchases by calibration "
    "frequency (Fader, Hardie and Lee 2005); empty when the data stops at as_of.",
}
INPUT_MODELS = (
    "customer_clv_inputs",
    "customer_value",
    "dim_customers",
    "fct_contracts",
    "int_customer_months",
    "int_customer_slices",
    "stg_crm__orders",
)


def clv_settings() -> ClvSettings:
    """ClvSettings from WH_CLV_HORIZON_MONTHS, WH_CLV_DISCOUNT_RATE, WH_CLV_MARGIN_RATE."""
    defaults = ClvSettings()
    return ClvSettings(
        horizon_months=int(os.environ.get("WH_CLV_HORIZON_MONTHS", defaults.horizon_months)),
        annual_discount_rate=float(
            os.environ.get("WH_CLV_DISCOUNT_RATE", defaults.annual_discount_rate)
        ),
        margin_rate=float(os.environ.get("WH_CLV_MARGIN_RATE", defaults.margin_rate)),
    )


def annual_churn_rate_sql(as_of_date: str) -> str:
    """Customers lost in the 12 months up to as_of / customers active at the window's start."""
    spine = relation_name("int_customer_months")
    return f"""
        with window_months as (
            select * from {spine}
            where month_start_on > date_trunc('month', date '{as_of_date}') - interval 12 month
              and month_start_on <= date '{as_of_date}'
        )
        select
            sum(case when is_churned then 1 else 0 end)
            / nullif(sum(case when month_start_on = (select min(month_start_on)
                from window_months) and was_active_at_start then 1 else 0 end), 0)
        from window_months
    """


@multi_asset(
    specs=[
        AssetSpec(
            [ANALYTICS_SCHEMA, name],
            group_name=GROUP,
            kinds={"python", "scipy", "duckdb"},
            description=description,
            deps=[get_asset_key_for_model([warehouse_dbt_assets], m) for m in INPUT_MODELS],
        )
        for name, description in TABLES.items()
    ],
)
def clv_assets(context: AssetExecutionContext, duckdb: DuckDBResource):
    as_of_date = as_of() or dt.date.today().isoformat()
    settings = clv_settings()
    with duckdb.get_connection() as con:
        summary = con.execute(f"select * from {relation_name('customer_clv_inputs')}").df()
        transactions = con.execute(
            f"select customer_id, ordered_on, amount_cny as amount "
            f"from {relation_name('stg_crm__orders')} "
            f"where not is_credit_note and ordered_on <= date '{as_of_date}'"
        ).df()
        contracts = con.execute(f"select * from {relation_name('fct_contracts')}").df()
        customers = con.execute(
            f"""select c.customer_id, cast(c.acquisition_cost_amount as double)
                    as acquisition_cost_cny, v.revenue_12m_cny, v.rfm_segment
                from {relation_name("dim_customers")} c
                left join {relation_name("customer_value")} v using (customer_id)"""
        ).df()
        slices = con.execute(f"select * from {relation_name('int_customer_slices')}").df()
        churn_rate = con.execute(annual_churn_rate_sql(as_of_date)).fetchone()[0]

    context.log.info(
        f"CLV as of {as_of_date}: {len(summary):,} customers with purchases, "
        f"{len(contracts):,} contracts; fitting"
    )
    result = compute(
        summary,
        transactions,
        contracts,
        customers,
        as_of_date,
        None if churn_rate is None else float(churn_rate),
        settings,
    )
    for note in result.notes:
        context.log.info(note)
    values = result.customers.assign(as_of=dt.date.fromisoformat(as_of_date))
    segments = customers[["customer_id", "rfm_segment"]].dropna()
    slices = pd.concat(
        [
            slices,
            segments.assign(slice_type="rfm_segment").rename(
                columns={"rfm_segment": "slice_value"}
            ),
        ]
    )
    equity = customer_equity(values, slices).assign(as_of=dt.date.fromisoformat(as_of_date))
    frames = {
        "clv_model_fits": result.fits,
        "customer_clv": values,
        "customer_equity": equity,
        "clv_holdout_validation": result.validation,
    }
    with duckdb.get_connection() as con:
        for name, frame in frames.items():
            rows = write_analytics_table(con, name, frame)
            yield MaterializeResult(
                asset_key=[ANALYTICS_SCHEMA, name],
                metadata={
                    "rows": rows,
                    "as_of": as_of_date,
                    "chosen_purchase_model": str(result.chosen_model),
                    "notes": MetadataValue.md("\n".join(f"- {n}" for n in result.notes)),
                },
            )


@asset_check(
    asset=AssetKey([ANALYTICS_SCHEMA, "customer_clv"]),
    blocking=True,
    description="CLV sanity: no NaN or infinite values, P(alive) in [0, 1], non-negative CLV, "
    "lower <= CLV <= upper. Blocking: a failing CLV is never published.",
)
def customer_clv_is_sane(duckdb: DuckDBResource) -> AssetCheckResult:
    with duckdb.get_connection() as con:
        row = con.execute(
            f"""select
                count(*) filter (where isnan(clv_cny) or isinf(clv_cny)
                    or isnan(clv_lower_cny) or isinf(clv_upper_cny)),
                count(*) filter (where p_alive < 0 or p_alive > 1),
                count(*) filter (where clv_cny < 0),
                count(*) filter (where clv_lower_cny > clv_cny + 1e-6
                    or clv_upper_cny < clv_cny - 1e-6),
                count(*)
            from {ANALYTICS_SCHEMA}.customer_clv"""
        ).fetchone()
    not_finite, bad_p_alive, negative, outside, customers = row
    return AssetCheckResult(
        passed=not (not_finite or bad_p_alive or negative or outside),
        metadata={
            "customers": customers,
            "not_finite": not_finite,
            "p_alive_outside_0_1": bad_p_alive,
            "negative_clv": negative,
            "clv_outside_its_interval": outside,
        },
    )
