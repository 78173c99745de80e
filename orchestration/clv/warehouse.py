"""CLV for the warehouse: fit, choose, predict and roll up, on plain DataFrames.

The Dagster assets in `orchestration/assets/clv.py` read the marts, call these functions and
write the results; nothing here touches a database, so a notebook can run the same steps.

- Purchases (non-contractual orders): BG/NBD and Pareto/NBD are both fitted on the dbt
  summary `customer_clv_inputs`. The one used for CLV is chosen by holdout fit: on the
  summary's own holdout when the data runs past as_of, otherwise on an internal split (the
  last `validation_days` before as_of held out, both models refitted on the rest). The
  criterion is the mean absolute error of each customer's predicted against actual holdout
  purchases; ties go to BG/NBD. Spend per purchase: Gamma-Gamma on the repeat buyers.
- Contracts: the shifted-beta-geometric model per product line (the cohort), fitted on every
  renewal chain with right censoring (`sbg.fit_lifetimes`); a product line without enough
  churn to identify it uses the pooled fit of all lines. A customer's contract CLV is the
  sum over her open contracts of the annualised contract value x DERL(d | renewals made).
- The seed-002 formula (F6) beside it: annual spend x expected lifetime in years −
  acquisition cost, the expected lifetime being 1 / the company's trailing annual churn rate.
- Intervals: the parametric bootstrap of `value.clv_interval` for the purchase part; the
  contract part is a point estimate. Customer equity (F8) adds customers' bounds: exact when
  customers' CLVs move together across parameter draws, as they do here (one draw of the
  population parameters moves every customer the same way), conservative otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import bgnbd, gammagamma, paretonbd, sbg
from ._common import DAYS_PER_YEAR, FitResult, time_unit_days
from .summary import rfm_summary
from .value import clv_interval

PURCHASE_MODELS = {"bgnbd": bgnbd, "paretonbd": paretonbd}
FREQUENCY_BUCKETS = 7  # holdout validation: x = 0 .. 6 and "7+"
VALIDATION_COLUMNS = [
    "model",
    "frequency_bucket",
    "bucket_order",
    "customers",
    "actual_mean_purchases",
    "predicted_mean_purchases",
]


@dataclass(frozen=True)
class ClvSettings:
    """How far ahead and at what rate CLV is valued; documented defaults."""

    horizon_months: int = 36
    annual_discount_rate: float = 0.10
    margin_rate: float = 1.0
    interval_level: float = 0.90
    draws: int = 200
    validation_days: int = 182
    seed: int = 0


@dataclass
class ClvResult:
    """Everything the assets write: fits, per-customer CLV, validation, and notes."""

    fits: pd.DataFrame
    customers: pd.DataFrame
    validation: pd.DataFrame
    chosen_model: str | None
    notes: list[str] = field(default_factory=list)


def fits_frame(fits: dict[str, FitResult], as_of: str, chosen: str | None) -> pd.DataFrame:
    """One row per model, cohort and parameter: estimate, standard error, log-likelihood."""
    rows = []
    for key, fit in fits.items():
        model, _, cohort = key.partition(":")
        for name, estimate in fit.params.items():
            rows.append(
                {
                    "model": model,
                    "cohort": cohort or "all",
                    "parameter": name,
                    "estimate": float(estimate),
                    "std_error": float(fit.std_errors.get(name, np.nan)),
                    "log_likelihood": float(fit.log_likelihood),
                    "n": int(fit.n),
                    "converged": bool(fit.converged),
                    "time_unit": fit.time_unit,
                    "as_of": pd.Timestamp(as_of).date(),
                    "is_chosen": model == chosen or model in ("gammagamma", "sbg"),
                }
            )
    return pd.DataFrame(rows)


def _arrays(summary: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (
        summary["frequency_x"].to_numpy(float),
        summary["recency_t_x"].to_numpy(float),
        summary["age_t"].to_numpy(float),
    )


def fit_purchase_models(summary: pd.DataFrame, time_unit: str) -> dict[str, FitResult]:
    """BG/NBD and Pareto/NBD on (x, t_x, T); a model that cannot be fitted is left out."""
    x, t_x, T = _arrays(summary)  # noqa: N806
    fits = {}
    for name, module in PURCHASE_MODELS.items():
        try:
            fits[name] = module.fit(x, t_x, T, time_unit=time_unit)
        except ValueError:
            continue
    return fits


def holdout_errors(
    summary: pd.DataFrame, fits: dict[str, FitResult], length_column: str = "holdout_length"
) -> dict[str, float]:
    """Mean absolute error of predicted against actual holdout purchases, per model."""
    x, t_x, T = _arrays(summary)  # noqa: N806
    actual = summary["holdout_frequency"].to_numpy(float)
    horizon = summary[length_column].to_numpy(float)
    return {
        name: float(
            np.mean(
                np.abs(
                    PURCHASE_MODELS[name].conditional_expected_purchases(fit, horizon, x, t_x, T)
                    - actual
                )
            )
        )
        for name, fit in fits.items()
    }


def holdout_validation(summary: pd.DataFrame, fits: dict[str, FitResult]) -> pd.DataFrame:
    """Predicted against actual holdout purchases by calibration frequency, per model (as in
    Fader, Hardie and Lee 2005, figure 4)."""
    x, t_x, T = _arrays(summary)  # noqa: N806
    bucket = np.minimum(x, FREQUENCY_BUCKETS).astype(int)
    labels = [str(b) if b < FREQUENCY_BUCKETS else f"{FREQUENCY_BUCKETS}+" for b in bucket]
    frames = []
    for name, fit in fits.items():
        predicted = PURCHASE_MODELS[name].conditional_expected_purchases(
            fit, summary["holdout_length"].to_numpy(float), x, t_x, T
        )
        frame = pd.DataFrame(
            {
                "model": name,
                "frequency_bucket": labels,
                "bucket_order": bucket,
                "actual": summary["holdout_frequency"].to_numpy(float),
                "predicted": predicted,
            }
        )
        frames.append(
            frame.groupby(["model", "frequency_bucket", "bucket_order"], as_index=False).agg(
                customers=("actual", "size"),
                actual_mean_purchases=("actual", "mean"),
                predicted_mean_purchases=("predicted", "mean"),
            )
        )
    if not frames:
        return pd.DataFrame(columns=VALIDATION_COLUMNS)
    return pd.concat(frames).sort_values(["model", "bucket_order"]).reset_index(drop=True)


def choose_purchase_model(
    summary: pd.DataFrame,
    transactions: pd.DataFrame,
    as_of: str,
    time_unit: str,
    validation_days: int,
) -> tuple[str | None, dict[str, float], str]:
    """The purchase model with the smaller holdout error, the errors, and how it was judged."""
    if summary["holdout_frequency"].notna().any():
        with_holdout = summary[summary["holdout_frequency"].notna()]
        fits = fit_purchase_models(with_holdout, time_unit)
        errors = holdout_errors(with_holdout, fits)
        how = "holdout after as_of"
    else:
        split = pd.Timestamp(as_of) - pd.Timedelta(days=validation_days)
        try:
            inner = rfm_summary(
                transactions, split, as_of, time_unit, date_col="ordered_on", amount_col="amount"
            )
        except ValueError:
            return (None, {}, "no data before the validation split")
        inner = inner.rename(
            columns={
                "x": "frequency_x",
                "t_x": "recency_t_x",
                "T": "age_t",
                "x_holdout": "holdout_frequency",
                "duration_holdout": "holdout_length",
            }
        )
        fits = fit_purchase_models(inner, time_unit)
        errors = holdout_errors(inner, fits)
        how = f"internal split: the {validation_days} days before as_of held out"
    if not errors:
        return None, {}, how
    chosen = min(errors, key=lambda name: (errors[name], name != "bgnbd"))
    return chosen, errors, how


def contract_histories(contracts: pd.DataFrame, as_of: str) -> pd.DataFrame:
    """One row per renewal chain: product line (cohort), renewals made, churned or still
    under contract at as_of, and its open contract's annualised value.

    A chain ends in churn when its last contract ended on or before as_of with no renewal
    recorded; a chain whose last contract is still running (or marked renewed with the
    successor not yet loaded) is censored.
    """
    as_of_ts = pd.Timestamp(as_of)
    known = contracts[pd.to_datetime(contracts["start_on"]) <= as_of_ts].copy()
    if known.empty:
        return pd.DataFrame(
            columns=["chain_id", "customer_id", "product_line", "renewals", "churned"]
        )
    parent = dict(zip(known["contract_id"], known["renewal_of"], strict=True))
    root = {}
    for contract_id in known["contract_id"]:
        node, seen = contract_id, set()
        while isinstance(parent.get(node), str) and parent[node] in parent and node not in seen:
            seen.add(node)
            node = parent[node]
        root[contract_id] = node
    known["chain_id"] = known["contract_id"].map(root)
    known["start_on"] = pd.to_datetime(known["start_on"])
    known["end_on"] = pd.to_datetime(known["end_on"])
    known = known.sort_values(["chain_id", "start_on"])
    last = known.groupby("chain_id").tail(1).set_index("chain_id")
    first = known.groupby("chain_id").head(1).set_index("chain_id")
    size = known.groupby("chain_id").size()
    term_years = ((last["end_on"] - last["start_on"]).dt.days + 1) / DAYS_PER_YEAR
    open_now = last["end_on"].isna() | (last["end_on"] > as_of_ts)
    renewed_pending = last["status"].fillna("").eq("renewed")
    return pd.DataFrame(
        {
            "chain_id": last.index,
            "customer_id": last["customer_id"].to_numpy(),
            "product_line": first["product_line"].reindex(last.index).to_numpy(),
            "renewals": (size.reindex(last.index) - 1).to_numpy(),
            "churned": (~open_now & ~renewed_pending).to_numpy(),
            "is_open": open_now.to_numpy(),
            "annual_value_cny": (
                last["contract_value_cny"].astype(float) / term_years.clip(lower=1 / 12)
            ).to_numpy(),
        }
    ).reset_index(drop=True)


def fit_contract_cohorts(histories: pd.DataFrame) -> dict[str, FitResult]:
    """sBG per product line, with the pooled fit under "all" as the fallback."""
    fits = {}
    if histories.empty:
        return fits
    try:
        fits["all"] = sbg.fit_lifetimes(histories["renewals"], histories["churned"])
    except ValueError:
        return fits
    for line, group in histories.groupby("product_line"):
        try:
            fit = sbg.fit_lifetimes(group["renewals"], group["churned"])
        except ValueError:
            continue
        if fit.converged and np.all(np.isfinite(list(fit.std_errors.values()))):
            fits[str(line)] = fit
    return fits


def contract_clv(
    histories: pd.DataFrame, fits: dict[str, FitResult], annual_discount_rate: float
) -> pd.DataFrame:
    """Per customer: open contracts' annual value x DERL(d | renewals made), summed."""
    columns = ["customer_id", "contract_clv_cny", "open_contracts", "contract_annual_value_cny"]
    open_chains = histories[histories["is_open"]] if not histories.empty else histories
    if open_chains.empty or "all" not in fits:
        return pd.DataFrame(columns=columns)
    derl = np.empty(len(open_chains))
    for i, (line, renewals) in enumerate(
        zip(open_chains["product_line"], open_chains["renewals"], strict=True)
    ):
        fit = fits.get(str(line), fits["all"])
        derl[i] = float(
            sbg.discounted_expected_residual_lifetime(fit, annual_discount_rate, renewals + 1)
        )
    value = open_chains.assign(contract_clv_cny=open_chains["annual_value_cny"] * derl)
    return (
        value.groupby("customer_id")
        .agg(
            contract_clv_cny=("contract_clv_cny", "sum"),
            open_contracts=("chain_id", "size"),
            contract_annual_value_cny=("annual_value_cny", "sum"),
        )
        .reset_index()
    )


