"""Customer lifetime value assets (METRICS F6, F7, F8): model fits, per-customer CLV with an
interval, customer equity by slice, the holdout validation, the equity bridge and its
sensitivity grid, computed by `orchestration.clv.tables` (over `clv.warehouse` and
`clv.valuation`) from the marts `customer_clv_inputs`, `customer_value`, `customer_facts`,
`features_clv_orders`, `fct_orders`, `fct_contracts`, `features_customer_months` and the seed
`product_line_margins`."""

import datetime as dt
from importlib import import_module

import pandas as pd
from dagster import (
    AssetCheckResult,
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    MaterializeResult,
    MetadataValue,
    ResourceParam,
    asset_check,
    multi_asset,
)
from dagster_dbt import get_asset_key_for_model
from dagster_duckdb import DuckDBResource

from ..clv.summary import rfm_summary_sql
from ..clv.tables import clv_sanity, compute_tables, equity_multiple_reason
from ..clv.warehouse import (
    ClvFits,
    ClvSettings,
    needs_validation_split,
    summary_time_unit,
    validation_split_on,
)
from ..fitcache import (
    FIT_COLUMN_DOCS,
    FitCache,
    code_version,
    fingerprint,
    period_of,
    refit_requested,
    with_fit_columns,
)
from ..settings import Settings
from ._io import ANALYTICS_SCHEMA, write_analytics_table
from .dbt import built_as_of, relation_name, warehouse_dbt_assets
from .publish import bi_metadata

