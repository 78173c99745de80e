"""CLV for the warehouse: fit, choose, predict and roll up, on plain DataFrames.

The Dagster assets in `orchestration/assets/clv.py` read the marts, call these functions and
write the results; nothing here touches a database, so a notebook can run the same steps.

- Purchases (non-contractual orders): BG/NBD and Pareto/NBD are both fitted on the dbt
  summary `customer_clv_inputs`. The one used for CLV is chosen by holdout fit: on the
  summary's own holdout when the data runs past as_of, otherwise on an internal split (the
  last `validation_days` before as_of held out, both models refitted on the rest). The
  criterion is the mean absolute error of each customer's predicted against actual holdout
  purchases; ties go to BG/NBD. Spend per purchase: Gamma-Gamma on the repeat buyers whose
  mean repeat spend is positive (the others get its population mean). Fallbacks where a
  model cannot be estimated: see `compute`.
- Contracts: the shifted-beta-geometric model per product line (the cohort), fitted on every
  renewal chain with right censoring (`sbg.fit_lifetimes`); a product line without enough
  churn to identify it uses the pooled fit of all lines. A customer's contract CLV is the
  sum over her open contracts of the annualised contract value x DERL(d | renewals made),
  cut at the same horizon as the purchase part.
- Margin: each part on revenue and on gross margin (seed product_line_margins); the margin
  figures are the valuation.
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
from .value import (
    clv_interval,
    discount_factors,
    expected_purchases_by_period,
    expected_purchases_in_blocks,
)

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
    """How far ahead, at what rate and on what margin CLV is valued; documented defaults.

    One horizon and one rate for both parts: the purchase part is discounted month by month
    over `horizon_months`, the contract part year by year over the same span.
    `margin_rate` is the gross margin of revenue whose product line has no row in the seed
    `product_line_margins`. The last three are the bounds of the blocking checks.
    """

    horizon_months: int = 60
    annual_discount_rate: float = 0.10
    margin_rate: float = 1.0
    interval_level: float = 0.90
    draws: int = 200
    validation_days: int = 182
    seed: int = 0
    max_zero_clv_rate: float = 0.05
    equity_revenue_multiple_min: float = 0.1
    equity_revenue_multiple_max: float = 10.0


@dataclass
class ClvResult:
    """Everything the assets write: fits, per-customer CLV, validation, cash flows, notes."""

    fits: pd.DataFrame
    customers: pd.DataFrame
    validation: pd.DataFrame
    chosen_model: str | None
    notes: list[str] = field(default_factory=list)
    cash_flows: pd.DataFrame | None = None
    model_fits: ClvFits | None = None  # what was fitted (or reused): kept between runs


def _fit_to_json(fit: FitResult) -> dict:
    def matrix(values: np.ndarray | None) -> list | None:
        return None if values is None else np.asarray(values, float).tolist()

    return {
        "model": fit.model,
        "params": {k: float(v) for k, v in fit.params.items()},
        "std_errors": {k: float(v) for k, v in fit.std_errors.items()},
        "log_likelihood": float(fit.log_likelihood),
        "n": int(fit.n),
        "converged": bool(fit.converged),
        "n_unique": int(fit.n_unique),
        "iterations": int(fit.iterations),
        "message": str(fit.message),
        "time_unit": fit.time_unit,
        "covariance": matrix(fit.covariance),
        "log_covariance": matrix(fit.log_covariance),
    }


def _fit_from_json(data: dict) -> FitResult:
    def matrix(values: list | None) -> np.ndarray | None:
        return None if values is None else np.array(values, float)

    return FitResult(
        **{k: v for k, v in data.items() if k not in ("covariance", "log_covariance")},
        covariance=matrix(data["covariance"]),
        log_covariance=matrix(data["log_covariance"]),
    )


@dataclass(frozen=True)
class ClvFits:
    """What `compute` learns from the data, apart from scoring: the purchase models that
    could be fitted (and why the others could not), which one the holdout chose, Gamma-Gamma
    (or why it could not be estimated) and the sBG fits per product line. Passed back to
    `compute`, it values the customers of a later day with these parameters instead of
    fitting again (`orchestration.fitcache`: CLV parameters weekly, values daily); `parts`
    is its JSON form, exact to the last bit."""

    purchase: dict[str, FitResult]
    purchase_reasons: dict[str, str]
    choice: tuple[str | None, dict[str, float], str] | None
    spend: FitResult | None
    spend_reason: str | None
    contracts: dict[str, FitResult]

    def spend_fit(self) -> FitResult:
        """Gamma-Gamma, or the ValueError it was not estimated for."""
        if self.spend is None:
            raise ValueError(self.spend_reason)
        return self.spend

    def parts(self) -> dict[str, object]:
        return {
            "fits": {
                "purchase": {k: _fit_to_json(f) for k, f in self.purchase.items()},
                "purchase_reasons": self.purchase_reasons,
                "choice": None if self.choice is None else list(self.choice),
                "spend": None if self.spend is None else _fit_to_json(self.spend),
                "spend_reason": self.spend_reason,
                "contracts": {k: _fit_to_json(f) for k, f in self.contracts.items()},
            }
        }

    @classmethod
    def from_parts(cls, parts: dict[str, object]) -> ClvFits:
        data = parts["fits"]
        return cls(
            purchase={k: _fit_from_json(f) for k, f in data["purchase"].items()},
            purchase_reasons=dict(data["purchase_reasons"]),
            choice=None if data["choice"] is None else tuple(data["choice"]),
            spend=None if data["spend"] is None else _fit_from_json(data["spend"]),
            spend_reason=data["spend_reason"],
            contracts={k: _fit_from_json(f) for k, f in data["contracts"].items()},
        )


FIT_COLUMNS = [
    "model",
    "cohort",
    "parameter",
    "estimate",
    "std_error",
    "log_likelihood",
    "n",
    "converged",
    "time_unit",
    "as_of",
    "is_chosen",
    "status",
    "reason",
    "fallback",
]


@dataclass(frozen=True)
class ModelStatus:
    """How a model fared: 'fitted', 'fitted_without_interval', 'not_used' or
    'not_estimated', why, and what was published instead."""

    status: str
    reason: str = ""
    fallback: str = ""


def fits_frame(
    fits: dict[str, FitResult],
    as_of: str,
    chosen: str | None,
    statuses: dict[str, ModelStatus] | None = None,
) -> pd.DataFrame:
    """One row per model, cohort and parameter: estimate, standard error, log-likelihood,
    with the model's status, the reason and the fallback; a model that could not be
    estimated has one row without a parameter, saying why."""
    statuses = statuses or {}
    as_of_date = pd.Timestamp(as_of).date()
    rows = []
    for key, fit in fits.items():
        model, _, cohort = key.partition(":")
        state = statuses.get(key, ModelStatus("fitted"))
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
                    "as_of": as_of_date,
                    "is_chosen": model == chosen or model in ("gammagamma", "sbg"),
                    "status": state.status,
                    "reason": state.reason,
                    "fallback": state.fallback,
                }
            )
    for key, state in statuses.items():
        if key in fits:
            continue
        model, _, cohort = key.partition(":")
        rows.append(
            {
                "model": model,
                "cohort": cohort or "all",
                "parameter": None,
                "estimate": np.nan,
                "std_error": np.nan,
                "log_likelihood": np.nan,
                "n": 0,
                "converged": False,
                "time_unit": None,
                "as_of": as_of_date,
                "is_chosen": False,
                "status": state.status,
                "reason": state.reason,
                "fallback": state.fallback,
            }
        )
    frame = pd.DataFrame(rows, columns=FIT_COLUMNS)
    return frame.astype(
        {
            "model": "string",
            "cohort": "string",
            "parameter": "string",
            "estimate": float,
            "std_error": float,
            "log_likelihood": float,
            "n": "int64",
            "converged": bool,
            "time_unit": "string",
            "is_chosen": bool,
            "status": "string",
            "reason": "string",
            "fallback": "string",
        }
    )


def _arrays(summary: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (
        summary["frequency_x"].to_numpy(float),
        summary["recency_t_x"].to_numpy(float),
        summary["age_t"].to_numpy(float),
    )


def fit_purchase_models(
    summary: pd.DataFrame, time_unit: str, reasons: dict[str, str] | None = None
) -> dict[str, FitResult]:
    """BG/NBD and Pareto/NBD on (x, t_x, T); a model that cannot be fitted is left out (its
    reason in `reasons`, when given)."""
    x, t_x, T = _arrays(summary)  # noqa: N806
    fits = {}
    for name, module in PURCHASE_MODELS.items():
        try:
            fits[name] = module.fit(x, t_x, T, time_unit=time_unit)
        except ValueError as exc:
            if reasons is not None:
                reasons[name] = str(exc)
    return fits


def unusable_reason(
    fit: FitResult, summary: pd.DataFrame, horizon_months: int, time_unit: str
) -> str | None:
    """Why a fitted purchase model cannot value these customers (None: it can): it did not
    converge, or its P(alive) or expected purchases over the horizon are not finite for
    some customer (parameters run off to the edge, as with customers who never drop out)."""
    if not fit.converged:
        return f"did not converge ({fit.message or 'no optimum found'})"
    module = PURCHASE_MODELS[fit.model]
    x, t_x, T = _arrays(summary)  # noqa: N806
    horizon = horizon_months * (DAYS_PER_YEAR / 12) / time_unit_days(time_unit)
    with np.errstate(all="ignore"):
        alive = module.probability_alive(fit, x, t_x, T)
        expected = module.conditional_expected_purchases(fit, horizon, x, t_x, T)
    bad = int(np.count_nonzero(~(np.isfinite(alive) & np.isfinite(expected))))
    if bad:
        return f"P(alive) or expected purchases not finite for {bad} customers"
    return None


def has_covariance(fit: FitResult) -> bool:
    """Whether the fit has a finite covariance to draw a bootstrap interval from."""
    return fit.log_covariance is not None and bool(np.all(np.isfinite(fit.log_covariance)))


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
    names = [str(b) for b in range(FREQUENCY_BUCKETS)] + [f"{FREQUENCY_BUCKETS}+"]
    labels = np.array(names, dtype=object)[bucket]
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


def summary_time_unit(summary: pd.DataFrame) -> str:
    """The time unit of customer_clv_inputs' rows (weeks when there are none)."""
    return str(summary["time_unit"].iloc[0]) if len(summary) else "weeks"


