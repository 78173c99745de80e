"""The loyalty and due-diligence report: one self-contained HTML file from the marts.

`build_report` opens the warehouse read-only, runs the named queries of `queries.py`, turns
each section's rows into blocks (KPI cards, inline SVG charts, tables, notes) and renders
`templates/report.html.j2`. The file needs nothing beyond itself: no script, no font, no
image from elsewhere (its Content-Security-Policy forbids them), so it opens offline and can
be mailed to a buyer.

Rules the sections keep:
- every figure is a mart value, formatted (`i18n.fmt_*`), never recomputed another way; the
  few summaries the report adds (a median CLV, a segment's share of customers) are plain
  statistics of per-customer mart columns, named as such;
- a period is shown only when it is complete at the as-of date;
- a missing table or column gives the section a "not available in this warehouse" note;
- customers appear by identifier only.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import duckdb
import jinja2
import numpy as np
import pandas as pd
from markupsafe import Markup

from . import more, svg
from .i18n import (
    MISSING,
    check_language,
    cny_scale,
    cny_unit_text,
    fmt_change,
    fmt_cny,
    fmt_cny_scaled,
    fmt_count,
    fmt_index,
    fmt_pct,
    fmt_rate,
    fmt_ratio,
    fmt_value,
    label,
    period_label,
    reason_label,
    text,
)
from .queries import Unavailable, run

TEMPLATES = Path(__file__).parent / "templates"
TREND_PERIODS = 12  # quarters in the trend charts and tables
KPI_PERIODS = 8  # quarters in a KPI card's sparkline
AT_RISK_ROWS = 20
RISK_THRESHOLD = 0.5  # a churn risk at or above this counts as high in the summaries
COHORT_LINES = 8  # most recent quarterly cohorts drawn
COHORT_MILESTONES = (1, 2, 4, 8)  # quarters after acquisition shown in the cohort table
DUE_DILIGENCE_COHORT_K = 4  # quarters after acquisition compared across cohorts
HISTOGRAM_BINS = 30
# Respondents below which an NPS is flagged as a small sample: dbt's var nps_small_sample_min
# (dbt_project.yml), the threshold of loyalty_satisfaction_monthly.is_nps_small_sample.
NPS_SMALL_SAMPLE = 30
ZERO_BASED_UNITS = ("rate", "pct", "nps", "per_customer")  # trend axes that start at 0
# Headline indicators: (code, variant) of loyalty_indicators, quarterly, company-wide.
KPI_INDICATORS = (
    ("B1", "standard"),
    ("B2", "standard"),
    ("B3", "standard"),
    ("B7", "standard"),
    ("B4", "standard"),
    ("A2", "standard"),
    ("A3", "response_based"),
    ("E3", "standard"),
    ("E2", "standard"),
    ("D1", "standard"),
    ("D2", "standard"),
    ("F3", "standard"),
)
SEGMENT_CODE = re.compile(r"^(high|medium|mid|low)_value_(high|medium|mid|low)_loyalty$")
SEGMENT_LEVELS = ("low", "medium", "mid", "high")

Rows = pd.DataFrame | Unavailable


# --------------------------------------------------------------------------- blocks


@dataclass(frozen=True)
class Heading:
    text: str
    kind: ClassVar[str] = "heading"


@dataclass(frozen=True)
class Paragraph:
    text: str
    kind: ClassVar[str] = "paragraph"


@dataclass(frozen=True)
class Note:
    """A "not available" note (or another caveat), styled apart from the findings."""

    text: str
    kind: ClassVar[str] = "note"


@dataclass(frozen=True)
class Chart:
    svg: Markup
    kind: ClassVar[str] = "chart"


@dataclass(frozen=True)
class Table:
    columns: Sequence[str]
    rows: Sequence[Sequence[str]]
    numeric: Sequence[bool]
    kind: ClassVar[str] = "table"


@dataclass(frozen=True)
class Card:
    label: str
    value: str
    period: str
    change: str
    tone: str  # good, bad or neutral
    spark: Markup | None


@dataclass(frozen=True)
class Cards:
    cards: Sequence[Card]
    kind: ClassVar[str] = "cards"


Block = Heading | Paragraph | Note | Chart | Table | Cards


@dataclass
class Section:
    id: str
    title: str
    source: str
    blocks: list[Block] = field(default_factory=list)


# --------------------------------------------------------------------------- inputs


def _as_date(value: object) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def period_cutoff(as_of: dt.date, grain: str) -> dt.date:
    """The first day of the period holding the day after as_of: periods starting before it
    ended on or before as_of, so they are complete."""
    day = as_of + dt.timedelta(days=1)
    if grain == "year":
        return dt.date(day.year, 1, 1)
    if grain == "quarter":
        return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    return dt.date(day.year, day.month, 1)


def resolve_as_of(connection: duckdb.DuckDBPyConnection, as_of: object) -> dt.date:
    """The as_of given, else the date the marts were built for (`customer_facts.as_of_on`,
    the column every Python asset reads it from: orchestration.assets.dbt.built_as_of)."""
    if as_of is not None:
        return _as_date(as_of)
    rows = run(connection, "warehouse_as_of")
    if isinstance(rows, pd.DataFrame) and len(rows) and not pd.isna(rows.iloc[0, 0]):
        return _as_date(rows.iloc[0, 0])
    raise ValueError("no as_of: customer_facts is missing or empty and none was given")


class Indicators:
    """Company-level indicator series from loyalty_indicators, by code, variant and grain,
    with the names of loyalty_indicator_catalogue."""

    def __init__(self, rows: Rows):
        self.unavailable = rows if isinstance(rows, Unavailable) else None
        self.rows = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame()
        self._groups: dict[tuple[str, str, str], pd.DataFrame] = {}
        if len(self.rows):
            self.rows["period_start_on"] = pd.to_datetime(self.rows["period_start_on"]).dt.date
            for key, group in self.rows.groupby(
                ["indicator_code", "indicator_variant", "period_grain"]
            ):
                self._groups[key] = group.sort_values("period_start_on").reset_index(drop=True)

    def series(self, code: str, variant: str, grain: str = "quarter") -> pd.DataFrame:
        """Rows of one indicator variant, oldest first; only periods with a value."""
        group = self._groups.get((code, variant, grain))
        if group is None:
            return pd.DataFrame(columns=self.rows.columns)
        return group[group["value"].notna()].reset_index(drop=True)

    def variants(self, code: str, grain: str, prefix: str = "") -> list[str]:
        return sorted(
            variant
            for (c, variant, g) in self._groups
            if c == code and g == grain and variant.startswith(prefix)
        )

    def latest(self, code: str, variant: str, grain: str = "quarter") -> pd.Series | None:
        rows = self.series(code, variant, grain)
        return rows.iloc[-1] if len(rows) else None

    def name(self, code: str, language: str) -> str:
        rows = self.rows[self.rows["indicator_code"] == code] if len(self.rows) else self.rows
        if not len(rows):
            return code
        name = rows.iloc[0]["indicator_name_zh" if language == "zh" else "indicator_name_en"]
        return code if pd.isna(name) else str(name)  # a code the catalogue does not name


@dataclass
class Inputs:
    """Everything the sections read, loaded once."""

    language: str
    as_of: dt.date
    results: dict[str, Rows]
    indicators: Indicators
    directions: dict[str, str]
    indicator_codes: set[str]

    def t(self, key: str, **values: object) -> str:
        return text(key, self.language, **values)

    def period(self, start: object, grain: str = "quarter") -> str:
        return period_label(start, grain, self.language)

    def no_indicator(self, *codes: str) -> Note:
        """Why indicators have no rows: the mart lacks them altogether (not built in this
        warehouse), or it has them only for periods after the as-of date."""
        table = f"loyalty_indicators ({', '.join(codes)})"
        if not any(code in self.indicator_codes for code in codes):
            return Note(self.t("not_available", table=table))
        return Note(self.t("no_rows", table=table))


def load(connection: duckdb.DuckDBPyConnection, language: str, as_of: object) -> Inputs:
    """Run every named query once for the as-of date."""
    language = check_language(language)
    as_of_date = resolve_as_of(connection, as_of)
    parameters = {
        "quarter_cutoff": period_cutoff(as_of_date, "quarter"),
        "year_cutoff": period_cutoff(as_of_date, "year"),
        "limit": AT_RISK_ROWS,
        "risk_threshold": RISK_THRESHOLD,
        "as_of": as_of_date,
    }
    names = (
        "indicators",
        "indicator_codes",
        "nps_by_industry",
        "catalogue",
        "retention",
        "cohorts",
        "concentration",
        "lorenz",
        "clv",
        "equity",
        "equity_bridge",
        "clv_model_fits",
        "segments",
        "at_risk",
        "at_risk_lost",
        "at_risk_summary",
        "revenue_retention",
        "complaints_trailing",
        "churn_reasons_trailing",
        "management",
        "customer_indices",
        "index_weights",
        "benchmarks",
        "extra_revenue",
        "referral_activity",
    )
    results = {name: run(connection, name, **parameters) for name in names}
    catalogue = results["catalogue"]
    directions = (
        dict(zip(catalogue["indicator_code"], catalogue["direction"], strict=True))
        if isinstance(catalogue, pd.DataFrame)
        else {}
    )
    codes = results["indicator_codes"]
    present = set(codes["indicator_code"]) if isinstance(codes, pd.DataFrame) else set()
    return Inputs(
        language, as_of_date, results, Indicators(results["indicators"]), directions, present
    )


# --------------------------------------------------------------------------- helpers


def _unavailable_note(missing: Unavailable, language: str) -> Note:
    message = text("not_available", language, table=", ".join(missing.tables))
    if missing.detail:
        message += " " + text("not_available_detail", language, detail=missing.detail)
    return Note(message)


def _formatter(unit: str, language: str) -> Callable[[float], str]:
    return lambda value: fmt_value(value, unit, language)


def _exact(value: float) -> str:
    """A tick value written exactly (52.5 stays 52.5, never 52): up to four decimals, no
    trailing zeros, thousands separated."""
    text = f"{value:,.4f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _axis_formatter(unit: str) -> Callable[[float], str]:
    """Tick labels: short, language-neutral, and exact (ticks are steps of 1, 2, 2.5 or 5,
    so a rounded label would name a value that is not where the tick is)."""
    if unit == "rate":
        return lambda value: f"{_exact(round(value * 100, 10))}%"
    if unit == "pct":
        return lambda value: f"{_exact(value)}%"
    return _exact


def _money(values: object, language: str) -> tuple[Callable[[object], str], str]:
    """A formatter for every amount of one table, in the unit its largest amount calls for
    (`i18n.cny_scale`), and that unit for the column headings: one unit per table."""
    scale = cny_scale(list(values), language)  # type: ignore[call-overload]
    return (
        lambda value: fmt_cny_scaled(value, scale, language),
        cny_unit_text(scale, language),
    )


def _tone(code: str, change: float | None, directions: dict[str, str]) -> str:
    direction = directions.get(code, "neutral")
    if change is None or not math.isfinite(change) or change == 0 or direction == "neutral":
        return "neutral"
    better = change > 0 if direction == "higher_is_better" else change < 0
    return "good" if better else "bad"


def _number(value: object) -> float | None:
    if value is None or pd.isna(value):
        return None
    return float(value)


def _rows_or_note(rows: Rows, inputs: Inputs, table: str) -> tuple[pd.DataFrame | None, Block]:
    """The rows, or None with the note that says why there are none."""
    if isinstance(rows, Unavailable):
        return None, _unavailable_note(rows, inputs.language)
    if not len(rows):
        return None, Note(inputs.t("no_rows", table=table))
    return rows, Note("")


def _spark(values: Sequence[float | None], title: str) -> Markup | None:
    finite = [v for v in values if v is not None and math.isfinite(v)]
    return Markup(svg.sparkline(values, title=title)) if len(finite) >= 2 else None


# --------------------------------------------------------------------------- sections


def kpi_section(inputs: Inputs) -> Section:
    section = Section("kpis", inputs.t("sec_kpis"), "loyalty_indicators, loyalty_retention")
    indicators = inputs.indicators
    if indicators.unavailable:
        section.blocks.append(_unavailable_note(indicators.unavailable, inputs.language))
    cards: list[Card] = []
    retention = inputs.results["retention"]
    if isinstance(retention, pd.DataFrame) and len(retention):
        tail = retention.tail(KPI_PERIODS)
        latest, values = tail.iloc[-1], [_number(v) for v in tail["customers_at_end"]]
        previous = tail.iloc[-2] if len(tail) > 1 else None
        change = (
            _number(latest["customers_at_end"]) - _number(previous["customers_at_end"])
            if previous is not None
            else None
        )
        cards.append(
            Card(
                label=inputs.t("kpi_active"),
                value=fmt_count(latest["customers_at_end"], inputs.language),
                period=inputs.period(latest["period_start_on"]),
                change=_change_text(change, "count", previous, inputs),
                tone="neutral",
                spark=_spark(values, inputs.t("kpi_active")),
            )
        )
    missing_codes = []
    for code, variant in KPI_INDICATORS:
        rows = indicators.series(code, variant).tail(KPI_PERIODS)
        if not len(rows):
            missing_codes.append(code if variant == "standard" else f"{code} {variant}")
            continue
        latest = rows.iloc[-1]
        previous = rows.iloc[-2] if len(rows) > 1 else None
        change = float(latest["value"]) - float(previous["value"]) if previous is not None else None
        name = indicators.name(code, inputs.language)
        if variant != "standard":
            name = f"{name} · {label(variant, inputs.language)}"
        cards.append(
            Card(
                label=f"{code} {name}",
                value=fmt_value(latest["value"], latest["unit"], inputs.language),
                period=inputs.period(latest["period_start_on"]),
                change=_change_text(change, str(latest["unit"]), previous, inputs),
                tone=_tone(code, change, inputs.directions),
                spark=_spark([_number(v) for v in rows["value"]], name),
            )
        )
    concentration = inputs.results["concentration"]
    if isinstance(concentration, pd.DataFrame) and len(concentration):
        row = concentration.iloc[0]
        cards.append(
            Card(
                label="F11 " + inputs.t("kpi_top_share", n=int(row["top_n"])),
                value=fmt_rate(row["top_n_share_rate"], inputs.language),
                period=inputs.period(inputs.as_of, "day"),
                change="",
                tone="neutral",
                spark=None,
            )
        )
    equity = _equity_total(inputs)
    if equity is not None:
        cards.append(
            Card(
                label="F8 " + inputs.t("kpi_equity"),
                value=fmt_cny(equity["equity_cny"], inputs.language),
                period=inputs.period(inputs.as_of, "day"),
                change=f"{fmt_cny(equity['equity_lower_cny'], inputs.language)} – "
                f"{fmt_cny(equity['equity_upper_cny'], inputs.language)}",
                tone="neutral",
                spark=None,
            )
        )
    if isinstance(retention, pd.DataFrame) and len(retention):
        section.blocks.append(
            Paragraph(
                inputs.t(
                    "base_kpis",
                    n=fmt_count(retention.iloc[-1]["customers_at_end"], inputs.language),
                    period=inputs.period(retention.iloc[-1]["period_start_on"]),
                )
            )
        )
    section.blocks.append(Cards(cards))
    if missing_codes and not indicators.unavailable:
        section.blocks.append(Note(inputs.t("kpi_missing", codes=", ".join(missing_codes))))
    return section


def _change_text(change: float | None, unit: str, previous: object, inputs: Inputs) -> str:
    if change is None or previous is None:
        return ""
    since = inputs.t("kpi_vs", period=inputs.period(previous["period_start_on"]))
    return f"{fmt_change(change, unit, inputs.language)} {since}"


def satisfaction_section(inputs: Inputs) -> Section:
    section = Section("satisfaction", inputs.t("sec_satisfaction"), "loyalty_indicators (A1, A3)")
    indicators = inputs.indicators
    if indicators.unavailable:
        section.blocks.append(_unavailable_note(indicators.unavailable, inputs.language))
        return section
    latest_rows = []
    for variant in indicators.variants("A1", "quarter"):
        rows = indicators.series("A1", variant)
        if len(rows):
            latest_rows.append((variant, rows))
    if not latest_rows:
        section.blocks.append(inputs.no_indicator("A1"))
        return section
    last_period = max(rows.iloc[-1]["period_start_on"] for _, rows in latest_rows)
    current = [
        (variant, rows)
        for variant, rows in latest_rows
        if rows.iloc[-1]["period_start_on"] == last_period
    ]
    current.sort(key=lambda item: -float(item[1].iloc[-1]["value"]))
    language = inputs.language
    title = f"{indicators.name('A1', language)}, {inputs.period(last_period)}"
    section.blocks.append(
        Chart(
            Markup(
                svg.hbar_chart(
                    [
                        _sample_label(label(v, language), rows.iloc[-1]["n"], inputs)
                        for v, rows in current
                    ],
                    [float(rows.iloc[-1]["value"]) for _, rows in current],
                    title=title,
                    x_format=_formatter("pct", language),
                    tick_format=_axis_formatter("pct"),
                    x_title=inputs.t("score_pct"),
                    x_range=(0, 100),
                )
            )
        )
    )
    if any((_number(rows.iloc[-1]["n"]) or 0) < NPS_SMALL_SAMPLE for _, rows in current):
        section.blocks.append(Note(inputs.t("nps_small_sample", n=NPS_SMALL_SAMPLE)))
    table_rows = []
    for variant, rows in current:
        latest = rows.iloc[-1]
        previous = rows.iloc[-2] if len(rows) > 1 else None
        change = float(latest["value"]) - float(previous["value"]) if previous is not None else None
        table_rows.append(
            [
                label(variant, language),
                fmt_pct(latest["value"], language),
                fmt_pct(previous["value"], language) if previous is not None else MISSING,
                fmt_change(change, "pct", language),
                fmt_count(latest["n"], language),
            ]
        )
    section.blocks.append(
        Table(
            [
                inputs.t("dimension"),
                inputs.period(last_period),
                inputs.t("previous"),
                inputs.t("change"),
                inputs.t("respondents"),
            ],
            table_rows,
            (False, True, True, True, True),
        )
    )
    rate_rows = []
    for variant in indicators.variants("A3", "quarter"):
        latest = indicators.latest("A3", variant)
        if latest is not None:
            rate_rows.append(
                [
                    label(variant, language),
                    inputs.period(latest["period_start_on"]),
                    fmt_value(latest["value"], latest["unit"], language),
                    fmt_count(latest["n"], language),
                ]
            )
    if rate_rows:
        section.blocks.append(Heading(f"A3 {inputs.t('sub_survey_rates')}"))
        section.blocks.append(
            Table(
                [
                    indicators.name("A3", language),
                    inputs.t("period"),
                    inputs.t("value"),
                    inputs.t("respondents"),
                ],
                rate_rows,
                (False, False, True, True),
            )
        )
    return section


def _trend_chart(
    inputs: Inputs, lines: Sequence[tuple[str, str, str]], title: str, unit: str
) -> Chart | None:
    """A line chart of indicator variants (code, variant, legend) over the last quarters."""
    frames = [(name, inputs.indicators.series(code, variant)) for code, variant, name in lines]
    periods = sorted({p for _, rows in frames for p in rows["period_start_on"]})[-TREND_PERIODS:]
    if not periods:
        return None
    series = []
    for name, rows in frames:
        by_period = dict(zip(rows["period_start_on"], rows["value"], strict=True))
        series.append(svg.Series(name, [_number(by_period.get(p)) for p in periods]))
    # Rates, percentages and NPS on an axis that includes 0, so a small change is not drawn
    # as a steep one on a zoomed axis.
    values = [v for line in series for v in line.values if v is not None and math.isfinite(v)]
    low = min([0.0, *values]) if unit in ZERO_BASED_UNITS else None
    return Chart(
        Markup(
            svg.line_chart(
                series,
                [inputs.period(p) for p in periods],
                title=title,
                y_format=_axis_formatter(unit),
                x_title=inputs.t("period"),
                y_range=(low, None),
            )
        )
    )


def retention_section(inputs: Inputs) -> Section:
    language = inputs.language
    section = Section(
        "retention",
        inputs.t("sec_retention"),
        "loyalty_retention; loyalty_indicators (B1, B2, B5, B6)",
    )
    if inputs.indicators.unavailable:
        section.blocks.append(_unavailable_note(inputs.indicators.unavailable, language))
    else:
        chart = _trend_chart(
            inputs,
            [
                ("B1", "standard", inputs.t("retention_rate")),
                ("B1", "seed_002", inputs.t("retention_seed_002")),
                ("B2", "standard", inputs.t("churn_rate")),
            ],
            inputs.indicators.name("B1", language) + " / " + inputs.indicators.name("B2", language),
            "rate",
        )
        if chart:
            section.blocks.append(chart)
    retention, note = _rows_or_note(inputs.results["retention"], inputs, "loyalty_retention")
    if retention is None:
        section.blocks.append(note)
    else:
        rows = [
            [
                inputs.period(row["period_start_on"]),
                fmt_count(row["customers_at_start"], language),
                fmt_count(row["customers_new"], language),
                fmt_count(row["customers_lost"], language),
                fmt_count(row["customers_at_end"], language),
                fmt_count(row["customers_won_back"], language),
                fmt_rate(row["retention_rate"], language),
                fmt_rate(row["retention_rate_seed_002"], language),
                fmt_rate(row["churn_rate"], language),
            ]
            for _, row in retention.tail(KPI_PERIODS).iterrows()
        ]
        section.blocks.append(
            Table(
                [
                    inputs.t("period"),
                    inputs.t("customers_at_start"),
                    inputs.t("customers_new"),
                    inputs.t("customers_lost"),
                    inputs.t("customers_at_end"),
                    inputs.t("customers_won_back"),
                    inputs.t("retention_rate"),
                    inputs.t("retention_seed_002"),
                    inputs.t("churn_rate"),
                ],
                rows,
                (False, *([True] * 8)),
            )
        )
    section.blocks.append(Heading(f"B5 {inputs.t('sub_churn_reasons')}"))
    section.blocks += churn_reason_blocks(inputs)
    return section


def churn_reasons(inputs: Inputs) -> tuple[dt.date, pd.DataFrame] | None:
    """B5 of the latest complete year with churn: per reason, customers lost, their share of
    all customers lost and their lost revenue, as the mart publishes them."""
    indicators = inputs.indicators
    variants = indicators.variants("B5", "year", "reason:")
    if not variants:
        return None
    frames = {v: indicators.series("B5", v, "year") for v in variants}
    ends = [rows.iloc[-1]["period_start_on"] for rows in frames.values() if len(rows)]
    year = max(ends, default=None)
    if year is None:
        return None

    def value_in(variant: str) -> float | None:
        rows = indicators.series("B5", variant, "year")
        rows = rows[rows["period_start_on"] == year]
        return float(rows.iloc[0]["value"]) if len(rows) else None

    table = []
    for variant in variants:
        reason = variant.split(":", 1)[1]
        count = value_in(variant)
        if count is None:
            continue
        table.append(
            {
                "reason": reason,
                "customers": count,
                "share": value_in(f"reason_share:{reason}"),
                "lost_revenue": value_in(f"lost_revenue:{reason}"),
            }
        )
    frame = pd.DataFrame(table).sort_values(["customers", "reason"], ascending=[False, True])
    return year, frame.reset_index(drop=True)


def churn_reason_blocks(inputs: Inputs) -> list[Block]:
    language = inputs.language
    if inputs.indicators.unavailable:
        return [_unavailable_note(inputs.indicators.unavailable, language)]
    found = churn_reasons(inputs)
    if found is None:
        return [inputs.no_indicator("B5")]
    year, reasons = found
    money, money_unit = _money(reasons["lost_revenue"], language)
    blocks: list[Block] = [
        Chart(
            Markup(
                svg.hbar_chart(
                    [label(r, language) for r in reasons["reason"]],
                    list(reasons["customers"]),
                    title=f"{inputs.indicators.name('B5', language)}, "
                    f"{inputs.period(year, 'year')}",
                    x_format=lambda v: f"{v:,.0f}",
                    x_title=inputs.t("customers_lost"),
                )
            )
        ),
        Table(
            [
                inputs.t("reason"),
                inputs.t("customers_lost"),
                inputs.t("share"),
                f"{inputs.t('lost_revenue')} ({money_unit})",
            ],
            [
                [
                    label(row["reason"], language),
                    fmt_count(row["customers"], language),
                    fmt_rate(row["share"], language),
                    money(row["lost_revenue"]),
                ]
                for _, row in reasons.iterrows()
            ],
            (False, True, True, True),
        ),
    ]
    cost = inputs.indicators.series("B6", "standard", "year")
    cost = cost[cost["period_start_on"] == year]
    if len(cost):
        blocks.append(
            Paragraph(
                f"{inputs.t('churn_cost', period=inputs.period(year, 'year'))}: "
                f"{fmt_cny(cost.iloc[0]['value'], language)}"
            )
        )
    return blocks


def cohort_section(inputs: Inputs) -> Section:
    language = inputs.language
    section = Section("cohorts", inputs.t("sec_cohorts"), "loyalty_cohort_retention (B8)")
    cohorts, note = _rows_or_note(inputs.results["cohorts"], inputs, "loyalty_cohort_retention")
    if cohorts is None:
        section.blocks.append(note)
        return section
    labels = list(dict.fromkeys(cohorts.sort_values("cohort_start_on")["cohort_label"]))
    drawn = [c for c in labels if (cohorts["cohort_label"] == c).sum() >= 2][-COHORT_LINES:]
    drawn_rows = cohorts[cohorts["cohort_label"].isin(drawn)]
    horizon = int(drawn_rows["periods_since_acquisition"].max()) if len(drawn_rows) else 0
    series = []
    for cohort in drawn:
        rows = cohorts[cohorts["cohort_label"] == cohort]
        by_k = dict(zip(rows["periods_since_acquisition"], rows["retention_rate"], strict=True))
        series.append(svg.Series(cohort, [_number(by_k.get(k)) for k in range(horizon + 1)]))
    if series:
        section.blocks.append(
            Chart(
                Markup(
                    svg.line_chart(
                        series,
                        [str(k) for k in range(horizon + 1)],
                        title=inputs.t("sec_cohorts"),
                        y_format=_axis_formatter("rate"),
                        x_title=inputs.t("periods_since"),
                        y_title=inputs.t("share_active"),
                        y_range=(0, 1),
                    )
                )
            )
        )
    table_rows = []
    for cohort in drawn:  # the same cohorts as the chart
        rows = cohorts[cohorts["cohort_label"] == cohort]
        by_k = dict(zip(rows["periods_since_acquisition"], rows["retention_rate"], strict=True))
        first = rows.sort_values("periods_since_acquisition").iloc[0]
        table_rows.append(
            [cohort, fmt_count(first["cohort_size"], language)]
            + [fmt_rate(by_k.get(k), language) for k in COHORT_MILESTONES]
        )
    section.blocks.append(
        Table(
            [inputs.t("cohort"), inputs.t("cohort_size")]
            + [inputs.t("after_k", k=k) for k in COHORT_MILESTONES],
            table_rows,
            (False, *([True] * (1 + len(COHORT_MILESTONES)))),
        )
    )
    return section


def nps_section(inputs: Inputs) -> Section:
    language = inputs.language
    section = Section("nps", inputs.t("sec_nps"), "loyalty_indicators (E2, E3)")
    indicators = inputs.indicators
    if indicators.unavailable:
        section.blocks.append(_unavailable_note(indicators.unavailable, language))
        return section
    nps = indicators.series("E3", "standard")
    if not len(nps):
        section.blocks.append(inputs.no_indicator("E3"))
        return section
    chart = _trend_chart(
        inputs, [("E3", "standard", inputs.t("nps"))], indicators.name("E3", language), "nps"
    )
    if chart:
        section.blocks.append(chart)
    recommendation = indicators.series("E2", "standard")
    by_period = dict(zip(recommendation["period_start_on"], recommendation["value"], strict=True))
    section.blocks.append(
        Table(
            [inputs.t("period"), inputs.t("nps"), inputs.t("recommendation_index"), "n"],
            [
                [
                    inputs.period(row["period_start_on"]),
                    fmt_value(row["value"], row["unit"], language),
                    fmt_pct(by_period.get(row["period_start_on"]), language),
                    fmt_count(row["n"], language),
                ]
                for _, row in nps.tail(KPI_PERIODS).iterrows()
            ],
            (False, True, True, True),
        )
    )
    by_industry = inputs.results["nps_by_industry"]
    if isinstance(by_industry, pd.DataFrame) and by_industry["value"].notna().any():
        by_industry = by_industry[by_industry["value"].notna()]
        year = by_industry["period_start_on"].max()
        latest = by_industry[by_industry["period_start_on"] == year].sort_values(
            ["value", "slice_value"], ascending=[False, True]
        )
        section.blocks.append(
            Chart(
                Markup(
                    svg.hbar_chart(
                        [
                            _sample_label(label(s, language), n, inputs)
                            for s, n in zip(latest["slice_value"], latest["n"], strict=True)
                        ],
                        list(latest["value"]),
                        title=f"{inputs.t('sub_nps_by_industry')}, {inputs.period(year, 'year')}",
                        x_format=_formatter("nps", language),
                        tick_format=_axis_formatter("nps"),
                    )
                )
            )
        )
        section.blocks.append(Note(inputs.t("nps_small_sample", n=NPS_SMALL_SAMPLE)))
    return section


def _sample_label(name: str, n: object, inputs: Inputs) -> str:
    """A survey figure's label with its sample size, flagged (*) below NPS_SMALL_SAMPLE."""
    count = _number(n)
    if count is None:
        return name
    flag = " *" if count < NPS_SMALL_SAMPLE else ""
    return f"{name} (n = {fmt_count(count, inputs.language)}){flag}"


