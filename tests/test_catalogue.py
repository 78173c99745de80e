"""The indicator catalogue and the docs a clone carries.

- docs/metrics.md is what `python -m orchestration.catalogue` writes from the seed, and the
  seed and the page hold every indicator code A1…I2, no other;
- the README, docs/ and the report link only to files inside the repository (a clone has no
  ../shared), and every relative link resolves;
- formulas are named by what they measure: no "seed 002", "资料002" in the words a reader sees;
- the indicator marts carry codes, the view loyalty_indicator_catalogue the names (dbt's
  manifest: no name column on the marts, relationships tests from their codes to the view).
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from orchestration import catalogue
from orchestration.report import i18n
from orchestration.settings import ROOT


def codes(letter: str, count: int) -> list[str]:
    return [f"{letter}{number}" for number in range(1, count + 1)]


# Every indicator the warehouse computes, group by group (A satisfaction … I data management).
ALL_CODES = [
    *codes("A", 7),
    *codes("B", 8),
    *codes("C", 8),
    *codes("D", 5),
    *codes("E", 5),
    *codes("F", 11),
    *codes("G", 7),
    *codes("H", 6),
    *codes("I", 2),
]

# The pages a reader of a clone opens; docs/bi.md and docs/landing-contract.md included.
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("**/*.md"))]
REPORT_FILES = sorted((ROOT / "orchestration" / "report").glob("**/*.*"))

# A source article cited by its file number rather than by what it says.
DOCUMENT_NUMBER = re.compile(r"资料\s*0\d\d|seeds?[ -]0\d\d", re.IGNORECASE)


def test_the_page_is_current():
    page = catalogue.PAGE.read_text(encoding="utf-8")
    assert page == catalogue.render(catalogue.read_catalogue()), (
        "docs/metrics.md is not current: run python -m orchestration.catalogue"
    )


def test_every_code_is_in_the_seed_and_on_the_page():
    rows = catalogue.read_catalogue()
    assert [row["indicator_code"] for row in rows] == ALL_CODES
    page = catalogue.PAGE.read_text(encoding="utf-8")
    on_page = re.findall(r"^\| ([A-I]\d+) \|", page, flags=re.MULTILINE)
    assert on_page == ALL_CODES
    assert len(ALL_CODES) == 59


def test_check_mode_tells_a_stale_page(tmp_path, capsys):
    page = tmp_path / "metrics.md"
    assert catalogue.main(["--out", str(page)]) == 0
    assert catalogue.main(["--check", "--out", str(page)]) == 0
    page.write_text(page.read_text(encoding="utf-8").replace("| B1 |", "| B9 |"))
    assert catalogue.main(["--check", "--out", str(page)]) == 1
    assert "not current" in capsys.readouterr().out


def write_seed(path: Path, rows: list[dict[str, str]], columns=catalogue.COLUMNS) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda rows: rows.append(dict(rows[0])), "A1 appears twice"),
        (lambda rows: rows[1].update(indicator_code="B1"), "B1 is not a code of group A"),
        (lambda rows: rows[0].update(formula=" "), "(A1): empty formula"),
        (lambda rows: rows[0].update(unit="furlongs"), "(A1): unknown unit or grain"),
        (lambda rows: rows[0].update(indicator_group="misc"), "(A1): unknown group"),
    ],
)
def test_a_wrong_seed_is_refused_with_its_line(tmp_path, change, message):
    rows = catalogue.read_catalogue()[:3]
    change(rows)
    with pytest.raises(ValueError, match=re.escape(message)):
        catalogue.read_catalogue(write_seed(tmp_path / "indicator_catalogue.csv", rows))


def test_a_seed_without_a_column_is_refused(tmp_path):
    rows = catalogue.read_catalogue()[:2]
    columns = [column for column in catalogue.COLUMNS if column != "source"]
    path = write_seed(tmp_path / "indicator_catalogue.csv", rows, columns)
    with pytest.raises(ValueError, match="missing column"):
        catalogue.read_catalogue(path)


def markdown_links(text: str) -> list[str]:
    """Targets of `[text](target)` links and of `<img src>`."""
    return re.findall(r"\]\(([^)\s]+)\)", text) + re.findall(r'src="([^"]+)"', text)


@pytest.mark.parametrize("path", DOC_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_docs_link_only_inside_the_repository(path):
    text = path.read_text(encoding="utf-8")
    assert "../shared" not in text
    broken = []
    for target in markdown_links(text):
        if re.match(r"[a-z]+:|#", target):
            continue
        resolved = (path.parent / target.split("#")[0]).resolve()
        if not resolved.is_relative_to(ROOT.resolve()) or not resolved.exists():
            broken.append(target)
    assert broken == []


def test_the_report_points_inside_the_repository():
    for path in REPORT_FILES:
        if path.suffix in (".py", ".j2", ".html", ".css"):
            text = path.read_text(encoding="utf-8")
            assert "../shared" not in text and "METRICS.md" not in text, path
    assert "docs/metrics.md" in i18n.text("footer", "en")
    assert "docs/metrics.md" in i18n.text("footer", "zh")


def reader_facing_words() -> list[tuple[str, str]]:
    """(where, text) of every string a reader sees: the docs, the report's words, the
    catalogue's names, formulas and sources."""
    words = [(str(path.relative_to(ROOT)), path.read_text(encoding="utf-8")) for path in DOC_FILES]
    for table in (i18n.STRINGS, i18n.LABELS):
        for key, languages in table.items():
            words += [(f"i18n {key} {lang}", value) for lang, value in languages.items()]
    for row in catalogue.read_catalogue():
        for column in ("name_en", "name_zh", "formula", "source"):
            words.append((f"catalogue {row['indicator_code']} {column}", row[column]))
    return words


