"""The Dagster UI in a real browser: headless Chromium opens the global asset lineage page
(`/asset-groups`, "Lineage" in the side bar of Dagster 1.13) and the JavaScript app draws one
box for every asset group the server reports over GraphQL, visible in a screenshot.

`tests/test_ui.py` checks the lineage the server serves; this checks that a browser shows it.
The webserver runs on 127.0.0.1 on a free port in its own process group, with a throw-away
DAGSTER_HOME whose `nux: enabled: false` turns off the first-visit "Join the community"
dialog (it would cover the graph), and is stopped by its group id with no process left.

Without Chromium the test skips, unless WH_REQUIRE_BROWSER=1 (CI), where it fails.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from test_browser import decode_png, find_chromium
from test_ui import _free_port

from orchestration.settings import ROOT

WINDOW = (1600, 1000)
# The graph pane of /asset-groups at this window size: right of the navigation (240 px) and
# of the group tree (300 px), below the title and the search bar.
GRAPH_PANE = (slice(110, WINDOW[1]), slice(560, WINDOW[0]))
GROUPS_QUERY = "{ assetNodes { groupName isMaterializable } }"
STARTUP_TIMEOUT_S = 180
STOP_TIMEOUT_S = 30


@pytest.fixture(scope="module")
def browser() -> str:
    """Chromium's path; skips (or fails under WH_REQUIRE_BROWSER=1) when there is none."""
    path = find_chromium()
    if path is None:
        reason = "chromium is not on PATH (Debian: apt-get install chromium)"
        if os.environ.get("WH_REQUIRE_BROWSER") == "1":
            pytest.fail(f"WH_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    return path


def graphql(url: str, query: str) -> dict:
    request = urllib.request.Request(
        f"{url}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)["data"]


def group_ended(process: subprocess.Popen, timeout_s: float) -> bool:
    """Whether no process of the group `process` leads is left, polled for up to timeout_s
    (reaping the leader, which would otherwise linger as a zombie of this process)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        process.poll()
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.5)
    return False


def stop_group(process: subprocess.Popen) -> None:
    """SIGTERM to the webserver's group (it and its code server), SIGKILL to whatever is left
    after STOP_TIMEOUT_S; fails unless no process of the group remains."""
    os.killpg(process.pid, signal.SIGTERM)
    if not group_ended(process, STOP_TIMEOUT_S):
        os.killpg(process.pid, signal.SIGKILL)
        assert group_ended(process, STOP_TIMEOUT_S), f"group {process.pid} outlived SIGKILL"


@pytest.fixture(scope="module")
def ui(browser, tmp_path_factory):
    """(URL, groups of materialisable assets) of a webserver serving the definitions; asks
    for the browser first, so that nothing starts when the test would skip."""
    home = tmp_path_factory.mktemp("dagster_home")
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\nnux:\n  enabled: false\n")
    port = _free_port()
    executable = Path(sys.executable).parent / "dagster-webserver"
    process = subprocess.Popen(
        [str(executable), "-h", "127.0.0.1", "-p", str(port), "-m", "orchestration.definitions"],
        cwd=ROOT,
        env=os.environ | {"DAGSTER_HOME": str(home)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: stopped below by its id
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        groups: set[str] = set()
        while not groups:  # the server answers before its code location has loaded
            if process.poll() is not None:
                pytest.fail(f"dagster-webserver exited with {process.returncode}")
            if time.monotonic() > deadline:
                pytest.fail(f"no asset over GraphQL within {STARTUP_TIMEOUT_S} s")
            try:
                nodes = graphql(url, GROUPS_QUERY)["assetNodes"]
                groups = {n["groupName"] for n in nodes if n["isMaterializable"]}
            except OSError:
                pass
            time.sleep(1)
        yield url, groups
    finally:
        stop_group(process)


def chromium_capture(chromium: str, url: str, out: Path, profile: Path) -> tuple[str, Path]:
    """The DOM and a screenshot of `url` after 15 s of virtual time (the app is JavaScript:
    it loads, queries GraphQL and lays the graph out before anything is drawn)."""
    common = [
        chromium,
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        "--virtual-time-budget=15000",
    ]
    dom = subprocess.run(
        [*common, "--dump-dom", url], capture_output=True, text=True, timeout=180, check=False
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    shot = subprocess.run(
        [*common, f"--screenshot={out}", url],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert shot.returncode == 0 and out.exists(), shot.stderr[-2000:]
    return dom.stdout, out


def drawn_group_boxes(dom: str) -> set[str]:
    """Names in the graph's boxes: each asset group is a <foreignObject> of the lineage SVG."""
    boxes = re.findall(r"<foreignObject.*?</foreignObject>", dom, re.S)
    return {name for box in boxes for name in re.findall(r">([\w-]+)</div>", box)}


def graph_pane_ink(path: Path) -> tuple[int, float]:
    """Dark pixels (text and box borders) in the graph pane, and the pane's share of
    non-white pixels (near 1 when a dialog's grey overlay covers it)."""
    width, height, bpp, rows = decode_png(path)
    assert (width, height) == WINDOW
    pixels = np.frombuffer(b"".join(rows), dtype=np.uint8).reshape(height, width, bpp)
    pane = pixels[GRAPH_PANE][:, :, :3]
    dark = int((pane < 128).all(axis=2).sum())
    tinted = float((pane < 235).any(axis=2).mean())
    return dark, tinted


@pytest.mark.slow
def test_the_browser_draws_every_asset_group(browser, ui, tmp_path):
    url, groups = ui
    assert {"ingestion", "staging", "intermediate", "marts", "seeds"} <= groups
    page, profile = f"{url}/asset-groups", tmp_path / "profile"
    dom, shot = chromium_capture(browser, page, tmp_path / "lineage.png", profile)
    assert "Global asset lineage" in dom
    assert drawn_group_boxes(dom) == groups
    dark, tinted = graph_pane_ink(shot)
    assert dark > 300, f"only {dark} dark pixels in the graph pane: graph not drawn?"
    assert tinted < 0.2, f"{tinted:.0%} of the graph pane is tinted: a dialog covers it?"


def test_a_blank_page_fails_the_screenshot_checks(browser, tmp_path):
    """Negative control for the pixel checks: an empty page has no ink in the graph pane."""
    page = tmp_path / "blank.html"
    page.write_text("<!doctype html><title>blank</title><body></body>", encoding="utf-8")
    dom, shot = chromium_capture(browser, page.as_uri(), tmp_path / "blank.png", tmp_path / "p")
    assert drawn_group_boxes(dom) == set()
    dark, tinted = graph_pane_ink(shot)
    assert dark == 0 and tinted == 0.0
