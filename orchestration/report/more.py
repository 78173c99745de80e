"""The sections for what the warehouse computes beyond the headline marts: management level
and account-manager scorecards, the loyalty and value indices, engagement, referral and word
of mouth, industry benchmarks, acquisition versus retention cost, and loyalty's extra revenue.

Each section states the customer base its figures are over in one sentence and prints the
mart's values as they are (`i18n.fmt_*`); a missing or empty table gives the usual
"not available" note.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from .i18n import (
    MISSING,
    cny_scale,
    cny_unit_text,
    fmt_change,
    fmt_cny_scaled,
    fmt_count,
    fmt_pct,
    fmt_rate,
    fmt_value,
    label,
)
from .queries import Unavailable

# (code, variant) rows of the engagement, referral and cost tables, in reading order.
ENGAGEMENT = (
    ("C1", "standard"),
    ("C2", "standard"),
    ("C3", "standard"),
    ("C4", "standard"),
    ("C5", "feedback_customers"),
    ("C5", "suggestion_adoption"),
    ("C6", "standard"),
    ("C6", "days_since_last_touch"),
    ("C7", "enrolled"),
    ("C8", "lift"),
)
REFERRAL = (
    ("E1", "standard"),
    ("E1", "any_referral"),
    ("E1", "converted_referrals"),
    ("E1", "referral_conversion_rate"),
    ("E4", "positive"),
    ("E4", "neutral"),
    ("E4", "negative"),
    ("E4", "net_sentiment"),
    ("E5", "awareness"),
    ("E5", "brand_image"),
    ("E5", "emotional_connection"),
    ("E5", "switching_cost"),
)
COSTS = (("F9", "cac"), ("F9", "retention_cost"), ("F9", "cac_to_retention"))
COST_QUARTERS = 4
TREND_ORDER = ("up", "flat", "down")
BAND_ORDER = ("green", "yellow", "red")


def _b():  # the builder, imported late (it imports this module)
    from . import builder

    return builder


def _frame_or_note(inputs, name: str, table: str):
    """The rows of query `name`, or None and the note saying why there are none."""
    rows = inputs.results.get(name)
    b = _b()
    if isinstance(rows, Unavailable):
        return None, b._unavailable_note(rows, inputs.language)
    if rows is None or not len(rows):
        return None, b.Note(inputs.t("not_available", table=table))
    return rows, None


def _variant_name(inputs, code: str, variant: str) -> str:
    name = inputs.indicators.name(code, inputs.language)
    if variant != "standard":
        name = f"{name} · {label(variant, inputs.language)}"
    return f"{code} {name}"


def indicator_rows(inputs, specs: Sequence[tuple[str, str]]):
    """One row per indicator variant: its latest complete quarter, value, the change on the
    quarter before, and n. Returns (rows, the latest rows by (code, variant))."""
    language = inputs.language
    rows, latest = [], {}
    for code, variant in specs:
        series = inputs.indicators.series(code, variant)
        if not len(series):
            continue
        last = series.iloc[-1]
        previous = series.iloc[-2] if len(series) > 1 else None
        change = (
            fmt_change(float(last["value"]) - float(previous["value"]), last["unit"], language)
            if previous is not None
            else MISSING
        )
        latest[(code, variant)] = last
        rows.append(
            [
                _variant_name(inputs, code, variant),
                inputs.period(last["period_start_on"]),
                fmt_value(last["value"], last["unit"], language),
                change,
                fmt_count(last["n"], language),
            ]
        )
    return rows, latest


def _indicator_table(inputs, specs) -> tuple[list, dict]:
    b = _b()
    rows, latest = indicator_rows(inputs, specs)
    if not rows:
        return [], latest
    columns = [
        inputs.t("indicator"),
        inputs.t("period"),
        inputs.t("value"),
        inputs.t("change_on_quarter"),
        "n",
    ]
    return [b.Table(columns, rows, (False, False, True, True, True))], latest


def _indicator_section(inputs, section_id, title_key, source, specs, base_code, chart_code):
    b = _b()
    section = b.Section(section_id, inputs.t(title_key), source)
    if inputs.indicators.unavailable:
        section.blocks.append(b._unavailable_note(inputs.indicators.unavailable, inputs.language))
        return section
    blocks, latest = _indicator_table(inputs, specs)
    if not blocks:
        section.blocks.append(inputs.no_indicator(*sorted({code for code, _ in specs})))
        return section
    base = latest[base_code] if base_code in latest else next(iter(latest.values()))
    section.blocks.append(
        b.Paragraph(
            inputs.t(
                "base_indicator",
                n=fmt_count(base["n"], inputs.language),
                code=base_code[0],
                period=inputs.period(base["period_start_on"]),
            )
        )
    )
    if chart_code in latest and len(inputs.indicators.series(*chart_code)) >= 2:
        unit = str(latest[chart_code]["unit"])
        chart = b._trend_chart(
            inputs,
            [(chart_code[0], chart_code[1], _variant_name(inputs, *chart_code))],
            _variant_name(inputs, *chart_code),
            unit,
        )
        if chart:
            section.blocks.append(chart)
    section.blocks.extend(blocks)
    return section


# --------------------------------------------------------------------------- sections


def engagement_section(inputs):
    return _indicator_section(
        inputs,
        "engagement",
        "sec_engagement",
        "loyalty_indicators (C1–C8)",
        ENGAGEMENT,
        ("C1", "standard"),
        ("C3", "standard"),
    )


def referral_section(inputs):
    section = _indicator_section(
        inputs,
        "referral",
        "sec_referral",
        "loyalty_indicators (E1, E4, E5), fct_referrals, fct_reviews",
        REFERRAL,
        ("E1", "standard"),
        ("E1", "standard"),
    )
    b = _b()
    activity = inputs.results.get("referral_activity")
    if isinstance(activity, pd.DataFrame) and len(activity):
        row = activity.iloc[0]
        section.blocks.append(
            b.Paragraph(
                inputs.t(
                    "referral_activity",
                    referrals=fmt_count(row["referrals"], inputs.language),
                    referrers=fmt_count(row["referrers"], inputs.language),
                    converted=fmt_count(row["converted"], inputs.language),
                    reviews=fmt_count(row["reviews"], inputs.language),
                    reviewers=fmt_count(row["reviewers"], inputs.language),
                    positive=fmt_rate(row["positive_share"], inputs.language),
                )
            )
        )
    return section


def cost_section(inputs):
    b = _b()
    language = inputs.language
    section = b.Section("costs", inputs.t("sec_costs"), "loyalty_indicators (F9)")
    if inputs.indicators.unavailable:
        section.blocks.append(b._unavailable_note(inputs.indicators.unavailable, language))
        return section
    series = {variant: inputs.indicators.series(code, variant) for code, variant in COSTS}
    if not len(series["cac"]) and not len(series["retention_cost"]):
        section.blocks.append(inputs.no_indicator("F9"))
        return section
    periods = sorted({p for rows in series.values() for p in rows["period_start_on"]})
    periods = periods[-COST_QUARTERS:]
    by = {
        variant: {row["period_start_on"]: row for _, row in rows.iterrows()}
        for variant, rows in series.items()
    }
    amounts = [
        float(by[v][p]["value"])
        for v in ("cac", "retention_cost")
        for p in periods
        if p in by[v] and pd.notna(by[v][p]["value"])
    ]
    scale = cny_scale(amounts, language)
    last = periods[-1]
    acquired = by["cac"].get(last)
    retained = by["retention_cost"].get(last)
    section.blocks.append(
        b.Paragraph(
            inputs.t(
                "base_costs",
                period=inputs.period(last),
                acquired=fmt_count(acquired["n"] if acquired is not None else None, language),
                retained=fmt_count(retained["n"] if retained is not None else None, language),
            )
        )
    )

    def cell(variant, period, money):
        row = by[variant].get(period)
        if row is None:
            return MISSING
        if money:
            return fmt_cny_scaled(row["value"], scale, language)
        return fmt_value(row["value"], row["unit"], language)

    unit = cny_unit_text(scale, language)
    section.blocks.append(
        b.Table(
            [
                inputs.t("period"),
                f"{inputs.t('cost_cac')} ({unit})",
                f"{inputs.t('cost_retention')} ({unit})",
                inputs.t("cost_ratio"),
                inputs.t("new_customers"),
            ],
            [
                [
                    inputs.period(p),
                    cell("cac", p, True),
                    cell("retention_cost", p, True),
                    cell("cac_to_retention", p, False),
                    fmt_count(by["cac"][p]["n"] if p in by["cac"] else None, language),
                ]
                for p in periods
            ],
            (False, True, True, True, True),
        )
    )
    return section


def management_section(inputs):
    b = _b()
    language = inputs.language
    section = b.Section("management", inputs.t("sec_management"), "analytics.management_level")
    rows, note = _frame_or_note(inputs, "management", "analytics.management_level")
    if rows is None:
        section.blocks.append(note)
        return section
    window = next((c for c in rows.columns if "window" in c and not c.endswith("_on")), None)
    current = rows[rows[window] == "current"] if window else rows
    company = current[current["unit_type"] == "company"]
    if len(company):
        top = company.iloc[0]
        section.blocks.append(
            b.Paragraph(
                inputs.t(
                    "base_management",
                    n=fmt_count(top["customers"], language),
                    start=str(top["window_start_on"])[:10],
                    end=str(top["window_end_on"])[:10],
                )
            )
        )
        section.blocks.append(
            b.Cards(
                [
                    b.Card(
                        label=inputs.t("management_level"),
                        value=fmt_pct(top["management_level_pct"], language),
                        period=f"{str(top['window_start_on'])[:10]} – "
                        f"{str(top['window_end_on'])[:10]}",
                        change=(
                            ""
                            if pd.isna(top["change_points"])
                            else f"{fmt_change(top['change_points'], 'pct', language)} "
                            + inputs.t("vs_previous_window")
                        ),
                        tone="neutral",
                        spark=None,
                    )
                ]
            )
        )
    columns = [
        inputs.t("unit"),
        inputs.t("customers"),
        inputs.t("col_satisfaction"),
        inputs.t("col_loyalty_index"),
        inputs.t("col_complaints"),
        inputs.t("col_churn"),
        inputs.t("col_engagement"),
        inputs.t("management_level"),
        inputs.t("band"),
        inputs.t("change_on_window"),
    ]

    def table(unit_type):
        units = current[current["unit_type"] == unit_type].sort_values(
            ["management_level_pct", "unit_id"], ascending=[False, True], na_position="last"
        )
        return b.Table(
            columns,
            [
                [
                    str(r["unit_id"]),
                    fmt_count(r["customers"], language),
                    fmt_pct(r["satisfaction_pct"], language),
                    fmt_pct(r["loyalty_index_pct"], language),
                    fmt_value(r["complaints_per_customer"], "per_customer", language),
                    fmt_rate(r["churn_rate"], language),
                    fmt_pct(r["engagement_pct"], language),
                    fmt_pct(r["management_level_pct"], language),
                    label(r["band"], language),
                    fmt_change(r["change_points"], "pct", language),
                ]
                for _, r in units.iterrows()
            ],
            (False,) + (True,) * 7 + (False, True),
        )

    for unit_type, key in (("team", "sub_teams"), ("account_manager", "sub_managers")):
        if (current["unit_type"] == unit_type).any():
            section.blocks.append(b.Heading(inputs.t(key)))
            section.blocks.append(table(unit_type))
    return section


def indices_section(inputs):
    b = _b()
    language = inputs.language
    section = b.Section(
        "indices", inputs.t("sec_indices"), "analytics.customer_indices, analytics.index_weights"
    )
    rows, note = _frame_or_note(inputs, "customer_indices", "analytics.customer_indices")
    if rows is None:
        section.blocks.append(note)
        return section
    scored = rows["loyalty_index_pct"].notna() | rows["value_index_pct"].notna()
    section.blocks.append(
        b.Paragraph(
            inputs.t(
                "base_indices",
                n=fmt_count(int(scored.sum()), language),
                as_of=str(rows["as_of"].iloc[0])[:10],
            )
        )
    )
    table = []
    for prefix, key in (("loyalty", "index_loyalty"), ("value", "index_value")):
        values = rows[f"{prefix}_index_pct"]
        both = values.notna() & rows[f"{prefix}_previous_pct"].notna()
        trends = rows[f"{prefix}_trend"].value_counts()
        bands = rows[f"{prefix}_band"].value_counts()
        table.append(
            [
                inputs.t(key),
                fmt_count(int(values.notna().sum()), language),
                fmt_pct(values.mean() if values.notna().any() else None, language),
                fmt_pct(
                    rows.loc[both, f"{prefix}_previous_pct"].mean() if both.any() else None,
                    language,
                ),
                fmt_pct(values[both].mean() if both.any() else None, language),
                " / ".join(fmt_count(int(trends.get(t, 0)), language) for t in TREND_ORDER),
                " / ".join(fmt_count(int(bands.get(x, 0)), language) for x in BAND_ORDER),
            ]
        )
    section.blocks.append(
        b.Table(
            [
                inputs.t("index"),
                inputs.t("customers_scored"),
                inputs.t("mean_now"),
                inputs.t("mean_previous"),
                inputs.t("mean_now_same"),
                inputs.t("trend_counts"),
                inputs.t("band_counts"),
            ],
            table,
            (False, True, True, True, True, True, True),
        )
    )
    weights = inputs.results.get("index_weights")
    if isinstance(weights, pd.DataFrame) and len(weights):
        applied = weights[weights["is_applied"].astype(bool)].sort_values(
            ["index_code", "weight", "indicator_code"], ascending=[True, False, True]
        )
        name = "index_name_zh" if language == "zh" else "index_name_en"
        indicator = "indicator_name_zh" if language == "zh" else "indicator_name_en"
        section.blocks.append(b.Heading(inputs.t("sub_drivers")))
        section.blocks.append(
            b.Table(
                [
                    inputs.t("index"),
                    inputs.t("indicator"),
                    inputs.t("weight"),
                    inputs.t("weighting_method"),
                ],
                [
                    [
                        f"{r['index_code']} {r[name]}",
                        f"{r['indicator_code']} {r[indicator]}",
                        fmt_rate(r["weight"], language),
                        label(r["weighting_method"], language),
                    ]
                    for _, r in applied.iterrows()
                ],
                (False, False, True, False),
            )
        )
    else:
        section.blocks.append(b.Note(inputs.t("not_available", table="analytics.index_weights")))
    return section


def benchmarks_section(inputs):
    b = _b()
    language = inputs.language
    section = b.Section("benchmarks", inputs.t("sec_benchmarks"), "loyalty_benchmarks")
    rows, note = _frame_or_note(inputs, "benchmarks", "loyalty_benchmarks")
    if rows is not None:
        rows = rows[rows["our_value"].notna() & rows["is_unit_consistent"].astype(bool)]
        if not len(rows):
            rows, note = None, b.Note(inputs.t("no_rows", table="loyalty_benchmarks"))
    if rows is None:
        section.blocks.append(note)
        return section
    year = rows["period_start_on"].max()
    latest = rows[rows["period_start_on"] == year].sort_values(
        ["indicator_code", "indicator_variant", "benchmark_industry"]
    )
    section.blocks.append(
        b.Paragraph(
            inputs.t(
                "base_benchmarks",
                period=inputs.period(year, "year"),
                n=fmt_count(latest["n"].max(), language),
            )
        )
    )
    name = "indicator_name_zh" if language == "zh" else "indicator_name_en"
    section.blocks.append(
        b.Table(
            [
                inputs.t("indicator"),
                inputs.t("industry"),
                inputs.t("ours"),
                inputs.t("benchmark"),
                inputs.t("comparison"),
                "n",
            ],
            [
                [
                    f"{r['indicator_code']} {r[name]}"
                    + (
                        ""
                        if r["indicator_variant"] == "standard"
                        else f" · {label(r['indicator_variant'], language)}"
                    ),
                    label(r["benchmark_industry"], language),
                    fmt_value(r["our_value"], r["unit"], language),
                    fmt_value(r["benchmark_value"], r["unit"], language),
                    label(r["comparison"], language),
                    fmt_count(r["n"], language),
                ]
                for _, r in latest.iterrows()
            ],
            (False, False, True, True, False, True),
        )
    )
    if latest["is_example_benchmark"].astype(bool).any():
        section.blocks.append(b.Note(inputs.t("benchmark_example")))
    return section


def extra_revenue_section(inputs):
    b = _b()
    language = inputs.language
    section = b.Section(
        "extra_revenue", inputs.t("sec_extra_revenue"), "analytics.loyalty_extra_revenue"
    )
    rows, note = _frame_or_note(inputs, "extra_revenue", "analytics.loyalty_extra_revenue")
    if rows is None:
        section.blocks.append(note)
        return section
    row = rows.sort_values("window_end_on").iloc[-1]
    section.blocks.append(
        b.Paragraph(
            inputs.t(
                "base_extra_revenue",
                n=fmt_count(row["customers"], language),
                top=fmt_count(row["top_customers"], language),
                band=label(row["top_band"], language),
                start=str(row["window_start_on"])[:10],
                end=str(row["window_end_on"])[:10],
            )
        )
    )
    money = (
        "base_average_revenue_cny",
        "top_average_revenue_cny",
        "extra_per_customer_cny",
        "extra_revenue_cny",
    )
    scale = cny_scale([row[c] for c in money if pd.notna(row[c])], language)
    unit = cny_unit_text(scale, language)
    section.blocks.append(
        b.Table(
            [inputs.t("measure"), f"{inputs.t('amount')} ({unit})"],
            [[inputs.t(f"xr_{c}"), fmt_cny_scaled(row[c], scale, language)] for c in money],
            (False, True),
        )
    )
    return section
