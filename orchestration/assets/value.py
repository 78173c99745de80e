"""Python assets on customer value, written back to the warehouse for BI."""

import datetime as dt

import pandas as pd
from dagster import AssetExecutionContext, MaterializeResult, asset
from dagster_dbt import get_asset_key_for_model
from dagster_duckdb import DuckDBResource

from ..concentration import TOP_N, concentration
from .dbt import relation_name, warehouse_dbt_assets

ANALYTICS_SCHEMA = "analytics"


@asset(
    key=[ANALYTICS_SCHEMA, "customer_concentration"],
    group_name="value",
    kinds={"python", "pandas", "duckdb"},
    deps=[get_asset_key_for_model([warehouse_dbt_assets], "dim_customers")],
    description="METRICS F11: top-10 customers' share of net revenue and the Herfindahl index.",
)
def customer_concentration(
    context: AssetExecutionContext, duckdb: DuckDBResource
) -> MaterializeResult:
    with duckdb.get_connection() as con:
        revenue = con.execute(
            f"select customer_id, net_revenue_cny from {relation_name('dim_customers')}"
        ).df()
        result = concentration(revenue["net_revenue_cny"], TOP_N)
        row = pd.DataFrame([{"computed_at": dt.datetime.now()} | result])
        con.execute(f"create schema if not exists {ANALYTICS_SCHEMA}")
        con.register("concentration_row", row)
        con.execute(
            f"create or replace table {ANALYTICS_SCHEMA}.customer_concentration as "
            "select * from concentration_row"
        )
        con.unregister("concentration_row")
    context.log.info(
        f"top-{TOP_N} share {result['top_n_share_rate']:.4f}, HHI {result['herfindahl_index']:.5f}"
    )
    return MaterializeResult(
        metadata={k: v for k, v in result.items() if isinstance(v, int | float)}
    )
