"""Schedules: the daily coding run and the weekly denial report."""

from __future__ import annotations

import os
from datetime import timedelta

from dagster import (
    DefaultScheduleStatus,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    schedule,
)

from cptflow.orchestration.jobs import DAILY_JOB, REPORT_JOB

# Local time of the coding team; schedules fire in it, partitions are calendar days.
TIMEZONE = os.environ.get("CPTFLOW_TIMEZONE", "UTC")


@schedule(
    cron_schedule="0 6 * * *",
    job_name=DAILY_JOB,
    execution_timezone=TIMEZONE,
    default_status=DefaultScheduleStatus.RUNNING,
    description="06:00 every day: code what was received the day before.",
)
def daily_coding_schedule(context: ScheduleEvaluationContext) -> RunRequest:
    """Yesterday's partition: its documents are all in by the early morning."""
    day = (context.scheduled_execution_time - timedelta(days=1)).date()
    return RunRequest(
        run_key=f"daily:{day.isoformat()}",
        partition_key=day.isoformat(),
        tags={"cptflow/trigger": "daily_schedule"},
    )


@schedule(
    cron_schedule="0 7 * * 1",
    job_name=REPORT_JOB,
    execution_timezone=TIMEZONE,
    default_status=DefaultScheduleStatus.RUNNING,
    description="07:00 every Monday: the denial pattern report.",
)
def weekly_denial_report_schedule(context: ScheduleEvaluationContext) -> RunRequest:
    """One report run a week, after the weekend's remittances are posted."""
    week = context.scheduled_execution_time.date().isoformat()
    return RunRequest(run_key=f"weekly:{week}", tags={"cptflow/trigger": "weekly"})


def build_schedules(*, has_report: bool) -> list[ScheduleDefinition]:
    """The schedules; the weekly one only when the report asset exists."""
    schedules: list[ScheduleDefinition] = [daily_coding_schedule]
    if has_report:
        schedules.append(weekly_denial_report_schedule)
    return schedules