GROUP = "value"
TABLES = {
    "clv_model_fits": "BG/NBD, Pareto/NBD, Gamma-Gamma and sBG (per product line) fits: "
    "parameters, standard errors, log-likelihood, n, as_of; is_chosen marks the models used; "
    "status, reason and fallback say what was published where a model could not be estimated.",
    "customer_clv": "Per customer: transactional CLV (chosen purchase model x Gamma-Gamma, "
    "discounted) with a bootstrap interval, contract CLV (sBG DERL x annual value) over the "
    "same horizon, their sum on revenue (clv_cny) and on gross margin (clv_margin_cny), "
    "P(alive), expected purchases, spend basis and the seed-002 formula (F6).",
    "customer_equity": "F8: CLV summed by company, industry, region, size band, account manager "
    "and RFM segment, with bounds; equity_margin_cny (gross margin) is the valuation, "
    "equity_cny the same on revenue.",
    "clv_holdout_validation": "Predicted against actual holdout purchases by calibration "
    "frequency (Fader, Hardie and Lee 2005); empty when the data stops at as_of.",
    "customer_equity_bridge": "The valuation's tie-out: trailing-12-month revenue and margin, "
    "customer equity on margin by part and RFM segment, the implied multiples, the retention "
    "the models imply against the observed one, the interval and what it covers.",
    "customer_equity_sensitivity": "Customer equity on margin for discount rate +/- 2 points, "
    "horizon 36 / setting / 120 months, margin +/- 5 points and retention +/- 5 points.",
}
_RANGE = {
    "_lower": " Lower bound of its interval (parameter uncertainty only).",
    "_upper": " Upper bound of its interval (parameter uncertainty only).",
}
COLUMN_DOCS: dict[str, dict[str, str]] = {
    "clv_model_fits": {
        "model": "bgnbd, paretonbd, gammagamma or sbg.",
        "cohort": "all, or the product line of an sBG fit.",
        "parameter": "The parameter's name (r, alpha, s, beta, a, b, p, q, gamma); empty for a "
        "model that could not be estimated.",
        "estimate": "The maximum-likelihood estimate.",
        "std_error": "Its standard error (from the inverse Hessian).",
        "log_likelihood": "The fit's log-likelihood.",
        "n": "Customers (or contracts) fitted on.",
        "converged": "Whether the optimiser converged.",
        "time_unit": "The time unit of the purchase models' rates (weeks).",
        "as_of": "The reporting date.",
        "is_chosen": "The model the published CLV uses.",
        "status": "fitted, fitted_without_interval, not_used or not_estimated.",
        "reason": "Why the model was not used or not estimated, if so.",
        "fallback": "What was published instead, if anything.",
        **FIT_COLUMN_DOCS,
    },
    "customer_clv": {
        "customer_id": "The customer.",
        "margin_rate": "Gross margin rate applied to the customer's purchases (0-1, from "
        "product_line_margins).",
        "p_alive": "Probability the customer still buys (chosen purchase model).",
        "expected_purchases": "Expected purchases over the horizon.",
        "expected_spend_cny": "Expected value of one purchase, CNY (Gamma-Gamma).",
        "spend_basis": "Where expected_spend_cny comes from (own_history, population_mean, "
        "population_mean_non_positive_spend, empirical_mean, no_purchase).",
        "transactional_clv_cny": "Discounted value of future purchases over the horizon, CNY.",
        **{f"transactional_clv{k}_cny": "Transactional CLV, CNY." + v for k, v in _RANGE.items()},
        "has_interval": "Whether the bootstrap gave an interval.",
        "transactional_clv_margin_cny": "Transactional CLV on gross margin, CNY.",
        **{
            f"transactional_clv_margin{k}_cny": "Transactional CLV on margin, CNY." + v
            for k, v in _RANGE.items()
        },
        "contract_clv_cny": "Discounted expected value of the open contracts (sBG DERL x annual "
        "value) over the horizon, CNY.",
        "contract_clv_margin_cny": "Contract CLV on gross margin, CNY.",
        "open_contracts": "Open contracts at as_of.",
        "contract_annual_value_cny": "Annual value of the open contracts, CNY.",
        "purchase_model": "The purchase model used (bgnbd, paretonbd or none).",
        "clv_cny": "transactional_clv_cny + contract_clv_cny: CLV on revenue, CNY.",
        **{f"clv{k}_cny": "CLV on revenue, CNY." + v for k, v in _RANGE.items()},
        "clv_margin_cny": "CLV on gross margin (the valuation), CNY.",
        **{f"clv_margin{k}_cny": "CLV on margin, CNY." + v for k, v in _RANGE.items()},
        "expected_lifetime_years": "1 / the trailing year's churn rate (the simple formula's "
        "lifetime).",
        "seed_clv_cny": "F6 simple formula: trailing-12-month revenue x expected lifetime - "
        "acquisition cost, CNY.",
        "is_live": "Whether the customer is active at as_of.",
        "as_of": "The reporting date.",
    },
    "customer_equity": {
        "slice_type": "company, industry, region, size_band, account_manager or rfm_segment.",
        "slice_value": "The slice's value (all for the company).",
        "customers": "Customers in the slice.",
        "equity_cny": "F8 on revenue: the customers' clv_cny summed, CNY.",
        **{f"equity{k}_cny": "Equity on revenue, CNY." + v for k, v in _RANGE.items()},
        "transactional_cny": "Its transactional part, CNY.",
        "contract_cny": "Its contract part, CNY.",
        "equity_margin_cny": "F8 on gross margin (the valuation): clv_margin_cny summed, CNY.",
        **{f"equity_margin{k}_cny": "Equity on margin, CNY." + v for k, v in _RANGE.items()},
        "transactional_margin_cny": "Its transactional part, CNY.",
        "contract_margin_cny": "Its contract part, CNY.",
        "as_of": "The reporting date.",
    },
    "clv_holdout_validation": {
        "model": "The purchase model validated (bgnbd, paretonbd).",
        "frequency_bucket": "Repeat purchases in the calibration period: 0 .. 6 or 7+.",
        "bucket_order": "Sort order of the bucket.",
        "customers": "Customers in the bucket.",
        "actual_mean_purchases": "Their mean purchases in the holdout period.",
        "predicted_mean_purchases": "The model's prediction of that mean.",
    },
    "customer_equity_bridge": {
        "line_order": "Order of the line in the bridge.",
        "line": "The line's name.",
        "part": "transactional, contract, segment or total.",
        "slice_value": "The RFM segment of a segment line; empty otherwise.",
        "value": "The line's value, in unit.",
        "unit": "CNY, x (a multiple) or rate (0-1).",
        "description": "What the line is, in words.",
        "as_of": "The reporting date.",
        "horizon_months": "The valuation's horizon in months.",
        "annual_discount_rate": "The valuation's annual discount rate.",
    },
    "customer_equity_sensitivity": {
        "annual_discount_rate": "Annual discount rate of the row.",
        "horizon_months": "Horizon of the row, months.",
        "margin_shift_rate": "Margin shift: every period's margin + this x its revenue.",
        "retention_shift_rate": "Shift of each part's model-implied annual retention.",
        "is_base": "The row of the settings themselves.",
        "equity_margin_cny": "Customer equity on margin, CNY.",
        "contract_margin_cny": "Its contract part, CNY.",
        "transactional_margin_cny": "Its transactional part, CNY.",
        "equity_to_t12m_margin": "Equity / trailing-12-month gross margin.",
        "as_of": "The reporting date.",
    },
}
# Why a table may be empty; the publish step refuses an empty table without one.
EMPTY_REASONS = {
    "clv_holdout_validation": "the data stop at as_of, so no holdout period follows the "
    "calibration period to compare predictions with.",
}
INPUT_MODELS = (
    "customer_clv_inputs",
    "features_clv_orders",
    "customer_facts",
    "customer_value",
    "dim_customers",
    "fct_contracts",
    "fct_orders",
    "features_customer_months",
    "features_customer_slices",
)

