"""Faults end cleanly and bad settings stop a run before any step (issue 17, items 9 and 10).

- `WH_AS_OF` is a real date inside the dbt calendar and not in the future (unless allowed),
  checked before anything runs;
- an empty configured landing folder is an error, never filled with demo data;
- killing `python -m orchestration.run` stops its dbt child and releases the DuckDB lock;
- a run left STARTED by a process that is gone is marked failed at the next start.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from dagster import DagsterInstance, DagsterRunStatus
from dagster._core.storage.dagster_run import DagsterRun

from orchestration import run as run_module
from orchestration.settings import ROOT, AsOfError, Settings
from orchestration.synthetic import generate

TODAY = dt.date(2026, 12, 6)
WAIT_SECONDS = 120  # upper bound of every wait; never reached when all is well
# A killed run's processes are gone within this: the grace of orchestration.run, and margin.
STOP_SECONDS = 30


# -- as_of -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2026-13-45", "is not a date"),
        ("2026-02-30", "is not a date"),
        ("30/06/2026", "is not a date"),
        ("2031-01-01", "outside the dbt calendar 1990-01-01 .. 2030-12-31"),
        ("1989-12-31", "outside the dbt calendar"),
        ("2026-12-07", "is in the future (today is 2026-12-06)"),
    ],
)
def test_bad_as_of_is_a_clear_error(text, message):
    with pytest.raises(AsOfError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Settings.from_env({"WH_AS_OF": text}, today=TODAY)


def test_good_as_of_and_the_settings_that_widen_it():
    def as_of(text: str, **env: str) -> dt.date | None:
        return Settings.from_env({"WH_AS_OF": text, **env}, today=TODAY).as_of

    assert as_of("2026-06-30") == dt.date(2026, 6, 30)
    assert as_of("2026-12-06") == TODAY
    assert as_of("2027-03-31", WH_AS_OF_ALLOW_FUTURE="1") == dt.date(2027, 3, 31)
    with pytest.raises(AsOfError, match="outside the dbt calendar"):
        as_of("2031-01-01", WH_AS_OF_ALLOW_FUTURE="1")  # the calendar still ends the spine
    with pytest.raises(AsOfError, match=r"outside the dbt calendar 1990-01-01 \.\. 2026-12-31"):
        as_of(
            "2027-03-31",
            WH_AS_OF_ALLOW_FUTURE="1",
            WH_DBT_VARS='{"calendar_end_date": "2026-12-31"}',
        )
    # an as_of given as a dbt var is checked the same way, and WH_AS_OF wins over it
    with pytest.raises(AsOfError, match="is not a date"):
        Settings.from_env({"WH_DBT_VARS": '{"as_of": "30/06/2026"}'}, today=TODAY)
    both = {"WH_AS_OF": "2026-06-30", "WH_DBT_VARS": '{"as_of": "2025-06-30"}'}
    assert Settings.from_env(both, today=TODAY).dbt_vars["as_of"] == "2026-06-30"


def _run_command(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    """`python -m orchestration.run` with its own Dagster home and warehouse under tmp_path."""
    home = tmp_path / "dagster_home"
    home.mkdir(exist_ok=True)
    environment = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "WH_DUCKDB_PATH": str(tmp_path / "warehouse" / "warehouse.duckdb"),
        "PYTHONPATH": str(ROOT),
        **env,
    }
    if "WH_AS_OF" not in env:
        environment.pop("WH_AS_OF", None)
    return subprocess.run(
        [sys.executable, "-m", "orchestration.run"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=WAIT_SECONDS,
    )


@pytest.mark.parametrize(
    ("as_of", "message"),
    [
        ("2026-13-45", "WH_AS_OF='2026-13-45' is not a date"),
        ("2099-01-01", "WH_AS_OF=2099-01-01 is outside the dbt calendar"),
    ],
)
def test_run_refuses_a_bad_as_of_before_any_step(tmp_path, as_of, message):
    landing = tmp_path / "landing"
    (landing / "customers").mkdir(parents=True)
    (landing / "customers" / "2026-10-01.csv").write_text("customer_id\nC1\n")
    done = _run_command(tmp_path, WH_AS_OF=as_of, WH_LANDING_DIR=str(landing))
    assert done.returncode == 2, done.stderr[-2000:]
    assert message in done.stderr
    assert not (tmp_path / "warehouse").exists()  # no step ran: not even ingestion
    assert not list((tmp_path / "dagster_home").rglob("*.db"))  # no Dagster run either


# -- landing -----------------------------------------------------------------------------------


@pytest.mark.parametrize("read_only", [False, True])
def test_run_refuses_an_empty_configured_landing_folder(tmp_path, read_only):
    landing = tmp_path / "exports"
    landing.mkdir()
    if read_only:
        landing.chmod(0o555)  # an empty read-only mount
    try:
        done = _run_command(tmp_path, WH_LANDING_DIR=str(landing))
    finally:
        landing.chmod(0o755)
    assert done.returncode == 2, done.stderr[-2000:]
    assert f"the landing folder {landing} (WH_LANDING_DIR) has no files" in done.stderr
    assert f"make demo WH_LANDING_DIR={landing}" in done.stderr
    assert "OSError" not in done.stderr
    assert list(landing.iterdir()) == []  # no demo firm written into it
    assert not (tmp_path / "warehouse").exists()


def test_check_landing_names_the_default_folder_differently(tmp_path):
    with pytest.raises(run_module.LandingError, match="does not exist: put the exports there"):
        run_module.check_landing(tmp_path / "missing")
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "2026-01-01.csv").write_text("x\n")
    run_module.check_landing(tmp_path)  # a file somewhere below: fine


def test_make_demo_data_never_fills_a_configured_landing_folder(tmp_path):
    if subprocess.run(["make", "-q", "install"], cwd=ROOT, capture_output=True).returncode:
        pytest.skip("the virtual environment is not installed from this lock file")
    landing = tmp_path / "exports"
    landing.mkdir()
    done = subprocess.run(
        ["make", "-s", "demo-data", f"WH_LANDING_DIR={landing}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=WAIT_SECONDS,
    )
    assert done.returncode == 0, done.stderr
    assert "is configured: no demo data generated there" in done.stdout
    assert list(landing.iterdir()) == []


# -- runs left STARTED -------------------------------------------------------------------------


def test_a_started_run_whose_process_is_gone_is_marked_failed(tmp_path):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    alive = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)", "orchestration.run"]
    )
    host = socket.gethostname()
    tags = {
        "dead": {run_module.PID_TAG: str(gone.pid), run_module.HOST_TAG: host},
        "alive": {run_module.PID_TAG: str(alive.pid), run_module.HOST_TAG: host},
        "other_host": {run_module.PID_TAG: str(gone.pid), run_module.HOST_TAG: host + "-x"},
        "not_ours": {},  # started elsewhere (dagster dev): its daemon watches it
    }
    try:
        with DagsterInstance.ephemeral(tempdir=str(tmp_path)) as instance:
            for run_id, run_tags in tags.items():
                instance.add_run(
                    DagsterRun(
                        job_name="full_refresh",
                        run_id=run_id,
                        status=DagsterRunStatus.STARTED,
                        tags=run_tags,
                    )
                )
            assert run_module.fail_orphaned_runs(instance) == ["dead"]
            status = {r: instance.get_run_by_id(r).status for r in tags}
            assert run_module.fail_orphaned_runs(instance) == []  # once only
    finally:
        alive.kill()
        alive.wait()
    assert status == {
        "dead": DagsterRunStatus.FAILURE,
        "alive": DagsterRunStatus.STARTED,
        "other_host": DagsterRunStatus.STARTED,
        "not_ours": DagsterRunStatus.STARTED,
    }


# -- killing a run -----------------------------------------------------------------------------


def _processes() -> dict[int, tuple[int, int, str]]:
    """pid -> (parent pid, process group, command line) of every process we can see."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] != "Z":
            found[int(entry.name)] = (int(fields[1]), int(fields[2]), cmdline)
    return found


