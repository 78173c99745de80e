"""The renewal book as a warehouse asset: contracts ending in the next 90 / 180 / 365 days
with value, owner, churn risk and CLV (`orchestration.churn.renewal`), written to
`analytics.renewal_book` and so published with the other analytics tables."""

import pandas as pd
from dagster import AssetExecutionContext, AssetKey, MaterializeResult, asset
from dagster_dbt import get_asset_key_for_model
from dagster_duckdb import DuckDBResource

from ..churn.renewal import HORIZON_DAYS, renewal_book
from ..churn.tables import value_column
from ._io import ANALYTICS_SCHEMA, write_analytics_table
from .churn import GROUP
from .dbt import built_as_of, relation_name, warehouse_dbt_assets
from .publish import bi_metadata

COLUMN_DOCS = {
    "contract_id": "The contract.",
    "customer_id": "The customer.",
    "product_line": "The contract's product line.",
    "start_on": "The contract's start date.",
    "end_on": "The contract's planned end date.",
    "days_to_end": "end_on - as_of, days (1-365).",
    "renewal_bucket": "0-90, 91-180 or 181-365: days to the end.",
    "contract_value_cny": "The contract's value in CNY.",
    "is_renewed": "A follow-up contract is already signed (fct_contracts.is_renewed).",
    "account_manager_id": "The customer's current account manager (an id).",
    "churn_risk": "The customer's churn risk of churn_early_warning (0-1); empty when it did "
    "not score the customer.",
    "risk_band": "The early warning's risk band (high, medium, low).",
    "clv_cny": "The customer's CLV in CNY, on the basis clv_basis names.",
    "clv_basis": "The customer_clv column clv_cny comes from (clv_margin_cny or clv_cny).",
    "contract_value_at_risk_cny": "churn_risk x contract_value_cny: the contract value "
    "expected to be lost.",
    "as_of": "The reporting date.",
}


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
    metadata=bi_metadata(
        COLUMN_DOCS, empty_reason=f"no contract ends in the {HORIZON_DAYS} days after as_of."
    ),
)
def renewal_book_asset(context: AssetExecutionContext, duckdb: DuckDBResource) -> MaterializeResult:
    with duckdb.get_connection() as con:
        as_of_day = pd.Timestamp(built_as_of(con))
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