# The purchases reach the models summarised in the warehouse (rfm_summary_sql), not as rows.
NO_TRANSACTIONS = pd.DataFrame(columns=["customer_id", "ordered_on", "amount"])

# The modules whose code makes the CLV fits: a change to any of them fits again.
FIT_MODULES = tuple(
    f"orchestration.clv.{m}"
    for m in ("_common", "bgnbd", "paretonbd", "gammagamma", "sbg", "summary", "warehouse")
)


def training_data_queries(through: dt.date) -> list[str]:
    """Selects of the rows the CLV fits learn from: the invoices and the contracts dated up
    to `through`, in the columns that do not depend on as_of."""
    day = f"date '{through.isoformat()}'"
    return [
        f"""select customer_id, ordered_on, amount_cny, contract_id, product_line, is_credit_note
            from {relation_name("fct_orders")} where ordered_on <= {day}""",
        f"""select contract_id, customer_id, product_line, start_on, end_on, renewal_of,
                contract_value_cny
            from {relation_name("fct_contracts")} where start_on <= {day}""",
    ]


def clv_fit_key(as_of_on: dt.date, settings: Settings, clv: ClvSettings) -> str:
    """The cache key of the CLV fits: the period of as_of at the cadence WH_CLV_REFIT
    (weekly: the ISO week) and the settings that change a fit."""
    return (
        f"{period_of(as_of_on, settings.clv_refit_cadence)}"
        f"|time_unit={settings.dbt_var('clv_time_unit')}"
        f"|validation_days={clv.validation_days}"
    )


def clv_settings(settings: Settings) -> ClvSettings:
    """ClvSettings from the warehouse settings (WH_CLV_HORIZON_MONTHS, WH_CLV_DISCOUNT_RATE,
    WH_CLV_MARGIN_RATE, WH_CLV_MAX_ZERO_RATE, WH_CLV_EQUITY_MULTIPLE_MIN and _MAX)."""
    return ClvSettings(
        horizon_months=settings.clv_horizon_months,
        annual_discount_rate=settings.clv_discount_rate,
        margin_rate=settings.clv_margin_rate,
        max_zero_clv_rate=settings.clv_max_zero_rate,
        equity_revenue_multiple_min=settings.clv_equity_multiple_min,
        equity_revenue_multiple_max=settings.clv_equity_multiple_max,
    )


def purchases_sql(as_of_date: str, credit_notes: bool = True) -> str:
    """Invoices up to as_of that bill no contract (features_clv_orders.bills_contract, the
    rule customer_clv_inputs applies), with or without the credit notes."""
    return f"""(
        select customer_id, ordered_on, product_line, amount_cny, is_credit_note
        from {relation_name("features_clv_orders")}
        where ordered_on <= date '{as_of_date}' and not bills_contract
            {"" if credit_notes else "and not is_credit_note"}
    )"""


def trailing_sql(as_of_date: str, default_margin: float) -> str:
    """Revenue and gross margin of the 365 days ending at as_of, by part: contract values
    earned in the window (pro rata of their days), orders that bill no contract (the rule of
    features_clv_orders), every invoice; and the observed revenue retention. The contracts'
    pro-rata doubles are summed as decimals: a sum of doubles depends on the order a
    parallel scan delivers the rows in (two runs differed in the last digit)."""
    orders, contracts = relation_name("fct_orders"), relation_name("fct_contracts")
    margins = relation_name("product_line_margins")
    as_of_sql = f"date '{as_of_date}'"
    return f"""
        with window_orders as (
            select o.*, coalesce(m.gross_margin_rate, {default_margin}) as margin_rate
            from {orders} o
            left join {margins} m on o.product_line = m.product_line
            where o.ordered_on > {as_of_sql} - 365 and o.ordered_on <= {as_of_sql}
        ),
        transactional as (
            select o.*, coalesce(m.gross_margin_rate, {default_margin}) as margin_rate
            from {purchases_sql(as_of_date)} o
            left join {margins} m on o.product_line = m.product_line
            where o.ordered_on > {as_of_sql} - 365
        ),
        earned as (
            select
                k.contract_value_cny
                * greatest(0, least(k.end_on, {as_of_sql})
                    - greatest(k.start_on, {as_of_sql} - 364) + 1)
                / (k.end_on - k.start_on + 1) as revenue,
                coalesce(m.gross_margin_rate, {default_margin}) as margin_rate
            from {contracts} k
            left join {margins} m on k.product_line = m.product_line
        ),
        by_customer as (
            select
                customer_id,
                sum(case when ordered_on > {as_of_sql} - 365 then amount_cny end) as now_cny,
                sum(case when ordered_on <= {as_of_sql} - 365 then amount_cny end) as before_cny
            from {orders}
            where ordered_on > {as_of_sql} - 730 and ordered_on <= {as_of_sql}
            group by customer_id
        )
        select
            (select cast(coalesce(sum(cast(revenue as decimal(38, 20))), 0) as double)
                from earned) as t12m_contract_revenue_cny,
            (select cast(coalesce(sum(cast(revenue * margin_rate as decimal(38, 20))), 0)
                as double) from earned) as t12m_contract_margin_cny,
            (select coalesce(sum(amount_cny), 0) from transactional)
                as t12m_transactional_revenue_cny,
            (select coalesce(sum(amount_cny * margin_rate), 0) from transactional)
                as t12m_transactional_margin_cny,
            (select coalesce(sum(amount_cny), 0) from window_orders) as t12m_invoiced_revenue_cny,
            (select sum(coalesce(now_cny, 0)) / nullif(sum(before_cny), 0)
                from by_customer where before_cny > 0) as observed_revenue_retention_rate
    """


