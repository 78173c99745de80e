"""dbt's unit tests (the hand-computed formula checks of every indicator model).

The Dagster jobs leave them out of their `dbt build` (orchestration/assets/dbt.py): they check
the models' SQL on fixed rows, not the day's data. They run here, on a copy of the session's
end-to-end warehouse (dbt reads the column types of a unit-tested model's inputs from the
database), and every one of the project's unit tests must run and pass.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest


@pytest.mark.slow
def test_every_dbt_unit_test_passes(built_warehouse, tmp_path, dbt_subprocess):
    copy = tmp_path / "db" / Path(built_warehouse).name  # same file name: same catalog name
    copy.parent.mkdir()
    shutil.copy(built_warehouse, copy)
    target = tmp_path / "target"
    result = dbt_subprocess(
        ["test", "--select", "test_type:unit", "--threads", "2"], copy, tmp_path
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    manifest = json.loads((target / "manifest.json").read_text())
    expected = {
        unique_id
        for unique_id, node in manifest["unit_tests"].items()
        if node.get("config", {}).get("enabled", True)
    }
    run = json.loads((target / "run_results.json").read_text())["results"]
    passed = {r["unique_id"] for r in run if r["status"] == "pass"}
    assert len(expected) >= 50  # one or more per indicator model
    assert passed == expected
