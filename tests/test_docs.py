"""Every table a BI user or an analyst reads is documented: each mart (models/marts/) and each
seed has a description, and so has every one of its columns; every mart enforces its contract.

Read from dbt's manifest (`make test` runs `dbt parse` first), so this is what `dbt docs`
shows. A mart's YAML columns are all its columns: the enforced contract fails the build when
the SQL returns a column the YAML lacks. A seed's columns are the header of its CSV file,
which dbt does not check against the YAML, so they are read from the file.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest

from orchestration.settings import ROOT

MARTS_FOLDER = "models/marts/"


def manifest_path() -> Path:
    """`target/manifest.json`, or under DBT_TARGET_PATH (relative to the project) when set."""
    return ROOT / os.environ.get("DBT_TARGET_PATH", "target") / "manifest.json"


def seed_header(node: dict) -> list[str]:
    path = Path(node["root_path"]) / node["original_file_path"]
    with path.open(encoding="utf-8", newline="") as handle:
        return next(csv.reader(handle))


def documentation_gaps(manifest: dict) -> list[str]:
    """One line per gap: an undescribed mart or seed, an undescribed or undeclared column, a
    mart without an enforced contract."""
    gaps = []
    for node in sorted(manifest["nodes"].values(), key=lambda n: n["original_file_path"]):
        is_mart = node["resource_type"] == "model" and node["original_file_path"].startswith(
            MARTS_FOLDER
        )
        is_seed = node["resource_type"] == "seed"
        if not (is_mart or is_seed):
            continue
        where = f"{node['resource_type']} {node['name']} ({node['original_file_path']})"
        if not node.get("description", "").strip():
            gaps.append(f"{where}: no description")
        declared = node.get("columns", {})
        if is_mart:
            if not node.get("contract", {}).get("enforced"):
                gaps.append(f"{where}: contract not enforced")
            if not declared:
                gaps.append(f"{where}: no columns declared")
            names = list(declared)
        else:
            names = seed_header(node)
        for name in names:
            column = declared.get(name) or declared.get(name.lower())
            if column is None:
                gaps.append(f"{where}: column {name} is not in the YAML")
            elif not column.get("description", "").strip():
                gaps.append(f"{where}: column {name} has no description")
    return gaps


@pytest.fixture(scope="module")
def manifest() -> dict:
    path = manifest_path()
    if not path.exists():
        pytest.fail(f"{path} is missing: run `make parse` (dbt parse) first")
    return json.loads(path.read_text(encoding="utf-8"))


def test_every_mart_and_seed_and_column_is_described(manifest):
    gaps = documentation_gaps(manifest)
    assert not gaps, "undocumented:\n" + "\n".join(gaps)


def test_the_project_has_marts_and_seeds_to_check(manifest):
    """Guards the test above against passing on an empty selection (a moved folder)."""
    kinds = [
        n["resource_type"]
        for n in manifest["nodes"].values()
        if n["resource_type"] == "seed" or n["original_file_path"].startswith(MARTS_FOLDER)
    ]
    assert kinds.count("model") >= 20
    assert kinds.count("seed") >= 5


def test_gaps_are_found_and_named(tmp_path):
    """Negative control on a hand-made manifest: each kind of gap is reported by name."""
    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds" / "weights.csv").write_text("code,weight,note\nA1,0.5,x\n")

    def column(name: str, description: str) -> tuple[str, dict]:
        return name, {"name": name, "description": description}

    nodes = {
        "model.p.fct_good": {
            "resource_type": "model",
            "name": "fct_good",
            "original_file_path": "models/marts/core/fct_good.sql",
            "description": "Good.",
            "contract": {"enforced": True},
            "columns": dict([column("id", "Key.")]),
        },
        "model.p.fct_bad": {
            "resource_type": "model",
            "name": "fct_bad",
            "original_file_path": "models/marts/core/fct_bad.sql",
            "description": " ",
            "contract": {"enforced": False},
            "columns": dict([column("id", "Key."), column("amount", "")]),
        },
        "model.p.int_free": {
            "resource_type": "model",
            "name": "int_free",
            "original_file_path": "models/intermediate/int_free.sql",
            "description": "",
            "contract": {"enforced": False},
            "columns": {},
        },
        "seed.p.weights": {
            "resource_type": "seed",
            "name": "weights",
            "root_path": str(tmp_path),
            "original_file_path": "seeds/weights.csv",
            "description": "Weights.",
            "columns": dict([column("code", "Code."), column("weight", "")]),
        },
    }
    assert documentation_gaps({"nodes": nodes}) == [
        "model fct_bad (models/marts/core/fct_bad.sql): no description",
        "model fct_bad (models/marts/core/fct_bad.sql): contract not enforced",
        "model fct_bad (models/marts/core/fct_bad.sql): column amount has no description",
        "seed weights (seeds/weights.csv): column weight has no description",
        "seed weights (seeds/weights.csv): column note is not in the YAML",
    ]


def test_unit_test_names_fit_postgres_identifiers(manifest):
    """dbt names a unit test's temporary relation after the test: PostgreSQL refuses
    identifiers longer than 63 bytes (the unit test errors there, and only there)."""
    too_long = [node["name"] for node in manifest["unit_tests"].values() if len(node["name"]) > 63]
    assert manifest["unit_tests"]
    assert too_long == []
