"""The Dagster UI serves the whole lineage: every raw table → staging → mart → Python asset."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from orchestration.contract import TABLES
from orchestration.settings import ROOT

QUERY = "{ assetNodes { assetKey { path } dependencyKeys { path } } }"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def webserver(tmp_path_factory):
    home = tmp_path_factory.mktemp("dagster_home")
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    port = _free_port()
    env = os.environ | {"DAGSTER_HOME": str(home)}
    executable = Path(sys.executable).parent / "dagster-webserver"
    proc = subprocess.Popen(
        [str(executable), "-h", "127.0.0.1", "-p", str(port), "-m", "orchestration.definitions"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group, stopped below by its id
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{url}/server_info", timeout=2):
                    break
            except OSError:
                time.sleep(1)
        else:
            pytest.fail("dagster-webserver did not answer within 120 s")
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def _asset_nodes(url: str) -> dict[tuple[str, ...], set[tuple[str, ...]]]:
    request = urllib.request.Request(
        f"{url}/graphql",
        data=json.dumps({"query": QUERY}).encode(),
        headers={"content-type": "application/json"},
    )
    deadline = time.monotonic() + 60
    while True:  # the code location may still be loading
        with urllib.request.urlopen(request, timeout=30) as response:
            nodes = json.load(response)["data"]["assetNodes"]
        if nodes or time.monotonic() > deadline:
            break
        time.sleep(1)
    return {
        tuple(n["assetKey"]["path"]): {tuple(d["path"]) for d in n["dependencyKeys"]} for n in nodes
    }


@pytest.mark.slow
def test_ui_shows_lineage_from_every_raw_table_to_the_python_asset(webserver):
    nodes = _asset_nodes(webserver)
    for t in TABLES:
        assert ("raw", t.name) in nodes[(f"stg_{t.source}__{t.name}",)], t.name
    assert ("stg_crm__customers",) in nodes[("dim_customers",)]
    assert ("customer_concentration_summary",) in nodes[("analytics", "customer_concentration")]
