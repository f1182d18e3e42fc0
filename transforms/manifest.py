"""Read the inbox manifest that gives each document its encounter metadata."""

from __future__ import annotations

import csv
import json
import logging
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from cptflow.transforms.errors import CptflowError

logger = logging.getLogger(__name__)

MANIFEST_NAMES = ("manifest.csv", "manifest.json")

DATE_FIELDS = ("patient_birth_date", "date_of_service", "received_date")
TEXT_FIELDS = (
    "encounter_id",
    "patient_id",
    "patient_name",
    "patient_sex",
    "rendering_npi",
    "billing_npi",
    "payer_id",
    "place_of_service",
)
DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y")


@dataclass(frozen=True)
class EncounterMetadata:
    """What the manifest says about one document; every field but `file` may be None.

    Attributes:
        file: the document's file name (or path relative to the inbox).
        encounter_id: the encounter the document belongs to.
        patient_id: the practice's patient identifier.
        patient_name: the patient's name as billed.
        patient_birth_date: date of birth.
        patient_sex: sex as billed (e.g. `F`, `M`, `U`).
        date_of_service: the encounter date.
        rendering_npi: NPI of the rendering provider.
        billing_npi: NPI of the billing provider.
        payer_id: the payer's identifier.
        place_of_service: CMS place of service code (e.g. `11`).
        received_date: the day the practice received the document.
    """

    file: str
    encounter_id: str | None = None
    patient_id: str | None = None
    patient_name: str | None = None
    patient_birth_date: date | None = None
    patient_sex: str | None = None
    date_of_service: date | None = None
    rendering_npi: str | None = None
    billing_npi: str | None = None
    payer_id: str | None = None
    place_of_service: str | None = None
    received_date: date | None = None


def find_manifest(inbox: Path) -> Path | None:
    """Return the manifest file in the inbox, or None when there is none.

    Raises:
        CptflowError: when both a CSV and a JSON manifest are present.
    """
    found = [inbox / name for name in MANIFEST_NAMES if (inbox / name).is_file()]
    if len(found) > 1:
        raise CptflowError(f"{inbox}: both manifest.csv and manifest.json are present")
    return found[0] if found else None


def read_manifest(inbox: Path) -> dict[str, EncounterMetadata]:
    """Read `manifest.csv` or `manifest.json` from the inbox, keyed by file name.

    Rows are counted from 1, not counting the CSV header line.

    Args:
        inbox: the folder holding the documents and the manifest.

    Returns:
        One entry per manifest row keyed by its `file` value; empty without a
        manifest.

    Raises:
        CptflowError: naming the file and the row when the manifest is unreadable,
            lacks a `file`, repeats a file, or holds a value that is not a date.
    """
    path = find_manifest(inbox)
    if path is None:
        return {}

    rows = _read_csv(path) if path.suffix == ".csv" else _read_json(path)

    entries: dict[str, EncounterMetadata] = {}
    for row_number, row in enumerate(rows, start=1):
        entry = _parse_row(path, row_number, row)
        if entry.file in entries:
            raise CptflowError(f"{path.name} row {row_number}: file repeated")
        entries[entry.file] = entry
    logger.info("read %d manifest entries from %s", len(entries), path.name)
    return entries


def _read_csv(path: Path) -> list[dict[str, Any]]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            if reader.fieldnames is None or "file" not in reader.fieldnames:
                raise CptflowError(f"{path.name}: header has no 'file' column")
            _warn_unknown_columns(path, reader.fieldnames)
            return list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise CptflowError(f"{path.name}: cannot be read ({error})") from error


def _read_json(path: Path) -> list[dict[str, Any]]:
    try:
        rows = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CptflowError(f"{path.name}: cannot be read ({error})") from error

    if not isinstance(rows, list):
        raise CptflowError(f"{path.name}: expected a list of objects")
    for row_number, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            raise CptflowError(f"{path.name} row {row_number}: not an object")
    _warn_unknown_columns(path, sorted({key for row in rows for key in row}))
    return rows


def _warn_unknown_columns(path: Path, columns: list[str]) -> None:
    known = {"file", *DATE_FIELDS, *TEXT_FIELDS}
    unknown = [column for column in columns if column not in known]
    if unknown:
        logger.warning("%s: ignoring unknown columns %s", path.name, unknown)


def _parse_row(path: Path, row_number: int, row: dict[str, Any]) -> EncounterMetadata:
    where = f"{path.name} row {row_number}"
    file = _text_value(where, "file", row.get("file"))
    if file is None:
        raise CptflowError(f"{where}: 'file' is empty")

    texts = {name: _text_value(where, name, row.get(name)) for name in TEXT_FIELDS}
    dates = {name: _date_value(where, name, row.get(name)) for name in DATE_FIELDS}
    return EncounterMetadata(file=file, **texts, **dates)


def _text_value(where: str, name: str, value: Any) -> str | None:
    # JSON numbers are accepted for identifiers such as NPIs; floats and booleans
    # would lose digits or meaning, so they are refused.
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        kind = type(value).__name__
        raise CptflowError(f"{where}: '{name}' must be text, found a {kind}")
    return value.strip() or None


def _date_value(where: str, name: str, value: Any) -> date | None:
    text = _text_value(where, name, value)
    if text is None:
        return None

    for date_format in DATE_FORMATS:
        try:
            return datetime.strptime(text, date_format).date()
        except ValueError:
            continue
    # The value itself stays out of the message: it may be a date of birth.
    raise CptflowError(f"{where}: '{name}' is not a YYYY-MM-DD or MM/DD/YYYY date")
