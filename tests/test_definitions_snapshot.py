"""Every asset key, asset check, job, schedule and sensor, against a committed snapshot, so a
rename (which orphans a BI dashboard or a run history) cannot pass unnoticed.

After an intended change: `WH_UPDATE_SNAPSHOT=1 make test`, then review and commit
tests/snapshots/definitions.json.
"""

from __future__ import annotations

import json
import os

from orchestration.settings import ROOT

SNAPSHOT = ROOT / "tests" / "snapshots" / "definitions.json"


def current() -> dict[str, list[str]]:
    from orchestration.definitions import build_definitions

    defs = build_definitions(":memory:")
    graph = defs.resolve_asset_graph()
    return {
        "assets": sorted(key.to_user_string() for key in graph.get_all_asset_keys()),
        "asset_checks": sorted(
            f"{check.asset_key.to_user_string()}:{check.name}" for check in graph.asset_check_keys
        ),
        "jobs": sorted(job.name for job in defs.resolve_all_job_defs()),
        "schedules": sorted(s.name for s in defs.schedules or []),
        "sensors": sorted(s.name for s in defs.sensors or []),
    }


def test_definitions_match_the_snapshot():
    got = current()
    if os.environ.get("WH_UPDATE_SNAPSHOT") == "1":
        SNAPSHOT.write_text(json.dumps(got, indent=2, ensure_ascii=False) + "\n")
    expected = json.loads(SNAPSHOT.read_text())
    for kind in expected.keys() | got.keys():
        missing = sorted(set(expected.get(kind, [])) - set(got.get(kind, [])))
        added = sorted(set(got.get(kind, [])) - set(expected.get(kind, [])))
        assert not missing and not added, (
            f"{kind} changed: missing {missing}, new {added}; if intended, rerun with "
            "WH_UPDATE_SNAPSHOT=1 and commit tests/snapshots/definitions.json"
        )
