"""The early-warning features: what each one is, the reason it gives, its risk direction.

The values are computed in SQL, by the contracted dbt model `features_churn`
(models/marts/features/features_churn.sql, each column defined in _features__models.yml):
point in time, a cutoff is a day, the features read only rows dated strictly before it and
the population is the spine's activity rule at the end of the day before. A feature whose
source table holds no row up to as_of (a firm that exports orders only) is NULL in every
row there and left out of the model: it would only restate the tenure or a constant, and
give reasons such as "no touch for long" that the firm's data cannot support.

Every feature names the reason it gives when it raises a customer's risk (English / Chinese)
and the direction in which it does so (`FEATURES`).
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_WINDOW_DAYS = 180
NO_CONTRACT_DAYS = 365  # days_to_contract_end of a customer with no open contract: "far off"
KEYS = ("customer_key", "cutoff")


@dataclass(frozen=True)
class Feature:
    """One model input. `risk_direction` +1: a higher value raises the risk; -1: a lower one
    does; 0: unknown (a caller's extra column). A reason is only shown for a value on the
    risky side of the training reference."""

    name: str
    risk_direction: int
    reason_en: str
    reason_zh: str
    description: str

    @property
    def reason(self) -> str:
        return f"{self.reason_en} / {self.reason_zh}"


FEATURES: tuple[Feature, ...] = (
    Feature(
        "orders_90d", -1, "few orders in the last 90 days", "近90天订单少",
        "Invoices (credit notes excluded) dated in the 90 days before the cutoff.",
    ),
    Feature(
        "orders_180d", -1, "few orders in the last 180 days", "近180天订单少",
        "Invoices in the 180 days before the cutoff.",
    ),
    Feature(
        "orders_365d", -1, "few orders in the last year", "近一年订单少",
        "Invoices in the 365 days before the cutoff.",
    ),
    Feature(
        "order_trend_180d", -1, "purchase frequency falling", "购买频率下降",
        "Invoices in the last 180 days minus those in the 180 days before them.",
    ),
    Feature(
        "days_since_last_order", 1, "long since the last order", "距上次下单时间长",
        "Days from the last invoice to the cutoff (from the acquisition when none).",
    ),
    Feature(
        "complaints_180d", 1, "complaints in the last 180 days", "近180天有投诉",
        "Complaints opened in the 180 days before the cutoff.",
    ),
    Feature(
        "complaint_trend_180d", 1, "complaints rising", "投诉增加",
        "Complaints in the last 180 days minus those in the 180 days before them.",
    ),
    Feature(
        "satisfaction_latest_pct", -1, "low satisfaction", "满意度低",
        "Mean score (% of the scale maximum) of the latest satisfaction-survey response "
        "before the cutoff; empty without one.",
    ),
    Feature(
        "satisfaction_change_pct", -1, "satisfaction falling", "满意度下降",
        "Latest satisfaction response minus the one before it (points); empty without two.",
    ),
    Feature(
        "days_since_last_interaction", 1, "no touch for long", "长期未联系",
        "Days from the last interaction to the cutoff (from the acquisition when none).",
    ),
    Feature(
        "manager_changed_365d", 1, "account manager changed", "客户经理变更",
        "1 when a different account manager took over in the 365 days before the cutoff.",
    ),
    Feature(
        "has_open_contract", -1, "no open contract", "无有效合同",
        "1 when a contract signed before the cutoff is open on the cutoff day.",
    ),
    Feature(
        "days_to_contract_end", -1, "contract ending soon", "合同即将到期",
        f"Days from the cutoff to the nearest planned end of an open contract (at most "
        f"{NO_CONTRACT_DAYS}; {NO_CONTRACT_DAYS} without one). End dates are known at signing; "
        "for a contract terminated after the cutoff the early end was not, so its planned end "
        "is taken as start + the median term of contracts that ran their course.",
    ),
    Feature(
        "tenure_days", -1, "young relationship", "合作时间短",
        "Days from the acquisition to the cutoff.",
    ),
)  # fmt: skip
# Extra columns a caller may pass (from the CLV models), with their reasons.
EXTRA_FEATURES: tuple[Feature, ...] = (
    Feature(
        "p_alive", -1, "low P(alive)", "存活概率低",
        "Probability the customer is still alive (Pareto/NBD or BG/NBD) at the cutoff.",
    ),
    Feature(
        "expected_purchases", -1, "few expected purchases", "预期购买次数少",
        "Purchases the CLV model expects in the window after the cutoff.",
    ),
)  # fmt: skip
FEATURE_NAMES = tuple(f.name for f in FEATURES)


def feature_catalogue(names: list[str] | tuple[str, ...] | None = None) -> dict[str, Feature]:
    """The `Feature` of each name; an unknown extra column gets its own name as the reason
    and no known direction."""
    known = {f.name: f for f in FEATURES + EXTRA_FEATURES}
    names = FEATURE_NAMES if names is None else names
    return {
        name: known.get(name, Feature(name, 0, name, name, "A column the caller passed."))
        for name in names
    }