def annual_churn_rate_sql(as_of_date: str) -> str:
    """Customers lost in the 12 months up to as_of / customers active at the window's start."""
    spine = relation_name("features_customer_months")
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
            metadata=bi_metadata(COLUMN_DOCS[name], EMPTY_REASONS.get(name)),
            deps=[get_asset_key_for_model([warehouse_dbt_assets], m) for m in INPUT_MODELS],
        )
        for name, description in TABLES.items()
    ],
)
def clv_assets(
    context: AssetExecutionContext, duckdb: DuckDBResource, settings: ResourceParam[Settings]
):
    clv = clv_settings(settings)
    with duckdb.get_connection() as con:
        as_of_date = built_as_of(con).isoformat()
        summary = con.execute(
            f"""select customer_id, time_unit, frequency_x, recency_t_x, age_t,
                    mean_repeat_spend_cny, calibration_spend_cny, margin_rate,
                    holdout_frequency, holdout_length
                from {relation_name("customer_clv_inputs")}"""
        ).df()
        validation = None
        if needs_validation_split(summary):
            validation = con.execute(
                rfm_summary_sql(
                    purchases_sql(as_of_date, credit_notes=False),
                    validation_split_on(as_of_date, clv.validation_days),
                    as_of_date,
                    summary_time_unit(summary),
                    date_col="ordered_on",
                )
            ).df()
        contracts = con.execute(
            f"""select contract_id, customer_id, product_line, start_on, end_on,
                    contract_value_cny, renewal_of, status
                from {relation_name("fct_contracts")}"""
        ).df()
        customers = con.execute(
            f"""select c.customer_id, cast(c.acquisition_cost_amount as double)
                    as acquisition_cost_cny, v.revenue_12m_cny, v.rfm_segment,
                    coalesce(f.is_active, false) as is_live
                from {relation_name("dim_customers")} c
                left join {relation_name("customer_value")} v using (customer_id)
                left join {relation_name("customer_facts")} f using (customer_id)"""
        ).df()
        slices = con.execute(f"select * from {relation_name('features_customer_slices')}").df()
        churn_rate = con.execute(annual_churn_rate_sql(as_of_date)).fetchone()[0]
        margins = dict(
            con.execute(
                f"select product_line, cast(gross_margin_rate as double) "
                f"from {relation_name('product_line_margins')}"
            ).fetchall()
        )
        trailing_frame = con.execute(trailing_sql(as_of_date, clv.margin_rate)).df()
    trailing = {k: float(v) for k, v in trailing_frame.iloc[0].items() if v is not None}

    as_of_on = dt.date.fromisoformat(as_of_date)
    key = clv_fit_key(as_of_on, settings, clv)
    version = code_version([import_module(m) for m in FIT_MODULES])
    with duckdb.get_connection() as con:
        cache = FitCache(con, refit=refit_requested(context.run.tags, settings.refit_all))
        found = cache.lookup(
            "clv", key, version, lambda day: fingerprint(con, training_data_queries(day))
        )
    fitted, info = (None, None) if found is None else (ClvFits.from_parts(found[0]), found[1])
    context.log.info(
        f"CLV as of {as_of_date}: {len(summary):,} customers with purchases, "
        f"{len(contracts):,} contracts; "
        + ("fitting" if info is None else f"parameters fitted as of {info.fitted_as_of} ({key})")
    )
    result, frames = compute_tables(
        summary,
        NO_TRANSACTIONS,
        contracts,
        customers,
        slices,
        as_of_date,
        None if churn_rate is None else float(churn_rate),
        clv,
        margins,
        trailing,
        validation,
        fitted,
    )
    if info is None:
        with duckdb.get_connection() as con:
            info = FitCache(con).store(
                "clv",
                key,
                version,
                fingerprint(con, training_data_queries(as_of_on)),
                as_of_on,
                as_of_on,
                f"orders and contracts to {as_of_on} ({key})",
                result.model_fits.parts(),
            )
    frames["clv_model_fits"] = with_fit_columns(frames["clv_model_fits"], info)
    for note in result.notes:
        context.log.info(note)
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
    description="CLV is a value: no NaN or infinite CLV, P(alive) in [0, 1] and not the same "
    "for everybody, no negative CLV, lower <= CLV <= upper, and at most WH_CLV_MAX_ZERO_RATE "
    "(5 %) of the live customers (active on as_of, with purchases outside contracts or an "
    "open contract) valued at 0. Blocking: such a CLV is never "
    "published; the failure's description names the reason.",
)
def customer_clv_is_sane(
    duckdb: DuckDBResource, settings: ResourceParam[Settings]
) -> AssetCheckResult:
    with duckdb.get_connection() as con:
        frame = con.execute(
            f"""select
                count(*) as customers,
                count(*) filter (where is_live and (spend_basis <> 'no_purchase'
                    or open_contracts > 0)) as live,
                count(*) filter (where not isfinite(clv_cny) or not isfinite(clv_margin_cny)
                    or not isfinite(clv_lower_cny) or not isfinite(clv_upper_cny))
                    as not_finite,
                count(*) filter (where p_alive < 0 or p_alive > 1) as p_alive_outside_0_1,
                count(*) filter (where clv_cny < 0 or clv_margin_cny < 0) as negative_clv,
                count(*) filter (where clv_lower_cny > clv_cny + 1e-6
                    or clv_upper_cny < clv_cny - 1e-6) as clv_outside_its_interval,
                count(*) filter (where is_live and (spend_basis <> 'no_purchase'
                    or open_contracts > 0) and not (clv_margin_cny > 0)) as live_zero_clv,
                count(p_alive) as p_alive_values,
                coalesce(max(p_alive) - min(p_alive), 0) as p_alive_spread
            from {ANALYTICS_SCHEMA}.customer_clv"""
        ).df()
    counts = {k: float(v) for k, v in frame.iloc[0].items()}
    reasons = clv_sanity(counts, settings.clv_max_zero_rate)
    return AssetCheckResult(
        passed=not reasons,
        metadata={**counts, "reasons": "; ".join(reasons) or "none"},
        description="; ".join(reasons) if reasons else "CLV is a value for every customer",
    )


