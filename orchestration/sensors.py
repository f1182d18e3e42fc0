"""Sensors: new files in the inbox and remits folders, and code-set updates."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from datetime import date
from pathlib import Path

import duckdb
from dagster import (
    DefaultSensorStatus,
    RunRequest,
    SensorDefinition,
    SensorEvaluationContext,
    SkipReason,
    sensor,
)

from cptflow.orchestration.code_sets import code_set_version
from cptflow.orchestration.jobs import DAILY_JOB, REVALIDATION_JOB
from cptflow.orchestration.partitions import outside_window
from cptflow.orchestration.resources import connect_database
from cptflow.orchestration.settings import Paths
from cptflow.transforms.errors import X12Error
from cptflow.transforms.inbox_partitions import received_date_of
from cptflow.transforms.manifest import read_manifest
from cptflow.transforms.x12.remit835 import payment_dates

FileStamps = dict[str, str]


def folder_stamps(folder: Path) -> FileStamps:
    """Every file under a folder with its modification time and size."""
    if not folder.is_dir():
        return {}
    stamps = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.name.startswith("."):
            stat = path.stat()
            stamps[str(path)] = f"{stat.st_mtime_ns}:{stat.st_size}"
    return stamps


def new_or_changed(before: Mapping[str, str], now: Mapping[str, str]) -> list[str]:
    """Paths that are new or whose modification time or size changed."""
    return sorted(path for path, stamp in now.items() if before.get(path) != stamp)


def partitions_of_files(
    inbox: Path, remits: Path, changed: list[str]
) -> dict[date, list[str]]:
    """The daily partitions the changed files belong to, with those files.

    An inbox file belongs to its manifest received date, else its modification
    date; a changed manifest counts for every file it lists. A remittance file
    belongs to each payment date it holds; one that cannot be read is left to the
    pipeline, which records it against the day it arrived.
    """
    manifest = read_manifest(inbox) if inbox.is_dir() else {}
    documents = {Path(p) for p in changed if Path(p).is_relative_to(inbox)}
    if any(p.stem == "manifest" for p in documents):
        documents |= {inbox / name for name in manifest if (inbox / name).is_file()}

    found: dict[date, list[str]] = {}
    for path in sorted(documents):
        if path.stem == "manifest":
            continue
        modified = date.fromtimestamp(path.stat().st_mtime)
        day = received_date_of(path.name, modified, manifest)
        found.setdefault(day, []).append(str(path))
    for path in sorted(Path(p) for p in changed if Path(p).is_relative_to(remits)):
        for day in _payment_dates(path):
            found.setdefault(day, []).append(str(path))
    return found


def _payment_dates(path: Path) -> set[date]:
    """The payment dates of an 835 file, its modification date when unreadable."""
    try:
        found = payment_dates(path.read_bytes(), file_name=path.name)
    except (OSError, X12Error):
        found = set()
    return found or {date.fromtimestamp(path.stat().st_mtime)}


def build_inbox_sensor(paths: Paths) -> SensorDefinition:
    """A sensor that requests the daily pipeline for partitions with new files.

    The cursor holds every file seen with its modification time and size, so a
    file rewritten in place is picked up again and an untouched one never is.
    """

    @sensor(
        name="new_files_sensor",
        job_name=DAILY_JOB,
        minimum_interval_seconds=60,
        default_status=DefaultSensorStatus.RUNNING,
        description=f"New files in {paths.inbox} or {paths.remits}.",
    )
    def new_files_sensor(
        context: SensorEvaluationContext,
    ) -> Iterator[RunRequest | SkipReason]:
        before = json.loads(context.cursor) if context.cursor else {}
        now = {**folder_stamps(paths.inbox), **folder_stamps(paths.remits)}
        changed = new_or_changed(before, now)
        if not changed:
            yield SkipReason("no new or changed files")
            return

        by_day = partitions_of_files(paths.inbox, paths.remits, changed)
        for day, files in sorted(by_day.items()):
            reason = outside_window(day)
            if reason:
                # No run can hold these files; the log names how many, not which.
                context.log.warning("%d file(s) skipped: %s", len(files), reason)
                continue
            batch = hashlib.sha256(
                "\n".join(f"{f}={now.get(f, '')}" for f in files).encode()
            ).hexdigest()[:16]
            yield RunRequest(
                run_key=f"{day.isoformat()}:{batch}",
                partition_key=day.isoformat(),
                tags={"cptflow/trigger": "new_files", "cptflow/files": str(len(files))},
            )
        context.update_cursor(json.dumps(now, sort_keys=True))

    return new_files_sensor


def reference_versions(db: Path) -> list[tuple] | None:
    """Rows of `reference.versions`, [] when none loaded, None when locked.

    Opened read-only; while a run writes the file the lock refuses readers from
    other processes, and the sensor simply tries again at its next tick.
    """
    if not db.exists():
        return []
    try:
        with connect_database(db, read_only=True) as conn:
            found = conn.execute(
                "select count(*) from information_schema.tables "
                "where table_schema = 'reference' and table_name = 'versions'"
            ).fetchone()
            if not found or not found[0]:
                return []
            return conn.execute(
                "select table_name, version, effective_from, effective_to, "
                "row_count from reference.versions order by all"
            ).fetchall()
    except duckdb.Error:
        return None


def stale_partitions(db: Path, since: date | None) -> list[date]:
    """Partitions holding claims not yet answered by a remittance.

    Args:
        db: the DuckDB file.
        since: only claims whose date of service is on or after this day.
    """
    sql = (
        "select distinct c.partition_date from claims.claims c "
        "where (cast(? as date) is null or c.date_of_service >= ?) "
        "and c.claim_id not in (select claim_id from remits.remittance_lines "
        "where claim_id is not null) order by 1"
    )
    try:
        with connect_database(db, read_only=True) as conn:
            return [row[0] for row in conn.execute(sql, [since, since]).fetchall()]
    except duckdb.CatalogException:
        return []


def build_code_set_sensor(paths: Paths) -> SensorDefinition:
    """A sensor that re-validates open claims when the code sets change.

    The cursor is the code-set version last seen (rules version and the loaded
    reference versions). When it changes, every partition holding open claims is
    re-coded and re-checked by the revalidation job, under the versions in force
    on each claim's date of service. Off by default: turn it on in the UI.
    """

    @sensor(
        name="code_set_update_sensor",
        job_name=REVALIDATION_JOB,
        minimum_interval_seconds=300,
        default_status=DefaultSensorStatus.STOPPED,
        description="Re-validate open claims after a rules or reference update.",
    )
    def code_set_update_sensor(
        context: SensorEvaluationContext,
    ) -> Iterator[RunRequest | SkipReason]:
        versions = reference_versions(paths.db)
        if versions is None:
            yield SkipReason("the database is being written; trying next tick")
            return
        version = code_set_version(versions)
        if context.cursor in (None, version):
            context.update_cursor(version)
            yield SkipReason(f"code sets unchanged: {version}")
            return

        days = stale_partitions(paths.db, since=None)
        context.log.info(
            "code sets %s -> %s: %d partitions with open claims",
            context.cursor,
            version,
            len(days),
        )
        for day in days:
            yield RunRequest(
                run_key=f"{version}:{day.isoformat()}",
                partition_key=day.isoformat(),
                tags={"cptflow/trigger": "code_set_update"},
            )
        context.update_cursor(version)

    return code_set_update_sensor
