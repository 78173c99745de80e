"""The landing sensor, the daily schedule and the freshness checks of what BI reads.

The sensor never opens the warehouse (a refresh may hold DuckDB's single write lock); it
compares the landing directory with what it saw on its previous tick, kept in its cursor.
A file is only ready once its size and modification time have stayed the same for one
whole tick, so a file still being copied is not picked up half-written.
"""

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

from dagster import (
    AssetCheckSeverity,
    AssetKey,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    RunRequest,
    ScheduleDefinition,
    SensorDefinition,
    SensorEvaluationContext,
    SkipReason,
    build_last_update_freshness_checks,
    build_sensor_for_freshness_checks,
    sensor,
)

from .contract import TABLE_NAMES
from .ingest import DROP_NAME, WIDE_SURVEY_FOLDER, WIDE_SURVEY_TABLES, is_partial
from .settings import Settings


def snapshot(landing: Path) -> dict[str, list[float]]:
    """{"<table>/<file>": [size, mtime]} of every candidate drop file."""
    seen: dict[str, list[float]] = {}
    for table_name in (*TABLE_NAMES, WIDE_SURVEY_FOLDER):
        folder = landing / table_name
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            if path.is_file() and not is_partial(path.name) and DROP_NAME.match(path.name):
                stat = path.stat()
                seen[f"{table_name}/{path.name}"] = [stat.st_size, stat.st_mtime]
    return seen


def ready_changes(
    current: dict[str, list[float]], cursor: dict
) -> tuple[list[str], dict[str, object]]:
    """Files that changed since they were last launched and are stable, and the next cursor.

    cursor = {"pending": snapshot of the previous tick, "launched": snapshot last launched}.
    """
    pending = cursor.get("pending", {})
    launched = cursor.get("launched", {})
    ready = sorted(
        f for f, state in current.items() if launched.get(f) != state and pending.get(f) == state
    )
    new_launched = dict(launched) | {f: current[f] for f in ready}
    return ready, {"pending": current, "launched": new_launched}


def build_landing_sensor(job_name: str, downstream: list[AssetKey], settings: Settings):
    """Launch ingestion of the tables that received stable new files in
    `settings.landing_dir`, plus everything downstream of ingestion."""

    @sensor(
        name="landing_sensor",
        job_name=job_name,
        minimum_interval_seconds=settings.sensor_interval_seconds,
        default_status=DefaultSensorStatus.STOPPED,
        description="Watches the landing directory; launches a refresh for tables with new "
        "drop files once they have stopped changing.",
    )
    def landing_sensor(context: SensorEvaluationContext):
        cursor = json.loads(context.cursor) if context.cursor else {}
        ready, next_cursor = ready_changes(snapshot(settings.landing_dir), cursor)
        context.update_cursor(json.dumps(next_cursor, sort_keys=True))
        if not ready:
            return SkipReason("no new stable drop files")
        tables = sorted(
            {
                table
                for folder in {f.split("/")[0] for f in ready}
                for table in (WIDE_SURVEY_TABLES if folder == WIDE_SURVEY_FOLDER else (folder,))
            }
        )
        run_key = hashlib.sha256(
            json.dumps({f: next_cursor["pending"][f] for f in ready}).encode()
        ).hexdigest()
        return RunRequest(
            run_key=run_key,
            asset_selection=[AssetKey(["raw", t]) for t in tables] + downstream,
            tags={"landing/files": ", ".join(ready)[:1000]},
        )

    return landing_sensor


def build_daily_schedule(job_name: str, settings: Settings) -> ScheduleDefinition:
    """The daily (incremental) refresh, default 06:00 Asia/Shanghai (`schedule_cron`,
    `schedule_timezone`)."""
    return ScheduleDefinition(
        name="daily_refresh",
        job_name=job_name,
        cron_schedule=settings.schedule_cron,
        execution_timezone=settings.schedule_timezone,
        default_status=DefaultScheduleStatus.STOPPED,
        description="The incremental refresh every day: new landing files, the changed rows of "
        "the incremental facts, every other model, every check.",
    )


def build_mart_freshness(assets: Sequence, settings: Settings) -> tuple[list, SensorDefinition]:
    """Freshness checks on what BI reads (the publish, the report and the headline marts): a
    warning when an asset was last refreshed more than `mart_freshness_hours` (default 26:
    a daily refresh plus two hours) ago, and the sensor that evaluates them (off by default,
    like the schedule)."""
    hours = settings.mart_freshness_hours
    checks = list(
        build_last_update_freshness_checks(
            assets=list(assets),
            lower_bound_delta=dt.timedelta(hours=hours),
            severity=AssetCheckSeverity.WARN,
        )
    )
    sensor = build_sensor_for_freshness_checks(
        freshness_checks=checks, name="mart_freshness_sensor"
    )
    return checks, sensor


def build_weekly_actions_schedule(job_name: str, settings: Settings) -> ScheduleDefinition:
    """The weekly action lists of the account managers (docs/actions.md), default Monday
    07:00 Asia/Shanghai, an hour after the daily refresh (`actions_cron`,
    `schedule_timezone`)."""
    return ScheduleDefinition(
        name="weekly_action_lists",
        job_name=job_name,
        cron_schedule=settings.actions_cron,
        execution_timezone=settings.schedule_timezone,
        default_status=DefaultScheduleStatus.STOPPED,
        description="Each account manager's action list for the week: files, optional "
        "e-mail, outcomes of past actions; then the BI copy is published again.",
    )