def complaints_section(inputs: Inputs) -> Section:
    language = inputs.language
    section = Section("complaints", inputs.t("sec_complaints"), "loyalty_indicators (D1–D5)")
    indicators = inputs.indicators
    if indicators.unavailable:
        section.blocks.append(_unavailable_note(indicators.unavailable, language))
        return section
    columns = [
        ("D1", "standard", "complaint_rate"),
        ("D2", "standard", "resolution_rate"),
        ("D3", "median", "handling_median"),
        ("D3", "p90", "handling_p90"),
    ]
    frames = {(c, v): indicators.series(c, v) for c, v, _ in columns}
    periods = sorted({p for rows in frames.values() for p in rows["period_start_on"]})
    if not periods:
        section.blocks.append(inputs.no_indicator("D1", "D2", "D3"))
        return section
    chart = _trend_chart(
        inputs,
        [("D2", "standard", inputs.t("resolution_rate"))],
        indicators.name("D2", language),
        "pct",
    )
    if chart:
        section.blocks.append(chart)
    lookup = {
        key: {r["period_start_on"]: r for _, r in rows.iterrows()} for key, rows in frames.items()
    }
    table_rows = []
    for period in periods[-KPI_PERIODS:]:
        cells = [inputs.period(period)]
        for code, variant, _ in columns:
            row = lookup[(code, variant)].get(period)
            cells.append(MISSING if row is None else fmt_value(row["value"], row["unit"], language))
        table_rows.append(cells)
    section.blocks.append(
        Table(
            [inputs.t("period")] + [f"{c} {inputs.t(key)}" for c, _, key in columns],
            table_rows,
            (False, True, True, True, True),
        )
    )
    categories = indicators.variants("D5", "year", "category:")
    latest = [(v.split(":", 1)[1], indicators.latest("D5", v, "year")) for v in categories]
    latest = [(c, row) for c, row in latest if row is not None]
    if latest:
        year = max(row["period_start_on"] for _, row in latest)
        current = sorted(
            ((c, float(row["value"])) for c, row in latest if row["period_start_on"] == year),
            key=lambda item: (-item[1], item[0]),
        )
        section.blocks.append(Heading(f"D5 {inputs.t('sub_complaint_categories')}"))
        section.blocks.append(
            Chart(
                Markup(
                    svg.hbar_chart(
                        [label(c, language) for c, _ in current],
                        [v for _, v in current],
                        title=f"{indicators.name('D5', language)}, {inputs.period(year, 'year')}",
                        x_format=lambda v: f"{v:,.0f}",
                        x_title=inputs.t("complaints"),
                    )
                )
            )
        )
    return section


