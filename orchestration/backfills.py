"""Backfills: the Python stages for a range of days, one run per day through the
Dagster instance with the chosen executor, then the dbt marts once at the end."""

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

from cptflow.orchestration.definitions import build_definitions
from cptflow.orchestration.executors import (
    EXECUTOR_ENV,
    ensure_instance_settings,
    select_executor,
)
from cptflow.orchestration.jobs import BACKFILL_JOB, MARTS_JOB
from cptflow.orchestration.runner import PartitionRun, failure_reasons
from cptflow.orchestration.settings import Paths, prepare_dagster_home

log = logging.getLogger(__name__)
BACKFILL_TAG = "cptflow/backfill"
STEP_EVENTS = {DagsterEventType.STEP_START, DagsterEventType.STEP_SUCCESS}


@dataclass
class BackfillReport:
    """What a backfill did: each day's run, the marts run and time per step.

    Attributes:
        backfill_id: the tag shared by the backfill's runs (`cptflow/backfill`).
        runs: one entry per day, oldest first.
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


# Shortcoming: each day is its own run with process start-up per step (about 20 s a
# day on 2 cores); single-run backfill policies would make a month cheap.
def run_backfill(
    paths: Paths,
    days: Iterable[date],
    *,
    executor: str = "multiprocess",
    assign_partition: bool = False,
    with_marts: bool = True,
    log_level: str = "CRITICAL",
) -> BackfillReport:
    """Run the backfill job for each day, oldest first, then the marts once.

    Each day's steps run under `executor`; steps of a day that do not depend on
    each other run at once and hold the DuckDB file only for short connections,
    which the warehouse resource retries while another holds it. The
    whole-history dbt marts are built once at the end, not once per day.
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

    # Days run one after another: DuckDB takes one writer per file, and runs
    # started from several threads at once were seen to hang in the executor.
    with DagsterInstance.get() as instance:
        for day in sorted(days):
            report.runs.append(_execute(instance, job, day, report, log_level))
    done = [r for r in report.runs if r.success]
    if with_marts and done:
        marts = _job(MARTS_JOB, {**kwargs, "executor": "in_process"})
        last = date.fromisoformat(done[-1].partition_key)
        with DagsterInstance.get() as instance:
            report.marts = _execute(instance, marts, last, report, log_level)
    report.seconds = time.perf_counter() - started
    return report


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
    day: date,
    report: BackfillReport,
    log_level: str,
) -> PartitionRun:
    """Execute one day's run and add its step times to the report."""
    tags = {"dagster/partition": day.isoformat(), BACKFILL_TAG: report.backfill_id}
    run_config = {"loggers": {"console": {"config": {"log_level": log_level}}}}
    with execute_job(job, instance, run_config=run_config, tags=tags) as result:
        _add_step_seconds(instance, result.run_id, report.step_seconds)
        log.info("backfill %s: %s %s", report.backfill_id, day, result.success)
        return PartitionRun(
            partition_key=day.isoformat(),
            success=result.success,
            failures=failure_reasons(result),
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