def needs_validation_split(summary: pd.DataFrame) -> bool:
    """Whether the purchase models are judged on an internal split (the data stop at as_of,
    so the summary has no holdout of its own)."""
    return not summary["holdout_frequency"].notna().any()


def validation_split_on(as_of: str, validation_days: int) -> pd.Timestamp:
    """The end of the internal split's calibration period: `validation_days` before as_of."""
    return pd.Timestamp(as_of) - pd.Timedelta(days=validation_days)


def choose_purchase_model(
    summary: pd.DataFrame,
    transactions: pd.DataFrame,
    as_of: str,
    time_unit: str,
    validation_days: int,
    validation: pd.DataFrame | None = None,
) -> tuple[str | None, dict[str, float], str]:
    """The purchase model with the smaller holdout error, the errors, and how it was judged.

    Without a holdout after as_of the models are refitted on the internal split: its
    summary `validation` (`rfm_summary`'s x, t_x, T, x_holdout, duration_holdout per
    customer, as `summary.rfm_summary_sql` computes it in the warehouse) when given, else
    `rfm_summary` of `transactions` (customer_id, ordered_on, amount)."""
    if not needs_validation_split(summary):
        with_holdout = summary[summary["holdout_frequency"].notna()]
        fits = fit_purchase_models(with_holdout, time_unit)
        errors = holdout_errors(with_holdout, fits)
        how = "holdout after as_of"
    else:
        split = validation_split_on(as_of, validation_days)
        if validation is not None:
            inner = validation
        else:
            try:
                inner = rfm_summary(
                    transactions,
                    split,
                    as_of,
                    time_unit,
                    date_col="ordered_on",
                    amount_col="amount",
                )
            except ValueError:
                inner = pd.DataFrame()
        if inner.empty:
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
    errors = {name: error for name, error in errors.items() if np.isfinite(error)}
    if not errors:
        return None, {}, how
    chosen = min(errors, key=lambda name: (errors[name], name != "bgnbd"))
    return chosen, errors, how