@asset_check(
    asset=AssetKey([ANALYTICS_SCHEMA, "customer_equity_bridge"]),
    blocking=True,
    description="Customer equity on margin / trailing-12-month revenue lies within "
    "[WH_CLV_EQUITY_MULTIPLE_MIN, WH_CLV_EQUITY_MULTIPLE_MAX] (0.1-10). Blocking: an equity "
    "outside is not published; the failure's description names the multiple.",
)
def customer_equity_is_plausible(
    duckdb: DuckDBResource, settings: ResourceParam[Settings]
) -> AssetCheckResult:
    with duckdb.get_connection() as con:
        rows = dict(
            con.execute(
                f"""select line, value from {ANALYTICS_SCHEMA}.customer_equity_bridge
                where part = 'total' and line in
                    ('customer_equity_margin_cny', 't12m_revenue_cny')"""
            ).fetchall()
        )
    equity = float(rows.get("customer_equity_margin_cny", 0.0))
    revenue = float(rows.get("t12m_revenue_cny", 0.0))
    reason = equity_multiple_reason(
        equity,
        revenue,
        settings.clv_equity_multiple_min,
        settings.clv_equity_multiple_max,
    )
    return AssetCheckResult(
        passed=reason is None,
        metadata={
            "customer_equity_margin_cny": equity,
            "t12m_revenue_cny": revenue,
            "equity_to_t12m_revenue": equity / revenue if revenue > 0 else None,
        },
        description=reason
        or (
            "no trailing-12-month revenue: the multiple cannot be judged"
            if revenue <= 0
            else "customer equity within the band"
        ),
    )