def _equity_total(inputs: Inputs) -> pd.Series | None:
    equity = inputs.results["equity"]
    if not isinstance(equity, pd.DataFrame):
        return None
    company = equity[equity["slice_type"] == "company"]
    return company.iloc[0] if len(company) else None


def _bridge_lines(inputs: Inputs) -> dict[tuple[str, str], float] | None:
    """The equity bridge's company lines by (line, part), None when it is not published."""
    bridge = inputs.results.get("equity_bridge")
    if not isinstance(bridge, pd.DataFrame) or bridge.empty:
        return None
    company = bridge[bridge["slice_value"].isna()]
    return {(r.line, r.part): float(r.value) for r in company.itertuples(index=False)}


def _equity_bridge_blocks(inputs: Inputs) -> list[Block]:
    """The tie-out of the headline: trailing-12-month revenue and margin, the multiples, the
    parts, the retention the models imply against the observed one."""
    lines = _bridge_lines(inputs)
    if lines is None:
        return [Note(unavailable_text(inputs, "analytics.customer_equity_bridge"))]
    language = inputs.language
    bridge = inputs.results["equity_bridge"]
    horizon = int(bridge["horizon_months"].iloc[0])
    rate = float(bridge["annual_discount_rate"].iloc[0])

    def get(line: str, part: str = "total") -> float:
        return lines.get((line, part), float("nan"))

    blocks: list[Block] = [
        Paragraph(
            inputs.t(
                "equity_tie_out",
                equity=fmt_cny(get("customer_equity_margin_cny"), language),
                months=horizon,
                rate=fmt_rate(rate, language),
                margin=fmt_cny(get("t12m_margin_cny"), language),
                revenue=fmt_cny(get("t12m_revenue_cny"), language),
                x_margin=fmt_ratio(get("equity_to_t12m_margin"), language),
                x_revenue=fmt_ratio(get("equity_to_t12m_revenue"), language),
                equity_revenue=fmt_cny(get("customer_equity_revenue_cny"), language),
            )
        )
    ]
    rows = []
    parts = ("contract", "transactional", "total")
    money, money_unit = _money(
        [
            get(line, part)
            for line in ("t12m_revenue_cny", "t12m_margin_cny", "customer_equity_margin_cny")
            for part in parts
        ],
        language,
    )
    for part in parts:
        rows.append(
            [
                inputs.t(f"part_{part}"),
                money(get("t12m_revenue_cny", part)),
                money(get("t12m_margin_cny", part)),
                money(get("customer_equity_margin_cny", part)),
                fmt_ratio(get("equity_to_t12m_margin", part), language),
                fmt_rate(get("model_retention_rate", part), language)
                if part != "total"
                else fmt_rate(get("observed_revenue_retention_rate"), language),
            ]
        )
    blocks.append(
        Table(
            [
                inputs.t("part"),
                inputs.t("t12m_revenue"),
                inputs.t("t12m_margin"),
                inputs.t("equity_margin"),
                inputs.t("multiple_margin"),
                inputs.t("retention_model_observed"),
            ],
            rows,
            (False, True, True, True, True, True),
        )
    )
    blocks.append(
        Note(
            inputs.t(
                "equity_interval_note",
                lower=fmt_cny(get("customer_equity_margin_lower_cny"), language),
                upper=fmt_cny(get("customer_equity_margin_upper_cny"), language),
                observed=fmt_rate(get("observed_customer_retention_rate"), language),
            )
        )
    )
    return blocks


