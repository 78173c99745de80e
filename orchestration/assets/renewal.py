"""The renewal book as a warehouse asset: contracts ending in the next 90 / 180 / 365 days
with value, owner, churn risk and CLV (`orchestration.churn.renewal`), written to
`analytics.renewal_book` and so published with the other analytics tables."""

import datetime as dt

import pandas as pd
from dagster import AssetExecutionContext, AssetKey, MaterializeResult, asset
from dagster_dbt import get_asset_key_for_model
from dagster_duckdb import DuckDBResource

from ..churn.renewal import HORIZON_DAYS, renewal_book
from ..settings import as_of
from ._io import ANALYTICS_SCHEMA, write_analytics_table
from .churn import GROUP, value_column
from .dbt import relation_name, warehouse_dbt_assets


@asset(
    key=[ANALYTICS_SCHEMA, "renewal_book"],
    group_name=GROUP,
    kinds={"python", "duckdb"},
    deps=[
        get_asset_key_for_model([warehouse_dbt_assets], "fct_contracts"),
        get_asset_key_for_model([warehouse_dbt_assets], "dim_customers"),
        AssetKey([ANALYTICS_SCHEMA, "churn_early_warning"]),
        AssetKey([ANALYTICS_SCHEMA, "customer_clv"]),
    ],
    description="Renewal book (due diligence): every contract not terminated that ends in the "
    f"next {HORIZON_DAYS} days, bucketed 0-90 / 91-180 / 181-365 days, with its value in CNY, "
    "whether it is already renewed, the account manager (id), the customer's churn risk and "
    "CLV (margin-based where available), and risk x contract value. No personal data.",
)
def renewal_book_asset(context: AssetExecutionContext, duckdb: DuckDBResource) -> MaterializeResult:
    as_of_day = pd.Timestamp(as_of() or dt.date.today().isoformat())
    with duckdb.get_connection() as con:
        contracts = con.execute(
            f"""select contract_id, customer_id, product_line, start_on, end_on, status,
                    cast(contract_value_cny as double) as contract_value_cny, is_renewed
                from {relation_name("fct_contracts")}"""
        ).df()
        owners = con.execute(
            f"select customer_id, current_manager_id as account_manager_id "
            f"from {relation_name('dim_customers')}"
        ).df()
        warning = con.execute(
            f"select customer_id, risk, risk_band from {ANALYTICS_SCHEMA}.churn_early_warning"
        ).df()
        table = f"{ANALYTICS_SCHEMA}.customer_clv"
        basis = value_column(list(con.execute(f"select * from {table} limit 0").df().columns))
        clv = con.execute(f"select customer_id, {basis} as clv_cny from {table}").df()
    book = renewal_book(contracts, owners, warning, clv, as_of_day, basis)
    by_bucket = book.groupby("renewal_bucket")["contract_value_cny"].agg(["size", "sum"])
    context.log.info(f"renewal book as of {as_of_day.date()}:\n{by_bucket}")
    with duckdb.get_connection() as con:
        rows = write_analytics_table(con, "renewal_book", book)
    return MaterializeResult(
        metadata={
            "rows": rows,
            "as_of": str(as_of_day.date()),
            "contract_value_cny": float(book["contract_value_cny"].sum()),
        }
    )