def chain_root_positions(contract_ids: pd.Series, renewal_of: pd.Series) -> np.ndarray:
    """For each contract, the row of the first contract of its renewal chain: follow
    `renewal_of` while it names a contract of `contract_ids`. Vectorised by pointer doubling
    (each pass replaces a contract's pointer by its pointer's pointer, so a chain of length L
    is walked in log2(L) passes over all contracts at once). A contract whose walk never
    reaches a chain start (a renewal_of cycle in bad data) is a chain of its own."""
    ids = contract_ids.to_numpy(dtype=object)
    size = len(ids)
    # The last row of a repeated id is the one its renewals point to (a dict's rule).
    position = pd.Series(np.arange(size), index=pd.Index(ids, dtype=object))
    position = position[~position.index.duplicated(keep="last")]
    pointer = position.reindex(renewal_of.to_numpy(dtype=object)).to_numpy(dtype=float)
    own = position.reindex(ids).to_numpy(dtype=np.int64)
    pointer = np.where(np.isnan(pointer), own, pointer).astype(np.int64)[own]
    for _ in range(max(1, int(np.ceil(np.log2(max(size, 2)))) + 1)):
        pointer = pointer[pointer]
    in_cycle = pointer[pointer] != pointer
    if in_cycle.any():
        pointer = np.where(in_cycle, own, pointer)
    return pointer


def chain_roots(contract_ids: pd.Series, renewal_of: pd.Series) -> np.ndarray:
    """The first contract of each contract's renewal chain (`chain_root_positions`)."""
    return contract_ids.to_numpy(dtype=object)[chain_root_positions(contract_ids, renewal_of)]


