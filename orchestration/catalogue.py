"""The indicator catalogue as a page: `docs/metrics.md`, written from
`seeds/indicator_catalogue.csv`.

The seed is the catalogue's one home: dbt loads it, the view loyalty_indicator_catalogue
gives BI its names beside the indicator marts (which carry codes only), loyalty_benchmarks
takes directions from it, the publish copies it beside the marts. The page is generated from it so
that the two cannot drift apart; `tests/test_catalogue.py` fails when the page is not what the
seed gives.

    python -m orchestration.catalogue           # write docs/metrics.md
    python -m orchestration.catalogue --check   # exit 1 when docs/metrics.md is not current
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

from .settings import ROOT

CATALOGUE_SEED = ROOT / "seeds" / "indicator_catalogue.csv"
PAGE = ROOT / "docs" / "metrics.md"
COLUMNS = (
    "indicator_code",
    "indicator_group",
    "name_en",
    "name_zh",
    "unit",
    "direction",
    "grain",
    "seeds",
    "formula",
    "source",
    "found_in",
)
# May be empty: an indicator a firm adds that no source article names has no article numbers.
OPTIONAL_COLUMNS = ("seeds",)

# Group code letter, English and Chinese title, in the order of the page.
GROUPS: dict[str, tuple[str, str, str]] = {
    "satisfaction": ("A", "Satisfaction and service quality", "满意度与服务质量"),
    "retention": ("B", "Retention, churn, renewal", "留存、流失与续约"),
    "engagement": ("C", "Interaction and engagement", "互动与参与"),
    "complaints": ("D", "Complaints", "投诉"),
    "recommendation": ("E", "Recommendation, word of mouth, brand", "推荐、口碑与品牌"),
    "value": ("F", "Value and finance", "客户价值与财务"),
    "distribution": ("G", "Distribution and lifecycle", "分布与生命周期"),
    "indices": ("H", "Composite indices and early warning", "综合指数与预警"),
    "data_management": ("I", "Data management", "数据管理"),
}

# The source articles (Chinese web articles, not in this repository), by their subject.
ARTICLES: tuple[tuple[str, str, str], ...] = (
    (
        "the IT integrator for sale",
        "how to judge the customer loyalty of an IT system-integration firm that is for sale",
        "转让信息系统集成企业,如何评估客户忠诚度?",
    ),
    (
        "the customer-management rating",
        "how to rate a firm's customer management: satisfaction, loyalty, complaint rate, "
        "churn rate and participation",
        "客户管理水平评价",
    ),
    (
        "the accounting firm",
        "how to judge the customer loyalty of an accounting firm (the only one with formulas: "
        "retention, satisfaction, recommendation and loyalty indices, lifetime value)",
        "评估会计公司的客户忠诚度",
    ),
    (
        "the stamping-part design firm",
        "how to judge the customer loyalty of a stamping-part design firm",
        "评估冲压件设计公司的客户忠诚度",
    ),
    (
        "the automation integrator",
        "how to value the customer resources of an automation system integrator",
        "如何评估自动化系统集成公司的客户资源价值?",
    ),
)

UNITS = {
    "rate": "a fraction, 0–1",
    "pct": "a percentage, 0–100",
    "count": "a count",
    "cny": "an amount in CNY (the reporting currency)",
    "hours": "a duration in hours",
    "ratio": "a ratio",
    "per_customer": "a count per customer",
    "score": "a score on its own scale",
    "nps": "net promoter score, −100 to 100",
    "months": "months",
    "weight": "a weight, 0–1",
    "flag": "a property of the warehouse, not a number",
}

GRAINS = {
    "period_slice": "by month, quarter and year, and by company, industry, region, size band "
    "and account manager (product line where it applies)",
    "customer": "one value per customer",
    "cohort": "per acquisition cohort and period since acquisition",
    "model": "per index and weighting method",
    "warehouse": "the warehouse as a whole",
}


def read_catalogue(path: Path = CATALOGUE_SEED) -> list[dict[str, str]]:
    """The seed's rows, checked: every column present and filled (but the article numbers),
    codes unique, each code's letter that of its group, units and grains known."""
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [column for column in COLUMNS if column not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path.name}: missing column(s) {', '.join(missing)}")
        rows = list(reader)
    seen: set[str] = set()
    for line, row in enumerate(rows, start=2):
        code = row["indicator_code"]
        empty = [
            column
            for column in COLUMNS
            if column not in OPTIONAL_COLUMNS and not (row[column] or "").strip()
        ]
        if empty:
            raise ValueError(f"{path.name} line {line} ({code}): empty {', '.join(empty)}")
        if code in seen:
            raise ValueError(f"{path.name} line {line}: {code} appears twice")
        seen.add(code)
        group = GROUPS.get(row["indicator_group"])
        if group is None:
            raise ValueError(f"{path.name} line {line} ({code}): unknown group")
        if not (code.startswith(group[0]) and code[1:].isdigit()):
            raise ValueError(f"{path.name} line {line}: {code} is not a code of group {group[0]}")
        if row["unit"] not in UNITS or row["grain"] not in GRAINS:
            raise ValueError(f"{path.name} line {line} ({code}): unknown unit or grain")
    return rows


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ").strip()


