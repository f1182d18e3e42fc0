"""Backfills: the Python stages for a range of days in one Dagster run through the
instance with the chosen executor, then the dbt marts once at the end."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

from dagster import (
    DagsterEventType,
    DagsterInstance,
    JobDefinition,
    build_reconstructable_job,
    execute_job,
)
from dagster._core.definitions.reconstruct import ReconstructableJob
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)

from cptflow.orchestration.definitions import build_definitions
from cptflow.orchestration.executors import (
    EXECUTOR_ENV,
    ensure_instance_settings,
    select_executor,
)
from cptflow.orchestration.jobs import BACKFILL_JOB, MARTS_JOB
from cptflow.orchestration.partitions import DayRange
from cptflow.orchestration.runner import PartitionRun, failure_reasons
from cptflow.orchestration.settings import Paths, prepare_dagster_home

log = logging.getLogger(__name__)
BACKFILL_TAG = "cptflow/backfill"
STEP_EVENTS = {DagsterEventType.STEP_START, DagsterEventType.STEP_SUCCESS}


@dataclass
class BackfillReport:
    """What a backfill did: the run of its days, the marts run and time per step.

    Attributes:
        backfill_id: the tag shared by the backfill's runs (`cptflow/backfill`).
        runs: one entry per run of consecutive days, oldest first.
        marts: the closing dbt run, None when skipped or no day succeeded.
        step_seconds: seconds per step key, summed over the runs.
        seconds: wall time of the whole backfill.
    """

    backfill_id: str
    runs: list[PartitionRun] = field(default_factory=list)
    marts: PartitionRun | None = None
    step_seconds: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def success(self) -> bool:
        """Whether every day and the marts run succeeded."""
        runs = [*self.runs, *([self.marts] if self.marts else [])]
        return all(r.success for r in runs)


def reconstruct_job(
    job_name: str,
    *,
    db: str,
    inbox: str,
    remits: str,
    claims_out: str,
    assign_partition: bool,
    executor: str,
) -> JobDefinition:
    """Build a job of the code location for the given paths, in any process.

    Step processes call this to rebuild the job, so everything it needs arrives
    as arguments, never from the environment of a long-lived forkserver.
    """
    base = Paths.from_env(db=Path(db))
    paths = replace(
        base, inbox=Path(inbox), remits=Path(remits), claims_out=Path(claims_out)
    )
    defs = build_definitions(
        paths,
        assign_partition=assign_partition,
        executor=select_executor({EXECUTOR_ENV: executor}),
    )
    return defs.resolve_job_def(job_name)


def run_backfill(
    paths: Paths,
    days: Iterable[date],
    *,
    executor: str = "multiprocess",
    assign_partition: bool = False,
    with_marts: bool = True,
    log_level: str = "CRITICAL",
) -> BackfillReport:
    """Run the backfill job once over the days, then the marts once.

    The stage assets have a single-run backfill policy: one run materializes a
    whole range of days, each step starting once and replacing the rows of every
    day of the range (days that are not consecutive take one run per stretch).
    Steps that do not depend on each other run at once under `executor` and hold
    the DuckDB file only for short connections, which the warehouse resource
    retries while another holds it. The whole-history dbt marts are built once at
    the end, not once per day.
    """
    prepare_dagster_home(paths.dagster_home)
    ensure_instance_settings(paths.dagster_home)
    report = BackfillReport(backfill_id=uuid.uuid4().hex[:8])
    started = time.perf_counter()
    kwargs = {
        "db": str(paths.db),
        "inbox": str(paths.inbox),
        "remits": str(paths.remits),
        "claims_out": str(paths.claims_out),
        "assign_partition": assign_partition,
    }
    job = _job(BACKFILL_JOB, {**kwargs, "executor": executor})

    # Stretches run one after another: DuckDB takes one writer per file.
    last_done: date | None = None
    with DagsterInstance.get() as instance:
        for stretch in consecutive_ranges(days):
            run = _execute(instance, job, stretch, report, log_level)
            report.runs.append(run)
            last_done = stretch.last if run.success else last_done
    if with_marts and last_done is not None:
        marts = _job(MARTS_JOB, {**kwargs, "executor": "in_process"})
        last = DayRange.single(last_done)
        with DagsterInstance.get() as instance:
            report.marts = _execute(instance, marts, last, report, log_level)
    report.seconds = time.perf_counter() - started
    return report


def consecutive_ranges(days: Iterable[date]) -> list[DayRange]:
    """The days as stretches of consecutive days, oldest first."""
    ranges: list[DayRange] = []
    for day in sorted(set(days)):
        if ranges and (day - ranges[-1].last).days == 1:
            ranges[-1] = DayRange(ranges[-1].first, day)
        else:
            ranges.append(DayRange.single(day))
    return ranges


def _job(name: str, kwargs: dict[str, object]) -> ReconstructableJob:
    """A reconstructable job, rebuilt in each step process from `kwargs`."""
    return build_reconstructable_job(
        __name__,
        "reconstruct_job",
        reconstructable_args=(name,),
        reconstructable_kwargs=kwargs,
    )


def _execute(
    instance: DagsterInstance,
    job: ReconstructableJob,
    days: DayRange,
    report: BackfillReport,
    log_level: str,
) -> PartitionRun:
    """Execute one run over `days` and add its step times to the report."""
    tags = {BACKFILL_TAG: report.backfill_id}
    if days.is_single_day:
        tags["dagster/partition"] = days.first.isoformat()
    else:
        # The tags the Dagster daemon gives a single-run backfill of a range.
        tags[ASSET_PARTITION_RANGE_START_TAG] = days.first.isoformat()
        tags[ASSET_PARTITION_RANGE_END_TAG] = days.last.isoformat()
    run_config = {"loggers": {"console": {"config": {"log_level": log_level}}}}
    with execute_job(job, instance, run_config=run_config, tags=tags) as result:
        _add_step_seconds(instance, result.run_id, report.step_seconds)
        log.info("backfill %s: %s %s", report.backfill_id, days, result.success)
        return PartitionRun(
            partition_key=str(days),
            success=result.success,
            failures=failure_reasons(result),
            day_count=len(days.days),
        )


def _add_step_seconds(
    instance: DagsterInstance, run_id: str, totals: dict[str, float]
) -> None:
    """Sum each step's start-to-success time into `totals`."""
    started: dict[str, float] = {}
    for entry in instance.all_logs(run_id, of_type=STEP_EVENTS):
        step = entry.step_key or ""
        if entry.dagster_event_type == DagsterEventType.STEP_START:
            started[step] = entry.timestamp
        elif step in started:
            totals[step] = totals.get(step, 0.0) + entry.timestamp - started[step]