def unavailable_text(inputs: Inputs, table: str) -> str:
    return inputs.t("dd_unavailable", what=table)


def clv_section(inputs: Inputs) -> Section:
    language = inputs.language
    section = Section(
        "clv",
        inputs.t("sec_clv"),
        "analytics.customer_equity (F8), analytics.customer_equity_bridge, "
        "analytics.customer_clv (F7)",
    )
    total_row = _equity_total(inputs)
    if total_row is not None:
        section.blocks.append(
            Paragraph(
                inputs.t(
                    "base_equity",
                    n=fmt_count(total_row["customers"], language),
                    as_of=inputs.as_of.isoformat(),
                )
            )
        )
    section.blocks.append(Heading(f"F8 {inputs.t('sub_equity')}"))
    equity, note = _rows_or_note(inputs.results["equity"], inputs, "analytics.customer_equity")
    if equity is None:
        section.blocks.append(note)
    else:
        total = _equity_total(inputs)
        if total is not None:
            section.blocks.append(
                Paragraph(
                    inputs.t(
                        "equity_total",
                        value=fmt_cny(total["equity_cny"], language),
                        lower=fmt_cny(total["equity_lower_cny"], language),
                        upper=fmt_cny(total["equity_upper_cny"], language),
                        n=fmt_count(total["customers"], language),
                    )
                )
            )
        section.blocks.extend(_equity_bridge_blocks(inputs))
        others = equity[equity["slice_type"] != "company"]
        if len(others):
            slice_type = "industry" if (others["slice_type"] == "industry").any() else None
            slice_type = slice_type or str(others.iloc[0]["slice_type"])
            rows = others[others["slice_type"] == slice_type]
            section.blocks.append(
                Chart(
                    Markup(
                        svg.hbar_chart(
                            [label(v, language) for v in rows["slice_value"]],
                            list(rows["equity_cny"]),
                            title=f"{inputs.t('equity')} · {label(slice_type, language)}",
                            x_format=lambda v: fmt_cny(v, language),
                            intervals=list(
                                zip(rows["equity_lower_cny"], rows["equity_upper_cny"], strict=True)
                            ),
                            width=760,
                        )
                    )
                )
            )
            money, money_unit = _money(
                [*rows["equity_cny"], *rows["equity_lower_cny"], *rows["equity_upper_cny"]],
                language,
            )
            section.blocks.append(
                Table(
                    [
                        inputs.t("slice"),
                        inputs.t("customers"),
                        f"{inputs.t('equity')} ({money_unit})",
                        f"{inputs.t('interval')} ({money_unit})",
                    ],
                    [
                        [
                            label(row["slice_value"], language),
                            fmt_count(row["customers"], language),
                            money(row["equity_cny"]),
                            f"{money(row['equity_lower_cny'])} – {money(row['equity_upper_cny'])}",
                        ]
                        for _, row in rows.iterrows()
                    ],
                    (False, True, True, True),
                )
            )
    section.blocks.append(Heading(f"F7 {inputs.t('sub_clv_distribution')}"))
    clv, note = _rows_or_note(inputs.results["clv"], inputs, "analytics.customer_clv")
    if clv is None:
        section.blocks.append(note)
    else:
        values = clv["clv_cny"].astype(float).to_numpy()
        section.blocks.append(
            Paragraph(
                inputs.t(
                    "clv_summary",
                    n=fmt_count(len(values), language),
                    median=fmt_cny(float(np.median(values)), language),
                    mean=fmt_cny(float(np.mean(values)), language),
                )
            )
        )
        top = float(np.percentile(values, 99))
        low = min(0.0, float(values.min()))
        if top <= low:
            top = low + 1.0
        counts, edges = np.histogram(
            np.clip(values, low, top), bins=HISTOGRAM_BINS, range=(low, top)
        )
        section.blocks.append(
            Chart(
                Markup(
                    svg.histogram(
                        [int(c) for c in counts],
                        [float(e) for e in edges],
                        title=inputs.t("sub_clv_distribution"),
                        x_format=lambda v: fmt_cny(v, language),
                        x_title=inputs.t("clv_axis"),
                        y_title=inputs.t("customers"),
                    )
                )
            )
        )
        clipped = int((values > top).sum())
        if clipped:
            section.blocks.append(
                Note(
                    inputs.t(
                        "clv_clipped",
                        n=fmt_count(clipped, language),
                        value=fmt_cny(top, language),
                    )
                )
            )
    section.blocks.append(Note(inputs.t("clv_models_in_appendix")))
    return section


