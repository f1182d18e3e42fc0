"""Which inbox files belong to a daily partition: by manifest received date, else by
file modification date."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any


def received_date_of(
    file_name: str, modified_on: date, manifest: Mapping[str, Any]
) -> date:
    """The day a file was received: the manifest's date when given, else its mtime."""
    entry = manifest.get(file_name)
    received = getattr(entry, "received_date", None) if entry is not None else None
    return received or modified_on


def received_date_of_file(path: Path, manifest: Mapping[str, Any]) -> date:
    """The day an inbox file was received: the manifest's, else its UTC mtime's."""
    modified = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC).date()
    return received_date_of(path.name, modified, manifest)


def inbox_received_dates(inbox: Path, manifest: Mapping[str, Any]) -> set[date]:
    """Every received date present in an inbox, to know which partitions to run."""
    return set(inbox_files_by_received_date(inbox, manifest))


def inbox_files_by_received_date(
    inbox: Path, manifest: Mapping[str, Any]
) -> dict[date, list[Path]]:
    """The inbox's files grouped by received date, in path order."""
    files: dict[date, list[Path]] = {}
    for path in sorted(inbox.rglob("*")):
        if not path.is_file() or path.name.startswith(".") or path.stem == "manifest":
            continue
        modified = date.fromtimestamp(path.stat().st_mtime)
        files.setdefault(received_date_of(path.name, modified, manifest), []).append(
            path
        )
    return files