def test_formulas_are_named_by_what_they_measure():
    found = [
        f"{where}: {match.group(0)!r}"
        for where, text in reader_facing_words()
        for match in DOCUMENT_NUMBER.finditer(text)
    ]
    assert found == []


def test_the_document_number_pattern_finds_what_it_must():
    """Negative control of the test above, on the wordings the report and docs used."""
    for wording in (
        "Retention (E−N)/E, seed 002",
        "留存率(E−N)/E(资料002)",
        "the seed-002 formula",
    ):
        assert DOCUMENT_NUMBER.search(wording), wording
    assert not DOCUMENT_NUMBER.search("variant `seed_002` of loyalty_indicators")


# --- names by join: the indicator marts carry codes, loyalty_indicator_catalogue the names ---

INDICATOR_MARTS = ("loyalty_indicators", "loyalty_benchmarks")


def dbt_manifest() -> dict:
    import json
    import os

    path = ROOT / os.environ.get("DBT_TARGET_PATH", "target") / "manifest.json"
    if not path.exists():
        pytest.fail(f"{path} is missing: run `make parse` (dbt parse) first")
    return json.loads(path.read_text(encoding="utf-8"))


def test_indicator_marts_carry_codes_and_the_catalogue_view_the_names():
    """No name or label column on loyalty_indicators or loyalty_benchmarks (their contracts
    are the columns they hold: a name put back fails here); the names are in the contracted
    view loyalty_indicator_catalogue over the seed, and a relationships test holds every code
    of both marts to it."""
    nodes = {n["name"]: n for n in dbt_manifest()["nodes"].values()}
    for name in INDICATOR_MARTS:
        node = nodes[name]
        assert node["config"]["contract"]["enforced"], name
        assert "indicator_code" in node["columns"], name
        assert [c for c in node["columns"] if "name" in c or "label" in c] == [], name
        assert "indicator_name_en" not in node["raw_code"], name
    view = nodes["loyalty_indicator_catalogue"]
    assert view["config"]["materialized"] == "view"
    assert view["config"]["contract"]["enforced"]
    assert view["depends_on"]["nodes"] == ["seed.loyalty_warehouse.indicator_catalogue"]
    assert {"indicator_code", "indicator_name_en", "indicator_name_zh", "indicator_group",
            "direction"} <= set(view["columns"])  # fmt: skip
    tested = {
        (n["attached_node"].split(".")[-1], n["column_name"], n["test_metadata"]["name"])
        for n in nodes.values()
        if n["resource_type"] == "test"
        and n.get("test_metadata")
        and "model.loyalty_warehouse.loyalty_indicator_catalogue" in n["depends_on"]["nodes"]
    }
    assert {
        ("loyalty_indicators", "indicator_code", "relationships"),
        ("loyalty_benchmarks", "indicator_code", "relationships"),
        ("loyalty_indicator_catalogue", "indicator_code", "unique"),
        ("loyalty_indicator_catalogue", "indicator_code", "not_null"),
    } <= tested