def appendix_section(inputs: Inputs) -> Section:
    """The technical appendix: the CLV models' fitted parameters, for the analyst who checks
    the valuation, kept out of the management sections."""
    language = inputs.language
    section = Section("appendix", inputs.t("sec_appendix"), "analytics.clv_model_fits")
    section.blocks.append(Heading(inputs.t("sub_clv_models")))
    fits, note = _rows_or_note(inputs.results["clv_model_fits"], inputs, "analytics.clv_model_fits")
    if fits is None:
        section.blocks.append(note)
        return section
    section.blocks.append(Paragraph(inputs.t("appendix_models")))
    fits = fits.copy()
    for column in ("model", "cohort"):  # codes in words (product lines, "all")
        if column in fits.columns:
            fits[column] = [label(v, language) for v in fits[column]]
    section.blocks.append(
        Table(
            [label(c, language) for c in fits.columns],
            [[_cell(v, language) for v in row] for row in fits.itertuples(index=False)],
            [pd.api.types.is_numeric_dtype(fits[c]) for c in fits.columns],
        )
    )
    if {"estimate", "std_error"} <= set(fits.columns):
        loose = fits[fits["std_error"].abs() > fits["estimate"].abs()]
        if len(loose):
            section.blocks.append(
                Note(
                    inputs.t(
                        "appendix_loose",
                        fits=", ".join(
                            dict.fromkeys(
                                f"{m} · {c}"
                                for m, c in zip(loose["model"], loose["cohort"], strict=True)
                            )
                        ),
                    )
                )
            )
    return section