def _family(pid: int) -> dict[int, str]:
    """pid -> command line of every descendant of `pid`."""
    procs = _processes()
    found: dict[int, str] = {}
    frontier = {pid}
    while frontier:
        frontier = {p for p, (ppid, _g, _c) in procs.items() if ppid in frontier} - set(found)
        found.update({p: procs[p][2] for p in frontier})
    return found


def _wait_for(condition, what: str, seconds: float = WAIT_SECONDS):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads processes from /proc")
def test_killing_the_run_stops_dbt_and_releases_the_lock(tmp_path):
    landing, database = tmp_path / "landing", tmp_path / "warehouse" / "warehouse.duckdb"
    generate(landing, tmp_path / "truth", customers=40, years=1, seed=5, progress=False)
    home = tmp_path / "dagster_home"
    home.mkdir()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "WH_DUCKDB_PATH": str(database),
        "WH_LANDING_DIR": str(landing),
        "PYTHONPATH": str(ROOT),
    }
    env.pop("WH_AS_OF", None)
    runner = subprocess.Popen(
        [sys.executable, "-m", "orchestration.run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:

        def dbt_building() -> dict[int, str]:
            family = _family(runner.pid)
            if any("dbt" in cmd and " build" in cmd for cmd in family.values()):
                return family
            return {}

        family = _wait_for(dbt_building, "dbt build to start", 900)
        runner.kill()  # SIGKILL: the run process gets no chance to clean up
        runner.wait()
        # dbt and every other process of the run end within seconds, not when dbt is done
        _wait_for(
            lambda: not set(family) & set(_processes()),
            "every process of the run (dbt included) to end",
            STOP_SECONDS,
        )
    finally:
        runner.kill()
        runner.wait()
    with duckdb.connect(str(database)) as con:  # the lock is released: a writer may open it
        assert con.execute("select count(*) from raw.customers").fetchone()[0] == 40
    with DagsterInstance.from_config(str(home)) as instance:
        run_module.fail_orphaned_runs(instance)  # what the next `make run` does first
        statuses = [r.status for r in instance.get_runs()]
    assert len(statuses) == 1
    assert statuses[0] in (DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED)


def test_the_supervisor_stops_its_group_on_sigterm(tmp_path):
    """SIGTERM to the run process: the worker's group (here a stand-in child) gets SIGTERM."""
    script = tmp_path / "worker.py"
    script.write_text(
        "import subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])\n"
        "print(child.pid, flush=True)\n"
        "time.sleep(120)\n"
    )
    code = (
        "import subprocess, sys\n"
        "from orchestration import run\n"
        "real = subprocess.Popen\n"
        "subprocess.Popen = lambda args, **kw: real([sys.executable, sys.argv[1]], **kw)\n"
        "sys.exit(run._supervise('full_refresh'))\n"
    )
    supervisor = subprocess.Popen(
        [sys.executable, "-c", code, str(script)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        grandchild = int(supervisor.stdout.readline())
        supervisor.send_signal(signal.SIGTERM)
        assert supervisor.wait(timeout=WAIT_SECONDS) == 130
        _wait_for(lambda: grandchild not in _processes(), "the worker's child to end")
    finally:
        supervisor.kill()
        supervisor.wait()


def test_dagster_definitions_refuse_a_bad_as_of_when_they_load():
    """`make dev` and its schedule and sensor runs: the code location fails to load with the
    reason, instead of a job failing inside dbt after ingestion."""
    done = subprocess.run(
        [sys.executable, "-c", "import orchestration.project"],
        cwd=ROOT,
        env={**os.environ, "WH_AS_OF": "2026-13-45", "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=WAIT_SECONDS,
    )
    assert done.returncode == 1
    assert "AsOfError: WH_AS_OF='2026-13-45' is not a date" in done.stderr
