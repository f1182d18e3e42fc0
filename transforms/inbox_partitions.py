"""Which inbox files belong to a daily partition: by manifest received date, else by
file modification date."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl


def received_date_of(
    file_name: str, modified_on: date, manifest: Mapping[str, Any]
) -> date:
    """The day a file was received: the manifest's date when given, else its mtime."""
    entry = manifest.get(file_name)
    received = getattr(entry, "received_date", None) if entry is not None else None
    return received or modified_on


def files_in_partition(
    documents: pl.DataFrame, manifest: Mapping[str, Any], partition_date: date
) -> list[str]:
    """Paths of the intake rows whose received date is the partition's date."""
    return [
        path
        for path, name, received_at in documents.select(
            "file_path", "file_name", "received_at"
        ).iter_rows()
        if received_date_of(name, received_at.date(), manifest) == partition_date
    ]


def inbox_received_dates(inbox: Path, manifest: Mapping[str, Any]) -> set[date]:
    """Every received date present in an inbox, to know which partitions to run."""
    dates = set()
    for path in sorted(inbox.rglob("*")):
        if not path.is_file() or path.name.startswith(".") or path.stem == "manifest":
            continue
        modified = date.fromtimestamp(path.stat().st_mtime)
        dates.add(received_date_of(path.name, modified, manifest))
    return dates