def _cell(value: object, language: str) -> str:
    """A cell of a table shown as the mart has it (model fits): numbers to 4 significant
    digits, everything else as text."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | np.integer):
        return fmt_count(value, language)
    if isinstance(value, float | np.floating):
        return f"{float(value):,.4g}"
    return str(value)


def concentration_section(inputs: Inputs) -> Section:
    language = inputs.language
    section = Section(
        "concentration",
        inputs.t("sec_concentration"),
        "analytics.customer_concentration (F11), customer_concentration_lorenz",
    )
    concentration, note = _rows_or_note(
        inputs.results["concentration"], inputs, "analytics.customer_concentration"
    )
    if concentration is None:
        section.blocks.append(note)
    else:
        row = concentration.iloc[0]
        section.blocks.append(
            Paragraph(
                inputs.t(
                    "base_concentration",
                    n=fmt_count(row["customers_with_revenue"], language),
                    customers=fmt_count(row["customers"], language),
                )
            )
        )
        section.blocks.append(
            Table(
                [inputs.t("indicator"), inputs.t("value")],
                [
                    [
                        inputs.t("top_share", n=int(row["top_n"])),
                        fmt_rate(row["top_n_share_rate"], language),
                    ],
                    [
                        inputs.t("top_decile_share"),
                        fmt_rate(row["top_decile_share_rate"], language),
                    ],
                    [inputs.t("herfindahl"), fmt_index(row["herfindahl_index"], language)],
                    [inputs.t("gini"), fmt_index(row["gini_coefficient"], language)],
                    [
                        inputs.t("equivalent_customers"),
                        fmt_count(round(float(row["equivalent_customers"])), language),
                    ],
                    [
                        inputs.t("customers_with_revenue"),
                        fmt_count(row["customers_with_revenue"], language),
                    ],
                    [inputs.t("revenue_total"), fmt_cny(row["revenue_cny"], language)],
                ],
                (False, True),
            )
        )
    lorenz, note = _rows_or_note(inputs.results["lorenz"], inputs, "customer_concentration_lorenz")
    if lorenz is None:
        section.blocks.append(note)
    else:
        section.blocks.append(
            Chart(
                Markup(
                    svg.lorenz_curve(
                        list(lorenz["customer_share_rate"]),
                        list(lorenz["cumulative_revenue_share_rate"]),
                        title=inputs.t("lorenz_title"),
                        x_title=inputs.t("lorenz_x"),
                        y_title=inputs.t("lorenz_y"),
                        equality_label=inputs.t("equality"),
                    )
                )
            )
        )
    return section


def segment_matrix(segments: pd.DataFrame) -> tuple[list[str], list[str], dict]:
    """Loyalty levels (rows, high first), value levels (columns, low first) and the segment
    row of each (loyalty, value) cell, from codes like `high_value_low_loyalty`."""
    cells = {}
    for _, row in segments.iterrows():
        match = SEGMENT_CODE.match(str(row["segment_code"]))
        if match:
            cells[(match.group(2), match.group(1))] = row
    order = {level: index for index, level in enumerate(SEGMENT_LEVELS)}
    loyalty = sorted({key[0] for key in cells}, key=lambda level: -order[level])
    value = sorted({key[1] for key in cells}, key=lambda level: order[level])
    return loyalty, value, cells


def segments_section(inputs: Inputs) -> Section:
    language = inputs.language
    section = Section("segments", inputs.t("sec_segments"), "analytics.customer_segments (H6)")
    segments, note = _rows_or_note(
        inputs.results["segments"], inputs, "analytics.customer_segments"
    )
    if segments is None:
        section.blocks.append(note)
        return section
    total = float(segments["customers"].sum())
    section.blocks.append(
        Paragraph(
            inputs.t(
                "base_segments",
                n=fmt_count(total, language),
                as_of=inputs.as_of.isoformat(),
            )
        )
    )
    loyalty, value, cells = segment_matrix(segments)
    name_column = "segment_zh" if language == "zh" else "segment_en"
    action_column = "action_zh" if language == "zh" else "action_en"
    if cells:
        grid_values, grid_text = [], []
        for loyalty_level in loyalty:
            value_row, text_row = [], []
            for value_level in value:
                row = cells.get((loyalty_level, value_level))
                count = float(row["customers"]) if row is not None else 0.0
                value_row.append(count)
                text_row.append(
                    MISSING
                    if row is None
                    else f"{row[name_column]}\n{fmt_count(count, language)} · "
                    f"{fmt_rate(count / total, language)}\n{row[action_column]}"
                )
            grid_values.append(value_row)
            grid_text.append(text_row)
        section.blocks.append(
            Chart(
                Markup(
                    svg.heat_grid(
                        [inputs.t(f"level_{level}") for level in loyalty],
                        [inputs.t(f"level_{level}") for level in value],
                        grid_values,
                        grid_text,
                        title=inputs.t("sec_segments"),
                        x_title=inputs.t("value_axis"),
                        y_title=inputs.t("loyalty_axis"),
                        cell=190,
                    )
                )
            )
        )
    placed = segments["segment_code"].map(lambda c: bool(SEGMENT_CODE.match(str(c))))
    section.blocks.append(
        Table(
            [inputs.t("segment"), inputs.t("action"), inputs.t("customers"), inputs.t("share")],
            [
                [
                    str(row[name_column]),
                    str(row[action_column]),
                    fmt_count(row["customers"], language),
                    fmt_rate(float(row["customers"]) / total, language),
                ]
                for _, row in segments[placed].sort_values("customers", ascending=False).iterrows()
            ],
            (False, False, True, True),
        )
    )
    unplaced = float(segments.loc[~placed, "customers"].sum())
    if unplaced:
        section.blocks.append(Note(inputs.t("unsegmented", n=fmt_count(unplaced, language))))
    return section


def _reasons_text(row: object, language: str) -> str:
    """A customer's signals in the report's language only, strongest first."""
    reasons = (row.reason_1, row.reason_2, row.reason_3)  # type: ignore[attr-defined]
    return "; ".join(
        reason_label(reason, language)
        for reason in reasons
        if reason is not None and not pd.isna(reason) and str(reason)
    )


def at_risk_section(inputs: Inputs) -> Section:
    """The customers with the largest value at risk (risk × value), and apart from them the
    customers the activity rule is about to call lost (win-back cases, by value)."""
    language = inputs.language
    section = Section("at_risk", inputs.t("sec_at_risk"), "analytics.churn_early_warning (H4)")
    summary, note = _rows_or_note(
        inputs.results["at_risk_summary"], inputs, "analytics.churn_early_warning"
    )
    rows, rows_note = _rows_or_note(
        inputs.results["at_risk"], inputs, "analytics.churn_early_warning"
    )
    lost = inputs.results["at_risk_lost"]
    if summary is None or (rows is None and not isinstance(lost, pd.DataFrame)):
        section.blocks.append(note if summary is None else rows_note)
        return section
    head = summary.iloc[0]
    section.blocks.append(
        Paragraph(
            inputs.t(
                "at_risk_summary",
                n=fmt_count(head["customers"], language),
                high=fmt_count(head["customers_high_risk"], language),
                threshold=fmt_rate(RISK_THRESHOLD, language),
                value=fmt_cny(head["value_high_risk"], language),
                at_risk=fmt_cny(head["value_at_risk"], language),
                top=0 if rows is None else len(rows),
            )
        )
    )
    money, money_unit = _money(
        [] if rows is None else [*rows["value"], *rows["value_at_risk"]], language
    )
    headers = [
        inputs.t("rank"),
        inputs.t("customer_id"),
        inputs.t("risk"),
        f"{inputs.t('value_cny')} ({money_unit})",
        f"{inputs.t('value_at_risk_cny')} ({money_unit})",
        inputs.t("reasons"),
    ]
    if rows is not None:
        section.blocks.append(
            Table(
                headers,
                [
                    [
                        str(rank),
                        str(row.customer_id),
                        fmt_rate(row.risk, language),
                        money(row.value),
                        money(row.value_at_risk),
                        _reasons_text(row, language),
                    ]
                    for rank, row in enumerate(rows.itertuples(index=False), start=1)
                ],
                (True, False, True, True, True, False),
            )
        )
    if isinstance(lost, pd.DataFrame) and len(lost):
        section.blocks.append(
            Paragraph(
                inputs.t(
                    "at_risk_lost",
                    n=fmt_count(head["customers_lost"], language),
                    value=fmt_cny(head["value_lost"], language),
                    top=len(lost),
                )
            )
        )
        lost_money, lost_unit = _money(lost["value"], language)
        section.blocks.append(
            Table(
                [*headers[:3], f"{inputs.t('value_cny')} ({lost_unit})", headers[5]],
                [
                    [
                        str(rank),
                        str(row.customer_id),
                        fmt_rate(row.risk, language),
                        lost_money(row.value),
                        _reasons_text(row, language),
                    ]
                    for rank, row in enumerate(lost.itertuples(index=False), start=1)
                ],
                (True, False, True, True, False),
            )
        )
    return section


def _trailing_revenue_retention(frame: object) -> pd.Series | None:
    """The company's trailing year to as_of (loyalty_revenue_retention), or None."""
    if not isinstance(frame, pd.DataFrame) or frame.empty:
        return None
    trailing = frame[frame["period_grain"] == "trailing_year"]
    return trailing.sort_values("period_end_on").iloc[-1] if len(trailing) else None