def contract_histories(contracts: pd.DataFrame, as_of: str) -> pd.DataFrame:
    """One row per renewal chain: product line (cohort), renewals made, churned or still
    under contract at as_of, and its open contract's annualised value.

    A chain ends in churn when its last contract ended before as_of with no renewal
    recorded; a chain whose last contract is still running (or marked renewed with the
    successor not yet loaded) is censored.
    """
    as_of_ts = pd.Timestamp(as_of)
    known = contracts[pd.to_datetime(contracts["start_on"]) <= as_of_ts].copy()
    if known.empty:
        return pd.DataFrame(
            columns=["chain_id", "customer_id", "product_line", "renewals", "churned"]
        )
    # Chains keyed by the rank of their first contract's id: integers group and sort several
    # times faster than the ids, in the same order.
    ranks, ids = pd.factorize(known["contract_id"], sort=True)
    roots = chain_root_positions(known["contract_id"], known["renewal_of"])
    known["chain_key"] = ranks[roots]
    known["start_on"] = pd.to_datetime(known["start_on"])
    known["end_on"] = pd.to_datetime(known["end_on"])
    known = known.sort_values(["chain_key", "start_on"])
    chains = known.groupby("chain_key")
    last = chains.tail(1).set_index("chain_key")
    first = chains.head(1).set_index("chain_key")
    size = chains.size()
    term_years = ((last["end_on"] - last["start_on"]).dt.days + 1) / DAYS_PER_YEAR
    open_now = last["end_on"].isna() | (last["end_on"] >= as_of_ts)
    renewed_pending = last["status"].fillna("").eq("renewed")
    return pd.DataFrame(
        {
            "chain_id": ids.take(last.index.to_numpy()),
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


def chain_margin_rates(
    histories: pd.DataFrame, margins: dict[str, float], default_margin: float
) -> np.ndarray:
    """Gross margin rate of each renewal chain: its product line's rate in the margin seed,
    `default_margin` for a line the seed does not list."""
    lines = histories["product_line"].astype(str)
    rates = lines.map({str(line): float(rate) for line, rate in margins.items()})
    return rates.fillna(float(default_margin)).to_numpy(float)


def _chains_by_fit(
    chains: pd.DataFrame, fits: dict[str, FitResult]
) -> list[tuple[FitResult, np.ndarray]]:
    """The sBG fit that values each chain (its product line's, else the pooled fit "all"),
    as (fit, positions of its chains): one vectorised call per fit, none per chain."""
    keys = chains["product_line"].astype(str)
    keys = keys.where(keys.isin(list(fits)), "all").to_numpy(dtype=object)
    return [(fits[key], np.flatnonzero(keys == key)) for key in pd.unique(keys)]


def _chain_survival(
    open_chains: pd.DataFrame, fits: dict[str, FitResult], years: int
) -> np.ndarray:
    """(chains, years): the probability that chain i is still paying in contract year j
    (j = 0: the next renewal), S(n + j) / S(n - 1) with n - 1 = renewals made + 1, the
    convention of `sbg.discounted_expected_residual_lifetime` as called by `contract_clv`."""
    survival = np.ones((len(open_chains), years))
    renewals = open_chains["renewals"].to_numpy(dtype=np.int64)
    for fit, rows in _chains_by_fit(open_chains, fits):
        alpha, beta = (fit.params[k] for k in ("alpha", "beta"))
        t = (renewals[rows] + 2)[:, None] + np.arange(years)[None, :]
        survival[rows] = np.cumprod((beta + t - 1) / (alpha + beta + t - 1), axis=1)
    return survival


def contract_clv(
    histories: pd.DataFrame,
    fits: dict[str, FitResult],
    annual_discount_rate: float,
    horizon_months: float | None = None,
    margins: dict[str, float] | None = None,
    default_margin: float = 1.0,
) -> pd.DataFrame:
    """Per customer: open contracts' annual value x DERL(d | renewals made), summed, over
    `horizon_months` (None: no cap), on revenue and on gross margin."""
    columns = [
        "customer_id",
        "contract_clv_cny",
        "contract_clv_margin_cny",
        "open_contracts",
        "contract_annual_value_cny",
    ]
    open_chains = histories[histories["is_open"]] if not histories.empty else histories
    if open_chains.empty or "all" not in fits:
        return pd.DataFrame(columns=columns)
    horizon = None if horizon_months is None else horizon_months / 12
    derl = np.empty(len(open_chains))
    renewals = open_chains["renewals"].to_numpy(dtype=float)
    for fit, rows in _chains_by_fit(open_chains, fits):
        derl[rows] = sbg.discounted_expected_residual_lifetime(
            fit, annual_discount_rate, renewals[rows] + 1, horizon
        )
    rates = chain_margin_rates(open_chains, margins or {}, default_margin)
    value = open_chains.assign(
        contract_clv_cny=open_chains["annual_value_cny"] * derl,
        contract_clv_margin_cny=open_chains["annual_value_cny"] * derl * rates,
    )
    return (
        value.groupby("customer_id")
        .agg(
            contract_clv_cny=("contract_clv_cny", "sum"),
            contract_clv_margin_cny=("contract_clv_margin_cny", "sum"),
            open_contracts=("chain_id", "size"),
            contract_annual_value_cny=("annual_value_cny", "sum"),
        )
        .reset_index()
    )


CASH_FLOW_COLUMNS = [
    "part",
    "period_index",
    "year_index",
    "period_from_years",
    "period_to_years",
    "discounted_at_years",
    "revenue_cny",
    "margin_cny",
]


def contract_cash_flows(
    histories: pd.DataFrame,
    fits: dict[str, FitResult],
    years: int,
    margins: dict[str, float],
    default_margin: float,
) -> pd.DataFrame:
    """Expected contract revenue and margin of today's open chains in each contract year
    j = 0 .. years-1 (paid at its start, as in DERL), summed over chains."""
    open_chains = histories[histories["is_open"]] if not histories.empty else histories
    if open_chains.empty or "all" not in fits or years < 1:
        return pd.DataFrame(columns=CASH_FLOW_COLUMNS)
    survival = _chain_survival(open_chains, fits, years)
    annual = open_chains["annual_value_cny"].to_numpy(float)
    rates = chain_margin_rates(open_chains, margins, default_margin)
    j = np.arange(years)
    return pd.DataFrame(
        {
            "part": "contract",
            "period_index": j,
            "year_index": j,
            "period_from_years": j.astype(float),
            "period_to_years": j + 1.0,
            "discounted_at_years": j.astype(float),
            "revenue_cny": annual @ survival,
            "margin_cny": (annual * rates) @ survival,
        }
    )


def transactional_cash_flows(
    fit: FitResult,
    summary: pd.DataFrame,
    expected_spend: np.ndarray,
    margin_rate: np.ndarray,
    months: int,
    block: int = 20_000,
) -> pd.DataFrame:
    """Expected purchase revenue and margin of today's customers in each month k = 1 ..
    months (discounted at its end, as the CLV), summed over customers in blocks."""
    x, t_x, T = _arrays(summary)  # noqa: N806
    revenue, margin = np.zeros(months), np.zeros(months)
    for part, per_month in expected_purchases_in_blocks(
        fit, x, t_x, T, horizon_periods=months, period="months", block=block
    ):
        revenue += expected_spend[part] @ per_month
        margin += (expected_spend[part] * margin_rate[part]) @ per_month
    k = np.arange(1, months + 1)
    return pd.DataFrame(
        {
            "part": "transactional",
            "period_index": k,
            "year_index": (k - 1) // 12,
            "period_from_years": (k - 1) / 12,
            "period_to_years": k / 12,
            "discounted_at_years": k / 12,
            "revenue_cny": revenue,
            "margin_cny": margin,
        }
    )


# The cash flows the sensitivity grid needs reach this far (months), whatever the horizon.
CASH_FLOW_MONTHS = 120


def _customer_margin_rates(
    summary: pd.DataFrame, default_margin: float
) -> tuple[np.ndarray, str | None]:
    """Each customer's gross margin rate from customer_clv_inputs; a customer without one
    (purchases worth nothing, or lines missing from the seed) gets the revenue-weighted
    rate of the others, or `default_margin` when nobody has one."""
    if "margin_rate" not in summary:
        return np.full(len(summary), default_margin), "no margin_rate column: default margin"
    rate = summary["margin_rate"].to_numpy(float)
    spend = summary["calibration_spend_cny"].fillna(0).to_numpy(float)
    known = np.isfinite(rate) & (spend > 0)
    if known.any():
        population = float(np.sum(rate[known] * spend[known]) / np.sum(spend[known]))
        note = None
    else:
        population = default_margin
        note = f"no purchase has a margin in product_line_margins: margin rate {default_margin}"
    return np.where(np.isfinite(rate), rate, population), note


def _empirical_mean_spend(summary: pd.DataFrame) -> float:
    """Mean value of a purchase with a positive value: repeat purchases when there are any
    (what Gamma-Gamma models), otherwise every purchase."""
    x = summary["frequency_x"].to_numpy(float)
    zbar = summary["mean_repeat_spend_cny"].fillna(0).to_numpy(float)
    positive = (x > 0) & (zbar > 0)
    if positive.any():
        return float(np.sum(x[positive] * zbar[positive]) / np.sum(x[positive]))
    total = summary["calibration_spend_cny"].fillna(0).to_numpy(float)
    buyers = total > 0
    if buyers.any():
        return float(np.sum(total[buyers]) / np.sum(x[buyers] + 1))
    return 0.0


def in_key_order(
    summary: pd.DataFrame,
    transactions: pd.DataFrame,
    contracts: pd.DataFrame,
    customers: pd.DataFrame,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The inputs of `compute` sorted by their keys (stable sorts, fresh indexes), so that two
    builds that read the same rows in another order give the same numbers to the last bit."""

    def by(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
        present = [key for key in keys if key in frame]
        if not present:
            return frame.reset_index(drop=True)
        return frame.sort_values(present, kind="stable", ignore_index=True)

    return (
        by(summary, ["customer_id"]),
        by(transactions, ["customer_id", "ordered_on", "amount"]),
        by(contracts, ["contract_id"]),
        by(customers, ["customer_id"]),
    )


def compute(
    summary: pd.DataFrame,
    transactions: pd.DataFrame,
    contracts: pd.DataFrame,
    customers: pd.DataFrame,
    as_of: str,
    annual_churn_rate: float | None,
    settings: ClvSettings | None = None,
    margins: dict[str, float] | None = None,
    validation: pd.DataFrame | None = None,
    fitted: ClvFits | None = None,
) -> ClvResult:
    """Fit every model (or take them from `fitted`, the `model_fits` of an earlier result:
    scoring only) and value every customer in `customers` (customer_id,
    acquisition_cost_cny, revenue_12m_cny[, is_live]), on revenue and on gross margin
    (`margins`: product line -> gross margin rate, the seed product_line_margins).
    `transactions` (the invoices that bill no contract) or, already summarised in the
    warehouse, `validation` serve the internal split (`choose_purchase_model`).

    Never returns NaN or infinite CLV and never stops on the data: a model that cannot be
    estimated is replaced by its documented fallback, with the reason in the fits table
    (status, reason, fallback) and in the notes:
    - purchases: the purchase model with the better holdout fit; if it has no finite
      covariance, the other one when that has one, else its point estimate without an
      interval; if neither can be fitted, no transactional value;
    - spend: Gamma-Gamma on the repeat buyers whose mean repeat spend is positive; repeat
      buyers with a zero or negative mean (zero-value invoices) get the model's population
      mean (spend_basis 'population_mean_non_positive_spend'); if Gamma-Gamma cannot be
      estimated, everyone gets the empirical mean value of a purchase ('empirical_mean'),
      point estimate without interval;
    - contracts: sBG per product line, the pooled fit for a line without enough churn.

    The inputs are put in one order first (customers by customer_id, contracts by
    contract_id, transactions by customer and date): a warehouse returns rows in no set
    order, and the fits' sums (hence the last digits of every CLV) depended on it.
    """
    settings = settings or ClvSettings()
    summary, transactions, contracts, customers = in_key_order(
        summary, transactions, contracts, customers
    )
    if validation is not None:
        validation = validation.sort_values("customer_id", kind="stable", ignore_index=True)
    margins = margins or {}
    notes: list[str] = []
    statuses: dict[str, ModelStatus] = {}
    time_unit = summary_time_unit(summary)
    reasons: dict[str, str] = {}
    if fitted is not None and fitted.purchase:
        purchase_fits, reasons = dict(fitted.purchase), dict(fitted.purchase_reasons)
    else:
        purchase_fits = fit_purchase_models(summary, time_unit, reasons) if len(summary) else {}
    made = {"purchase": dict(purchase_fits), "purchase_reasons": dict(reasons), "choice": None}
    if not len(summary):
        reasons = {
            name: "no customer has a purchase on or before as_of" for name in PURCHASE_MODELS
        }
    for name in list(purchase_fits):
        reason = unusable_reason(purchase_fits[name], summary, settings.horizon_months, time_unit)
        if reason:
            reasons[name] = reason
            del purchase_fits[name]
    for name, reason in reasons.items():
        statuses[name] = ModelStatus("not_estimated", reason, "the other purchase model")
    chosen, errors, how = (None, {}, "no purchase data")
    if purchase_fits:
        choice = fitted.choice if fitted is not None and fitted.choice else None
        made["choice"] = choice = choice or choose_purchase_model(
            summary, transactions, as_of, time_unit, settings.validation_days, validation
        )
        chosen, errors, how = choice
        chosen = chosen if chosen in purchase_fits else next(iter(purchase_fits))
        notes.append(
            f"purchase model {chosen} chosen by {how}; mean absolute holdout error "
            + ", ".join(f"{k} {v:.4f}" for k, v in sorted(errors.items()))
        )
        if not has_covariance(purchase_fits[chosen]):
            other = [n for n, f in purchase_fits.items() if n != chosen and has_covariance(f)]
            reason = (
                "no finite parameter covariance (a parameter on the edge of its range, as when "
                "customers never drop out)"
            )
            if other:
                statuses[chosen] = ModelStatus("not_used", reason, f"{other[0]} used instead")
                notes.append(f"{chosen}: {reason}; {other[0]} used instead")
                chosen = other[0]
            else:
                statuses[chosen] = ModelStatus(
                    "fitted_without_interval", reason, "point estimate without interval"
                )
                notes.append(f"{chosen}: {reason}; point estimate without interval")
        for name in purchase_fits:
            statuses.setdefault(name, ModelStatus("fitted" if name == chosen else "not_used"))
    else:
        for name in PURCHASE_MODELS:
            statuses[name] = ModelStatus(
                "not_estimated", reasons.get(name, "no purchase data"), "no transactional value"
            )
        notes.append("no purchase model could be fitted: transactional CLV is 0")

    values = customers[["customer_id"]].copy()
    x, t_x, T = _arrays(summary)  # noqa: N806
    per_customer = pd.DataFrame({"customer_id": summary["customer_id"].to_numpy()})
    margin_rate, margin_note = _customer_margin_rates(summary, settings.margin_rate)
    if margin_note:
        notes.append(margin_note)
    per_customer["margin_rate"] = margin_rate
    spend_fit = None
    cash_flows = [pd.DataFrame(columns=CASH_FLOW_COLUMNS)]
    if chosen:
        fit = purchase_fits[chosen]
        module = PURCHASE_MODELS[chosen]
        horizon = settings.horizon_months * (DAYS_PER_YEAR / 12) / time_unit_days(time_unit)
        per_customer["p_alive"] = module.probability_alive(fit, x, t_x, T)
        per_customer["expected_purchases"] = module.conditional_expected_purchases(
            fit, horizon, x, t_x, T
        )
        zbar = summary["mean_repeat_spend_cny"].fillna(0).to_numpy(float)
        positive = (x > 0) & (zbar > 0)
        spend_x = np.where(positive, x, 0.0)
        basis = np.where(
            positive,
            "own_history",
            np.where(x > 0, "population_mean_non_positive_spend", "population_mean"),
        )
        if np.any((x > 0) & ~positive):
            notes.append(
                f"{int(np.count_nonzero((x > 0) & ~positive))} repeat buyers have a mean repeat "
                "spend <= 0 (zero-value invoices): Gamma-Gamma is fitted without them and they "
                "get its population mean spend"
            )
        try:
            if fitted is not None and (fitted.spend or fitted.spend_reason):
                spend_fit = fitted.spend_fit()
            else:
                spend_fit = gammagamma.fit(x[positive], zbar[positive])
            made["spend"] = spend_fit
            if not spend_fit.params["q"] > 1:
                raise ValueError(
                    f"q = {spend_fit.params['q']:.3g} <= 1: the population mean spend is infinite"
                )
        except ValueError as exc:
            made["spend"], made["spend_reason"] = None, str(exc)
            spend_fit = None
            empirical = _empirical_mean_spend(summary)
            statuses["gammagamma"] = ModelStatus(
                "not_estimated",
                str(exc),
                f"empirical mean value of a purchase ({empirical:.2f} CNY), point estimate "
                "without interval",
            )
            notes.append(f"Gamma-Gamma not estimated ({exc}): empirical mean spend {empirical:.2f}")
            basis = np.full(x.size, "empirical_mean")
        zbar = np.where(positive, zbar, 1.0)  # not read where spend_x = 0
        if spend_fit is not None:
            expected_spend = gammagamma.conditional_expected_spend(spend_fit, spend_x, zbar)
        else:
            expected_spend = np.full(x.size, empirical)
        per_customer["expected_spend_cny"] = expected_spend
        per_customer["spend_basis"] = basis
        discount = discount_factors(
            settings.horizon_months, "months", settings.annual_discount_rate
        )
        point = expected_spend * (
            expected_purchases_by_period(
                fit, x, t_x, T, horizon_periods=settings.horizon_months, period="months"
            )
            @ discount
        )
        lower, upper = point.copy(), point.copy()
        has_interval = np.zeros(x.size, dtype=bool)
        if spend_fit is not None and has_covariance(fit) and has_covariance(spend_fit):
            interval = clv_interval(
                fit,
                spend_fit,
                x,
                t_x,
                T,
                zbar,
                level=settings.interval_level,
                draws=settings.draws,
                seed=settings.seed,
                horizon_periods=settings.horizon_months,
                period="months",
                annual_discount_rate=settings.annual_discount_rate,
                spend_frequency=spend_x,
            )
            point, lower, upper = interval.clv, interval.lower, interval.upper
            has_interval = interval.has_interval
            if not has_interval.all():
                notes.append(
                    f"{int(np.count_nonzero(~has_interval))} customers: too few finite "
                    "bootstrap draws, point estimate without interval"
                )
        elif spend_fit is not None and not has_covariance(spend_fit):
            statuses["gammagamma"] = ModelStatus(
                "fitted_without_interval",
                "no finite parameter covariance",
                "point estimate without interval",
            )
        per_customer["transactional_clv_cny"] = point
        per_customer["transactional_clv_lower_cny"] = lower
        per_customer["transactional_clv_upper_cny"] = upper
        per_customer["has_interval"] = has_interval
        per_customer["transactional_clv_margin_cny"] = point * margin_rate
        per_customer["transactional_clv_margin_lower_cny"] = lower * margin_rate
        per_customer["transactional_clv_margin_upper_cny"] = upper * margin_rate
        cash_flows.append(
            transactional_cash_flows(
                fit,
                summary,
                expected_spend,
                margin_rate,
                max(CASH_FLOW_MONTHS, settings.horizon_months),
            )
        )
    values = values.merge(per_customer, on="customer_id", how="left")

    histories = contract_histories(contracts, as_of)
    if fitted is not None and fitted.contracts:
        contract_fits = dict(fitted.contracts)
    else:
        contract_fits = fit_contract_cohorts(histories)
    if not contract_fits and not histories.empty:
        statuses["sbg:all"] = ModelStatus(
            "not_estimated",
            "no churned or no renewed contract: the renewal probability is not identified",
            "no contract value",
        )
        notes.append("sBG not identified (no churned or no renewed contract): contract CLV is 0")
    values = values.merge(
        contract_clv(
            histories,
            contract_fits,
            settings.annual_discount_rate,
            settings.horizon_months,
            margins,
            settings.margin_rate,
        ),
        on="customer_id",
        how="left",
    )
    years = int(np.ceil(max(CASH_FLOW_MONTHS, settings.horizon_months) / 12))
    cash_flows.append(
        contract_cash_flows(histories, contract_fits, years, margins, settings.margin_rate)
    )
    missing = sorted({str(line) for line in histories.get("product_line", [])} - set(margins))
    if missing:
        notes.append(
            f"product lines without a margin in product_line_margins ({', '.join(missing)}): "
            f"margin rate {settings.margin_rate}"
        )

    for column in (
        "transactional_clv_cny",
        "transactional_clv_lower_cny",
        "transactional_clv_upper_cny",
        "transactional_clv_margin_cny",
        "transactional_clv_margin_lower_cny",
        "transactional_clv_margin_upper_cny",
        "contract_clv_cny",
        "contract_clv_margin_cny",
        "contract_annual_value_cny",
    ):
        if column not in values:
            values[column] = 0.0
        values[column] = values[column].astype(float).fillna(0.0)
    values["open_contracts"] = values.get("open_contracts", 0)
    values["open_contracts"] = values["open_contracts"].astype(float).fillna(0).astype(int)
    for column in ("p_alive", "expected_purchases", "expected_spend_cny", "margin_rate"):
        if column not in values:
            values[column] = np.nan
        values[column] = values[column].astype(float)
    values["spend_basis"] = (
        values["spend_basis"].fillna("no_purchase") if "spend_basis" in values else "no_purchase"
    )
    values["has_interval"] = (
        values["has_interval"].astype("boolean").fillna(False).astype(bool)
        if "has_interval" in values
        else False
    )
    values["purchase_model"] = chosen if chosen else "none"
    values["clv_cny"] = values["transactional_clv_cny"] + values["contract_clv_cny"]
    values["clv_lower_cny"] = values["transactional_clv_lower_cny"] + values["contract_clv_cny"]
    values["clv_upper_cny"] = values["transactional_clv_upper_cny"] + values["contract_clv_cny"]
    values["clv_margin_cny"] = (
        values["transactional_clv_margin_cny"] + values["contract_clv_margin_cny"]
    )
    values["clv_margin_lower_cny"] = (
        values["transactional_clv_margin_lower_cny"] + values["contract_clv_margin_cny"]
    )
    values["clv_margin_upper_cny"] = (
        values["transactional_clv_margin_upper_cny"] + values["contract_clv_margin_cny"]
    )

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
    if "is_live" in info:
        values["is_live"] = info["is_live"].fillna(False).astype(bool).to_numpy()
    if not np.isfinite(lifetime):
        notes.append("no churn in the trailing year: the seed formula's lifetime is undefined")
    clv_columns = [c for c in values if c.endswith("_cny") and "clv" in c and c != "seed_clv_cny"]
    if not np.isfinite(values[clv_columns].to_numpy(float)).all():
        raise ValueError("CLV has values that are not finite; check the fitted parameters")

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
        fits=fits_frame(all_fits, as_of, chosen, statuses),
        customers=values,
        validation=validation,
        chosen_model=chosen,
        notes=notes,
        cash_flows=pd.concat([f for f in cash_flows if len(f)] or cash_flows, ignore_index=True),
        model_fits=ClvFits(
            purchase=made["purchase"],
            purchase_reasons=made["purchase_reasons"],
            choice=made["choice"],
            spend=made.get("spend"),
            spend_reason=made.get("spend_reason"),
            contracts=dict(contract_fits),
        ),
    )


# The customers' values that customer_equity sums by slice.
EQUITY_SUMMED = [
    "clv_cny",
    "clv_lower_cny",
    "clv_upper_cny",
    "transactional_clv_cny",
    "contract_clv_cny",
    "clv_margin_cny",
    "clv_margin_lower_cny",
    "clv_margin_upper_cny",
    "transactional_clv_margin_cny",
    "contract_clv_margin_cny",
]


def customer_equity(values: pd.DataFrame, slices: pd.DataFrame) -> pd.DataFrame:
    """F8: CLV summed by slice (slices: customer_id, slice_type, slice_value), with bounds:
    `equity_margin_*` on gross margin (the headline), `equity_*` on revenue.

    The slices' rows find their customer's values by position (one hash of the ids, no
    merge), in the slices' order, and the customers of a slice are counted on integer
    keys: a slice row per customer and slice type (5 million rows at 1,000,000 customers)
    made pandas' merge and per-group nunique the slow part."""
    summed = EQUITY_SUMMED
    keys = ["slice_type", "slice_value"]
    ids = pd.Index(values["customer_id"])
    if ids.is_unique:
        position = ids.get_indexer(slices["customer_id"])
        rows = np.flatnonzero(position >= 0)
        position = position[rows]
        joined = slices[keys].iloc[rows].reset_index(drop=True)
        for column in summed:
            joined[column] = values[column].to_numpy()[position]
    else:  # a customer with two rows of values: the merge's product of rows
        joined = slices[["customer_id", *keys]].merge(
            values[["customer_id", *summed]], on="customer_id", how="inner"
        )
        position = pd.factorize(joined["customer_id"])[0]
        joined = joined.drop(columns="customer_id")
    grouped = joined.groupby(keys)
    # customers per slice: the distinct (slice, customer) keys, counted by slice (a row
    # whose slice type or value is missing is in no slice, as in the groupby)
    group = grouped.ngroup().to_numpy(dtype=float)
    kept = ~np.isnan(group)
    width = int(position.max(initial=0)) + 1
    pairs = np.unique(group[kept].astype(np.int64) * width + position[kept])
    customers = np.bincount(pairs // width, minlength=grouped.ngroups)
    equity = grouped.agg(
        equity_cny=("clv_cny", "sum"),
        equity_lower_cny=("clv_lower_cny", "sum"),
        equity_upper_cny=("clv_upper_cny", "sum"),
        transactional_cny=("transactional_clv_cny", "sum"),
        contract_cny=("contract_clv_cny", "sum"),
        equity_margin_cny=("clv_margin_cny", "sum"),
        equity_margin_lower_cny=("clv_margin_lower_cny", "sum"),
        equity_margin_upper_cny=("clv_margin_upper_cny", "sum"),
        transactional_margin_cny=("transactional_clv_margin_cny", "sum"),
        contract_margin_cny=("contract_clv_margin_cny", "sum"),
    ).reset_index()
    equity.insert(2, "customers", customers)
    return equity.sort_values(
        ["slice_type", "equity_margin_cny"], ascending=[True, False]
    ).reset_index(drop=True)
