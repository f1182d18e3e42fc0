"""Run the daily pipeline in process for a set of partitions and summarise it."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from dagster import AssetKey, DagsterInstance, Definitions

from cptflow.orchestration.executors import ensure_instance_settings
from cptflow.orchestration.resources import connect_database
from cptflow.orchestration.settings import Paths, prepare_dagster_home

log = logging.getLogger(__name__)

# Stage tables whose per-partition row counts the CLI prints after a run.
STAGE_TABLES = (
    ("intake", "documents"),
    ("ocr", "page_texts"),
    ("nlp", "procedure_mentions"),
    ("coding", "encounters"),
    ("coding", "encounter_codes"),
    ("claims", "claims"),
    ("claims", "claim_lines"),
    ("remits", "remittance_lines"),
)


@dataclass
class PartitionRun:
    """The outcome of one partition's run: success and the failed steps' reasons.

    A run of a range of days has the key `first..last` and counts its days.
    """

    partition_key: str
    success: bool
    failures: list[str] = field(default_factory=list)
    day_count: int = 1


def run_partitions(
    defs: Definitions,
    paths: Paths,
    partitions: Iterable[date],
    *,
    asset_keys: Sequence[AssetKey] | None = None,
    log_level: str = "CRITICAL",
) -> list[PartitionRun]:
    """Materialize the daily pipeline for each partition, oldest first.

    Run history goes to Dagster's storage under DAGSTER_HOME (never the DuckDB
    file), so these runs show in `cptflow ui` like scheduled ones.
    """
    prepare_dagster_home(paths.dagster_home)
    ensure_instance_settings(paths.dagster_home)
    job = defs.resolve_job_def("daily_pipeline")
    runs = []
    with DagsterInstance.get() as instance:
        for partition in sorted(partitions):
            result = job.execute_in_process(
                partition_key=partition.isoformat(),
                instance=instance,
                raise_on_error=False,
                asset_selection=list(asset_keys) if asset_keys else None,
                run_config={
                    "loggers": {"console": {"config": {"log_level": log_level}}}
                },
            )
            runs.append(
                PartitionRun(
                    partition_key=partition.isoformat(),
                    success=result.success,
                    failures=failure_reasons(result),
                )
            )
    return runs


def failure_reasons(result) -> list[str]:
    """One line per failed step: the step and the first line of its error."""
    reasons = []
    for event in result.all_events:
        if event.event_type_value != "STEP_FAILURE":
            continue
        error = event.event_specific_data.error if event.event_specific_data else None
        message = (error.message if error else event.message or "").strip()
        reasons.append(
            f"{event.step_key}: {message.splitlines()[0] if message else ''}"
        )
    return reasons


def stage_counts(db: str, partitions: Iterable[date]) -> list[tuple[str, int]]:
    """Rows per stage table for the given partitions, read after the run."""
    keys = [p.isoformat() for p in partitions]
    counts = []
    with connect_database(db, read_only=True) as conn:
        for schema, table in STAGE_TABLES:
            exists = conn.execute(
                "select count(*) from information_schema.tables "
                "where table_schema = ? and table_name = ?",
                [schema, table],
            ).fetchone()
            if not exists or not exists[0]:
                counts.append((f"{schema}.{table}", 0))
                continue
            row = conn.execute(
                f"select count(*) from {schema}.{table} "
                "where list_contains(?, cast(partition_date as varchar))",
                [keys],
            ).fetchone()
            counts.append((f"{schema}.{table}", int(row[0]) if row else 0))
    return counts


def mart_counts(db: str) -> list[tuple[str, int]]:
    """Rows in each dbt mart table."""
    with connect_database(db, read_only=True) as conn:
        tables = conn.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema like '%marts%' order by 1, 2"
        ).fetchall()
        return [
            (
                f"{schema}.{name}",
                int(
                    conn.execute(
                        f'select count(*) from "{schema}"."{name}"'
                    ).fetchone()[0]
                ),
            )
            for schema, name in tables
        ]