def due_diligence_section(inputs: Inputs) -> Section:
    """What a buyer should look at (seeds 000 and 003), each with its figure from the marts."""
    language = inputs.language
    section = Section(
        "due_diligence",
        inputs.t("sec_due_diligence"),
        "loyalty_indicators, loyalty_cohort_retention, analytics.*",
    )
    section.blocks.append(Paragraph(inputs.t("dd_intro")))
    indicators = inputs.indicators

    def unavailable(*tables: str) -> str:
        return inputs.t("dd_unavailable", what=", ".join(tables))

    rows: list[list[str]] = []

    # retention, yearly
    retention = indicators.series("B1", "standard", "year")
    churn = indicators.series("B2", "standard", "year")
    if len(retention) and len(churn):
        latest = retention.iloc[-1]
        churn_latest = churn[churn["period_start_on"] == latest["period_start_on"]]
        evidence = inputs.t(
            "dd_retention_e",
            retention=fmt_rate(latest["value"], language),
            churn=fmt_rate(churn_latest.iloc[0]["value"] if len(churn_latest) else None, language),
            period=inputs.period(latest["period_start_on"], "year"),
            previous=fmt_rate(
                retention.iloc[-2]["value"] if len(retention) > 1 else None, language
            ),
        )
    else:
        evidence = unavailable("loyalty_indicators B1/B2")
    trailing = _trailing_revenue_retention(inputs.results["revenue_retention"])
    if trailing is not None:
        evidence = (
            inputs.t(
                "dd_trailing_e",
                end=str(pd.Timestamp(trailing["period_end_on"]).date()),
                grr=fmt_rate(trailing["gross_revenue_retention_rate"], language),
                nrr=fmt_rate(trailing["net_revenue_retention_rate"], language),
                start_revenue=fmt_cny(trailing["start_revenue_cny"], language),
                end_revenue=fmt_cny(trailing["end_revenue_cny"], language),
                kept=fmt_count(
                    trailing["customers_at_start"] - trailing["customers_churned"], language
                ),
                buyers=fmt_count(trailing["customers_at_start"], language),
                kept_rate=fmt_rate(
                    (trailing["customers_at_start"] - trailing["customers_churned"])
                    / trailing["customers_at_start"]
                    if trailing["customers_at_start"]
                    else None,
                    language,
                ),
            )
            + " "
            + evidence
        )
    rows.append(["B1 B2 " + inputs.t("dd_retention_q"), evidence, inputs.t("dd_retention_w")])

    # cohorts
    cohorts = inputs.results["cohorts"]
    evidence = unavailable("loyalty_cohort_retention")
    if isinstance(cohorts, pd.DataFrame):
        at_k = cohorts[cohorts["periods_since_acquisition"] == DUE_DILIGENCE_COHORT_K]
        at_k = at_k[at_k["retention_rate"].notna()].sort_values("cohort_start_on")
        if len(at_k) >= 1:
            # the latest cohort against the same quarter a year earlier (else the earliest)
            last = at_k.iloc[-1]
            year_before = pd.Timestamp(last["cohort_start_on"]) - pd.DateOffset(years=1)
            same_quarter = at_k[pd.to_datetime(at_k["cohort_start_on"]) == year_before]
            first = same_quarter.iloc[0] if len(same_quarter) else at_k.iloc[0]
            evidence = inputs.t(
                "dd_cohort_e",
                k=DUE_DILIGENCE_COHORT_K,
                latest=fmt_rate(last["retention_rate"], language),
                latest_label=last["cohort_label"],
                earliest=fmt_rate(first["retention_rate"], language),
                earliest_label=first["cohort_label"],
            )
    rows.append(["B8 " + inputs.t("dd_cohort_q"), evidence, inputs.t("dd_cohort_w")])

    # churn reasons: the trailing year's lost customers, else the last complete year's
    trailing_reasons = inputs.results["churn_reasons_trailing"]
    found = None if indicators.unavailable else churn_reasons(inputs)
    if isinstance(trailing_reasons, pd.DataFrame) and len(trailing_reasons):
        found = ("trailing", trailing_reasons)
    recorded = None if found is None else found[1][found[1]["reason"] != "unrecorded"]
    if found is not None and len(recorded):
        year, reasons = found
        top = recorded.iloc[0]  # the most frequent reason on record
        evidence = inputs.t(
            "dd_reasons_e",
            period=inputs.t("dd_trailing_period", end=str(inputs.as_of))
            if year == "trailing"
            else inputs.period(year, "year"),
            reason=label(top["reason"], language),
            share=fmt_rate(top["share"], language),
        )
        unrecorded = reasons[reasons["reason"] == "unrecorded"]
        if len(unrecorded):
            evidence += inputs.t(
                "dd_reasons_unrecorded", share=fmt_rate(unrecorded.iloc[0]["share"], language)
            )
    else:
        evidence = unavailable("loyalty_indicators B5")
    rows.append(["B5 " + inputs.t("dd_reasons_q"), evidence, inputs.t("dd_reasons_w")])

    # concentration
    concentration = inputs.results["concentration"]
    if isinstance(concentration, pd.DataFrame) and len(concentration):
        row = concentration.iloc[0]
        evidence = inputs.t(
            "dd_concentration_e",
            n=int(row["top_n"]),
            share=fmt_rate(row["top_n_share_rate"], language),
            hhi=fmt_index(row["herfindahl_index"], language),
            equivalent=fmt_count(round(float(row["equivalent_customers"])), language),
        )
    else:
        evidence = unavailable("analytics.customer_concentration")
    rows.append(["F11 " + inputs.t("dd_concentration_q"), evidence, inputs.t("dd_concentration_w")])

    # equity
    total = _equity_total(inputs)
    if total is not None:
        evidence = inputs.t(
            "dd_equity_e",
            value=fmt_cny(total["equity_cny"], language),
            lower=fmt_cny(total["equity_lower_cny"], language),
            upper=fmt_cny(total["equity_upper_cny"], language),
        )
        lines = _bridge_lines(inputs)
        if lines is not None:
            evidence += " " + inputs.t(
                "dd_equity_multiple",
                x_margin=fmt_ratio(lines.get(("equity_to_t12m_margin", "total")), language),
                x_revenue=fmt_ratio(lines.get(("equity_to_t12m_revenue", "total")), language),
            )
    else:
        evidence = unavailable("analytics.customer_equity")
    rows.append(["F8 " + inputs.t("dd_equity_q"), evidence, inputs.t("dd_equity_w")])

    # satisfaction and NPS
    satisfaction = indicators.latest("A2", "standard")
    nps = indicators.latest("E3", "standard")
    if satisfaction is not None or nps is not None:
        evidence = inputs.t(
            "dd_satisfaction_e",
            satisfaction=MISSING
            if satisfaction is None
            else fmt_pct(satisfaction["value"], language),
            satisfaction_period=MISSING
            if satisfaction is None
            else inputs.period(satisfaction["period_start_on"]),
            nps=MISSING if nps is None else fmt_value(nps["value"], "nps", language),
            nps_period=MISSING if nps is None else inputs.period(nps["period_start_on"]),
        )
    else:
        evidence = unavailable("loyalty_indicators A2/E3")
    rows.append(["A2 E3 " + inputs.t("dd_satisfaction_q"), evidence, inputs.t("dd_satisfaction_w")])

    # complaints: the trailing year, else the last complete year's D1 and D2
    trailing_complaints = inputs.results["complaints_trailing"]
    resolved = indicators.latest("D2", "standard", "year")
    rate = indicators.latest("D1", "standard", "year")
    if isinstance(trailing_complaints, pd.DataFrame) and trailing_complaints["complaints"].iloc[0]:
        counts = trailing_complaints.iloc[0]
        evidence = inputs.t(
            "dd_complaints_trailing_e",
            end=str(inputs.as_of),
            complaints=fmt_count(counts["complaints"], language),
            resolved=fmt_rate(counts["complaints_resolved"] / counts["complaints"], language),
            rate=fmt_ratio(
                counts["complaints"] / counts["customers_active"]
                if counts["customers_active"]
                else None,
                language,
            ),
        )
    elif resolved is not None:
        evidence = inputs.t(
            "dd_complaints_e",
            resolved=fmt_pct(resolved["value"], language),
            period=inputs.period(resolved["period_start_on"], "year"),
            rate=MISSING if rate is None else fmt_value(rate["value"], rate["unit"], language),
        )
    else:
        evidence = unavailable("loyalty_indicators D1/D2")
    rows.append(["D1 D2 " + inputs.t("dd_complaints_q"), evidence, inputs.t("dd_complaints_w")])

    # at risk
    summary = inputs.results["at_risk_summary"]
    if isinstance(summary, pd.DataFrame) and len(summary):
        head = summary.iloc[0]
        evidence = inputs.t(
            "dd_at_risk_e",
            high=fmt_count(head["customers_high_risk"], language),
            threshold=fmt_rate(RISK_THRESHOLD, language),
            value=fmt_cny(head["value_high_risk"], language),
            expected=fmt_cny(head["value_at_risk"], language),
            lost=fmt_count(head["customers_lost"], language),
            lost_value=fmt_cny(head["value_lost"], language),
        )
    else:
        evidence = unavailable("analytics.churn_early_warning")
    rows.append(["H4 " + inputs.t("dd_at_risk_q"), evidence, inputs.t("dd_at_risk_w")])

    # segments
    segments = inputs.results["segments"]
    evidence = unavailable("analytics.customer_segments")
    if isinstance(segments, pd.DataFrame) and len(segments):
        total_customers = float(segments["customers"].sum())
        by_code = segments.set_index("segment_code")
        name_column = "segment_zh" if language == "zh" else "segment_en"
        core, wavering = "high_value_high_loyalty", "high_value_low_loyalty"
        if core in by_code.index and wavering in by_code.index:
            evidence = inputs.t(
                "dd_segments_e",
                core=by_code.loc[core, name_column],
                core_share=fmt_rate(by_code.loc[core, "customers"] / total_customers, language),
                wavering=by_code.loc[wavering, name_column],
                wavering_share=fmt_rate(
                    by_code.loc[wavering, "customers"] / total_customers, language
                ),
            )
    rows.append(["H6 " + inputs.t("dd_segments_q"), evidence, inputs.t("dd_segments_w")])

    section.blocks.append(
        Table(
            [inputs.t("dd_question"), inputs.t("dd_evidence"), inputs.t("dd_why")],
            rows,
            (False, False, False),
        )
    )
    return section


