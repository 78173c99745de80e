"""Python assets on customer value, written back to the warehouse for BI."""

import datetime as dt

from dagster import AssetExecutionContext, MaterializeResult, asset
from dagster_dbt import get_asset_key_for_model
from dagster_duckdb import DuckDBResource

from .dbt import relation_name, warehouse_dbt_assets
from .publish import bi_metadata

ANALYTICS_SCHEMA = "analytics"
CONCENTRATION_MART = "customer_concentration_summary"

# The company row of the mart under the column names analytics.customer_concentration has
# always had (BI dashboards, the report and the run summary read them).
CONCENTRATION_COLUMNS = {
    "as_of_on": "as_of_on",
    "customers": "customers",
    "customers_with_revenue": "customers_with_revenue",
    "customers_non_positive": "customers_non_positive",
    "revenue_cny": "revenue_12m_cny",
    "top_n": "top_n",
    "top_n_revenue_cny": "top_n_revenue_12m_cny",
    "top_n_share_rate": "top_n_share_rate",
    "top_decile_share_rate": "top_decile_share_rate",
    "herfindahl_index": "herfindahl_index",
    "equivalent_customers": "equivalent_customers",
    "gini_coefficient": "gini_coefficient",
}

COLUMN_DOCS = {
    "computed_at": "When the row was read from the mart (local time of the run).",
    "as_of_on": "The reporting date.",
    "customers": "Customers active at as_of.",
    "customers_with_revenue": "Of them, customers with positive trailing-12-month net revenue.",
    "customers_non_positive": "Of them, customers with zero or negative net revenue.",
    "revenue_cny": "Trailing-12-month net revenue of the customers with revenue, CNY.",
    "top_n": "How many customers the top-N share counts (var concentration_top_n).",
    "top_n_revenue_cny": "Net revenue of the top_n largest customers, CNY.",
    "top_n_share_rate": "top_n_revenue_cny / revenue_cny (0-1).",
    "top_decile_share_rate": "Share of revenue of the largest tenth of customers (0-1).",
    "herfindahl_index": "Sum of squared revenue shares (0-1; 1 = one customer).",
    "equivalent_customers": "1 / herfindahl_index: customers of equal size giving the same "
    "concentration.",
    "gini_coefficient": "Gini coefficient of revenue across customers (0 = equal).",
}


@asset(
    key=[ANALYTICS_SCHEMA, "customer_concentration"],
    group_name="value",
    kinds={"python", "duckdb"},
    deps=[get_asset_key_for_model([warehouse_dbt_assets], CONCENTRATION_MART)],
    description="METRICS F11, company-wide: the company row of the dbt mart "
    "customer_concentration_summary (top-10 and top-decile shares of trailing-12-month net "
    "revenue, Herfindahl index, Gini), stamped with the time it was read.",
    metadata=bi_metadata(COLUMN_DOCS, empty_reason="no customer at as_of."),
)
def customer_concentration(
    context: AssetExecutionContext, duckdb: DuckDBResource
) -> MaterializeResult:
    """Copies the mart's company row: the SQL computes F11 once, for every slice, and this
    table keeps the key and columns that BI, the report and the freshness checks know."""
    columns = ",\n".join(f"{source} as {name}" for name, source in CONCENTRATION_COLUMNS.items())
    with duckdb.get_connection() as con:
        con.execute(f"create schema if not exists {ANALYTICS_SCHEMA}")
        con.execute(
            f"""
            create or replace table {ANALYTICS_SCHEMA}.customer_concentration as
            select cast(? as timestamp) as computed_at, {columns}
            from {relation_name(CONCENTRATION_MART)}
            where slice_type = 'company'
            """,
            [dt.datetime.now()],
        )
        rows = con.execute(f"select * from {ANALYTICS_SCHEMA}.customer_concentration").df()
    if rows.empty:  # no customers at all: an empty table, nothing to report
        context.log.warning("no customers: analytics.customer_concentration is empty")
        return MaterializeResult(metadata={"customers": 0})
    row = rows.iloc[0]
    context.log.info(
        f"top-{row['top_n']} share {row['top_n_share_rate']:.4f}, "
        f"HHI {row['herfindahl_index']:.5f}, Gini {row['gini_coefficient']:.4f}"
    )
    numbers = row.drop(["computed_at", "as_of_on"]).dropna()  # NaN: no revenue yet
    return MaterializeResult(metadata={k: float(v) for k, v in numbers.items()})
