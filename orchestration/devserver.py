"""Run a long-lived command (`make dev`: dagster dev) so that Ctrl-C and SIGTERM stop it and
everything it started.

Why a wrapper: a process started in the background by a non-interactive shell (`make dev &`,
a CI step, a service script) inherits SIGINT *ignored*, and dagster dev maps SIGTERM onto its
SIGINT handler, so it ignored both, and its webserver, daemon and code servers outlived
`kill`. Here the command runs in its own process group with the default SIGINT, SIGTERM and
SIGHUP restored; SIGINT, SIGTERM and SIGHUP received by the wrapper are passed on as SIGINT
(dagster dev's clean shutdown of its webserver and daemon), a second one as SIGTERM to the
whole group; whatever is still in the group when the command has exited, or after
`--grace-seconds`, is terminated, then killed.

    python -m orchestration.devserver [--grace-seconds 20] -- dagster dev -p 3000 ...
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

# Signals that ask the wrapper to stop the command.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
# dagster dev waits up to 10 s for each of its two services after the SIGINT.
GRACE_SECONDS = 25.0
# How long the group has after SIGTERM before SIGKILL, and how often it is looked at.
TERMINATE_SECONDS = 5.0
POLL_SECONDS = 0.1
# Exit statuses of a command that stopped because it was asked to (exited, or died of it).
STOPPED_CLEANLY = frozenset({0, 130, 143, -signal.SIGINT, -signal.SIGTERM})


def group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of process group `pgid`, from /proc; elsewhere, [pgid] while
    the group can still be signalled."""
    proc = Path("/proc")
    if not proc.is_dir():
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return []
        return [pgid]
    members = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # exited while we looked
            continue
        # pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            members.append(int(entry.name))
    return members


def signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def wait_group_empty(pgid: int, seconds: float) -> bool:
    """True once no live process is left in the group, False if some are after `seconds`."""
    deadline = time.monotonic() + seconds
    while group_members(pgid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL_SECONDS)
    return True


def stop_group(pgid: int) -> None:
    """Terminate, then kill, what is left of the group."""
    if wait_group_empty(pgid, 0):
        return
    signal_group(pgid, signal.SIGTERM)
    if not wait_group_empty(pgid, TERMINATE_SECONDS):
        signal_group(pgid, signal.SIGKILL)
        wait_group_empty(pgid, TERMINATE_SECONDS)


def _restore_default_signals() -> None:
    """In the child before exec: undo an inherited `ignore` (background start)."""
    for signum in STOP_SIGNALS:
        signal.signal(signum, signal.SIG_DFL)


def run(command: Sequence[str], grace_seconds: float = GRACE_SECONDS) -> int:
    """Run `command` until it exits or the wrapper is asked to stop; return its exit status
    (128 + signal if a signal ended it), or 0 when it stopped as it was asked to."""
    received: list[int] = []
    started: list[subprocess.Popen] = []

    def on_stop(signum: int, _frame: object) -> None:
        received.append(signum)
        if not started:
            return  # passed on as soon as the command has started
        if len(received) == 1:
            started[0].send_signal(signal.SIGINT)
        else:
            signal_group(started[0].pid, signal.SIGTERM)

    for signum in STOP_SIGNALS:
        signal.signal(signum, on_stop)
    child = subprocess.Popen(
        list(command),
        process_group=0,
        preexec_fn=_restore_default_signals,
    )
    pgid = child.pid
    started.append(child)
    if received:
        child.send_signal(signal.SIGINT)
    try:
        while not received:
            try:
                returncode = child.wait(timeout=POLL_SECONDS)
                break
            except subprocess.TimeoutExpired:
                continue
        else:
            try:
                returncode = child.wait(timeout=grace_seconds)
            except subprocess.TimeoutExpired:
                stop_group(pgid)
                returncode = child.wait()
    finally:
        stop_group(pgid)
    if received and returncode in STOPPED_CLEANLY:
        return 0
    return 128 - returncode if returncode < 0 else returncode


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grace-seconds", type=float, default=GRACE_SECONDS)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given (python -m orchestration.devserver -- COMMAND ...)")
    return run(command, args.grace_seconds)


if __name__ == "__main__":
    sys.exit(main())