def compute(
    summary: pd.DataFrame,
    transactions: pd.DataFrame,
    contracts: pd.DataFrame,
    customers: pd.DataFrame,
    as_of: str,
    annual_churn_rate: float | None,
    settings: ClvSettings | None = None,
) -> ClvResult:
    """Fit every model and value every customer in `customers` (customer_id,
    acquisition_cost_cny, revenue_12m_cny). Never returns NaN or infinite CLV: a part that
    cannot be estimated is 0 with the reason in `value_method`."""
    settings = settings or ClvSettings()
    notes: list[str] = []
    time_unit = str(summary["time_unit"].iloc[0]) if len(summary) else "weeks"
    purchase_fits = fit_purchase_models(summary, time_unit) if len(summary) else {}
    chosen, errors, how = (None, {}, "no purchase data")
    if purchase_fits:
        chosen, errors, how = choose_purchase_model(
            summary, transactions, as_of, time_unit, settings.validation_days
        )
        chosen = chosen if chosen in purchase_fits else next(iter(purchase_fits))
        notes.append(
            f"purchase model {chosen} chosen by {how}; mean absolute holdout error "
            + ", ".join(f"{k} {v:.4f}" for k, v in sorted(errors.items()))
        )
    else:
        notes.append("no purchase model could be fitted: transactional CLV is 0")

    values = customers[["customer_id"]].copy()
    x, t_x, T = _arrays(summary)  # noqa: N806
    per_customer = pd.DataFrame({"customer_id": summary["customer_id"].to_numpy()})
    spend_fit = None
    if chosen:
        fit = purchase_fits[chosen]
        module = PURCHASE_MODELS[chosen]
        horizon = settings.horizon_months * (DAYS_PER_YEAR / 12) / time_unit_days(time_unit)
        per_customer["p_alive"] = module.probability_alive(fit, x, t_x, T)
        per_customer["expected_purchases"] = module.conditional_expected_purchases(
            fit, horizon, x, t_x, T
        )
        repeaters = summary["frequency_x"].to_numpy() > 0
        spend = summary["mean_repeat_spend_cny"].fillna(0).to_numpy(float)
        try:
            spend_fit = gammagamma.fit(x[repeaters], spend[repeaters])
        except ValueError as exc:
            notes.append(f"Gamma-Gamma not identified ({exc}): transactional CLV is 0")
        if spend_fit is not None:
            per_customer["expected_spend_cny"] = gammagamma.conditional_expected_spend(
                spend_fit, x, spend
            )
            interval = clv_interval(
                fit,
                spend_fit,
                x,
                t_x,
                T,
                spend,
                level=settings.interval_level,
                draws=settings.draws,
                seed=settings.seed,
                horizon_periods=settings.horizon_months,
                period="months",
                annual_discount_rate=settings.annual_discount_rate,
                margin_rate=settings.margin_rate,
            )
            per_customer["transactional_clv_cny"] = interval.clv
            per_customer["transactional_clv_lower_cny"] = interval.lower
            per_customer["transactional_clv_upper_cny"] = interval.upper
    values = values.merge(per_customer, on="customer_id", how="left")

    histories = contract_histories(contracts, as_of)
    contract_fits = fit_contract_cohorts(histories)
    if not contract_fits and not histories.empty:
        notes.append("sBG not identified (no churned or no renewed contract): contract CLV is 0")
    values = values.merge(
        contract_clv(histories, contract_fits, settings.annual_discount_rate),
        on="customer_id",
        how="left",
    )

    for column in (
        "transactional_clv_cny",
        "transactional_clv_lower_cny",
        "transactional_clv_upper_cny",
        "contract_clv_cny",
        "contract_annual_value_cny",
    ):
        if column not in values:
            values[column] = 0.0
        values[column] = values[column].fillna(0.0).astype(float)
    values["open_contracts"] = values.get("open_contracts", 0)
    values["open_contracts"] = values["open_contracts"].fillna(0).astype(int)
    for column in ("p_alive", "expected_purchases", "expected_spend_cny"):
        if column not in values:
            values[column] = np.nan
    values["purchase_model"] = chosen if chosen and spend_fit is not None else "none"
    values["clv_cny"] = values["transactional_clv_cny"] + values["contract_clv_cny"]
    values["clv_lower_cny"] = values["transactional_clv_lower_cny"] + values["contract_clv_cny"]
    values["clv_upper_cny"] = values["transactional_clv_upper_cny"] + values["contract_clv_cny"]

    # F6, the seed-002 formula: annual spend x expected lifetime (years) - acquisition cost
    lifetime = 1.0 / annual_churn_rate if annual_churn_rate and annual_churn_rate > 0 else np.nan
    info = customers.set_index("customer_id").reindex(values["customer_id"])
    values["expected_lifetime_years"] = lifetime
    values["seed_clv_cny"] = (
        info["revenue_12m_cny"].fillna(0).to_numpy(float) * lifetime
        - info["acquisition_cost_cny"].fillna(0).to_numpy(float)
        if np.isfinite(lifetime)
        else np.nan
    )
    if not np.isfinite(lifetime):
        notes.append("no churn in the trailing year: the seed formula's lifetime is undefined")
    numeric = values.select_dtypes("number")
    if np.isinf(numeric.to_numpy(float)).any():
        raise ValueError("CLV has infinite values; check the fitted parameters")

    all_fits = dict(purchase_fits)
    if spend_fit is not None:
        all_fits["gammagamma"] = spend_fit
    all_fits.update({f"sbg:{line}": fit for line, fit in contract_fits.items()})
    validation = (
        holdout_validation(summary[summary["holdout_frequency"].notna()], purchase_fits)
        if purchase_fits and summary["holdout_frequency"].notna().any()
        else pd.DataFrame(columns=VALIDATION_COLUMNS)
    )
    return ClvResult(
        fits=fits_frame(all_fits, as_of, chosen),
        customers=values,
        validation=validation,
        chosen_model=chosen,
        notes=notes,
    )


def customer_equity(values: pd.DataFrame, slices: pd.DataFrame) -> pd.DataFrame:
    """F8: CLV summed by slice (slices: customer_id, slice_type, slice_value), with bounds."""
    joined = slices.merge(values, on="customer_id", how="inner")
    return (
        joined.groupby(["slice_type", "slice_value"], as_index=False)
        .agg(
            customers=("customer_id", "nunique"),
            equity_cny=("clv_cny", "sum"),
            equity_lower_cny=("clv_lower_cny", "sum"),
            equity_upper_cny=("clv_upper_cny", "sum"),
            transactional_cny=("transactional_clv_cny", "sum"),
            contract_cny=("contract_clv_cny", "sum"),
        )
        .sort_values(["slice_type", "equity_cny"], ascending=[True, False])
        .reset_index(drop=True)
    )