SECTIONS = (
    kpi_section,
    due_diligence_section,
    satisfaction_section,
    retention_section,
    cohort_section,
    nps_section,
    complaints_section,
    clv_section,
    concentration_section,
    segments_section,
    at_risk_section,
    more.management_section,
    more.indices_section,
    more.engagement_section,
    more.referral_section,
    more.benchmarks_section,
    more.cost_section,
    more.extra_revenue_section,
    appendix_section,  # last: the model parameters, for the analyst
)


# --------------------------------------------------------------------------- rendering


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_report(
    connection: duckdb.DuckDBPyConnection, language: str = "zh", as_of: object = None
) -> str:
    """The report as an HTML string, from an open connection (the Dagster asset passes its
    own, so the warehouse is not opened twice in one process)."""
    inputs = load(connection, language, as_of)
    sections = [build(inputs) for build in SECTIONS]
    return (
        _environment()
        .get_template("report.html.j2")
        .render(
            language=inputs.language,
            html_lang="zh-CN" if inputs.language == "zh" else "en",
            t=inputs.t,
            as_of=inputs.as_of.isoformat(),
            sections=sections,
        )
    )


def build_report(
    database_path: str | Path,
    out_path: str | Path,
    language: str = "zh",
    as_of: object = None,
    duckdb_config: dict[str, str] | None = None,
) -> Path:
    """Write the report for `as_of` (a date or YYYY-MM-DD; default: the date the marts were
    built for) from the DuckDB warehouse at `database_path`, opened read-only, to `out_path`
    (UTF-8 HTML). Returns the path written."""
    check_language(language)
    with duckdb.connect(
        str(database_path), read_only=True, config=duckdb_config or {}
    ) as connection:
        document = render_report(connection, language, as_of)
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(document, encoding="utf-8")
    return out