def _tables(found_in: str) -> str:
    """`a; b` as `` `a`, `b` ``; a sentence (no table) stays prose."""
    parts = [part.strip() for part in found_in.split(";")]
    if all(part.replace("_", "").isalnum() for part in parts):
        return ", ".join(f"`{part}`" for part in parts)
    return found_in


def _sort_key(row: Mapping[str, str]) -> tuple[str, int]:
    return row["indicator_code"][0], int(row["indicator_code"][1:])


def render(rows: Iterable[Mapping[str, str]]) -> str:
    """The page, in Markdown."""
    rows = sorted(rows, key=_sort_key)
    lines = [
        "# Indicator catalogue",
        "",
        "<!-- Generated by `python -m orchestration.catalogue` from",
        "     seeds/indicator_catalogue.csv: edit the seed, then run it again. -->",
        "",
        "Every indicator the warehouse computes, by its code: what it measures, how, in which",
        "published tables (`warehouse/published/bi.duckdb`, the same names in `parquet/`) and",
        "where the source articles name it. The same rows are the table `indicator_catalogue`",
        "of the published copy, and the mart `loyalty_indicator_catalogue` beside the indicator",
        "marts. In `loyalty_indicators` an indicator is a set of rows: filter `indicator_code`,",
        "`indicator_variant` (`standard` unless the formula names another), `period_grain` and",
        "`slice_type`; its names are joined from `loyalty_indicator_catalogue` on",
        "`indicator_code`, not repeated on the rows.",
        "",
        "Conventions:",
        "- *period*: a calendar month, quarter or year. *S* customers active at the period's",
        "  start, *E* at its end, *N* acquired during it.",
        "- *active customer*: has an open contract, or an order in the trailing activity window",
        "  (dbt var `activity_window_days`, 365). *churned*: was active and is no longer, or has a",
        "  churn record in the CRM.",
        "- *score / maximum*: survey items have their own scales (1–5, 1–7, 0–10); every",
        "  percentage of a score divides by the item's own maximum.",
        "",
        "Units:",
        *(f"- `{unit}`: {meaning}" for unit, meaning in UNITS.items()),
        "",
        "Grains:",
        *(f"- `{grain}`: {meaning}" for grain, meaning in GRAINS.items()),
        "",
        "## The source articles",
        "",
        "Five Chinese articles on judging the loyalty and the value of a B2B service firm's",
        "customers, for its own management and when the firm is sold, name the indicators. They",
        "are not in this repository; the column *named in* below cites them by subject:",
        "",
        "| cited as | subject | title |",
        "|---|---|---|",
    ]
    lines += [f"| {short} | {subject} | {title} |" for short, subject, title in ARTICLES]
    lines += [
        "",
        "Cohort retention (B8) and customer concentration (F11) come from what a buyer examines",
        "in a due diligence, which the sale articles ask for without naming a measure.",
    ]
    for group, (letter, title_en, title_zh) in GROUPS.items():
        members = [row for row in rows if row["indicator_group"] == group]
        if not members:
            continue
        lines += [
            "",
            f"## {letter}. {title_en} / {title_zh}",
            "",
            "| code | indicator | 指标 | formula | unit | grain | published in | named in |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for row in members:
            cells = [
                row["indicator_code"],
                _cell(row["name_en"]),
                _cell(row["name_zh"]),
                _cell(row["formula"]),
                f"`{row['unit']}`",
                f"`{row['grain']}`",
                _cell(_tables(row["found_in"])),
                _cell(row["source"]),
            ]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write docs/metrics.md from the catalogue seed.")
    parser.add_argument("--check", action="store_true", help="exit 1 if the page is not current")
    parser.add_argument("--seed", type=Path, default=CATALOGUE_SEED)
    parser.add_argument("--out", type=Path, default=PAGE)
    args = parser.parse_args(argv)
    page = render(read_catalogue(args.seed))
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        if current != page:
            print(f"{args.out} is not current: run python -m orchestration.catalogue")
            return 1
        return 0
    args.out.write_text(page, encoding="utf-8")
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
