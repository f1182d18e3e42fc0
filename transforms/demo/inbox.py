"""The demo inbox: fake clinical documents, their manifest and a separate answer key."""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import random
import shutil
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import yaml

from cptflow.transforms.demo import render
from cptflow.transforms.demo.cast import TEMPLATES_DIR, Cast, Patient, make_cast
from cptflow.transforms.demo.notes import (
    DocumentKind,
    NoteContext,
    load_kinds,
    render_note,
)

logger = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.csv"
MANIFEST_COLUMNS = (
    "file",
    "encounter_id",
    "patient_id",
    "patient_name",
    "patient_birth_date",
    "patient_sex",
    "date_of_service",
    "rendering_npi",
    "billing_npi",
    "payer_id",
    "place_of_service",
    "received_date",
)


@dataclass(frozen=True)
class DemoInbox:
    """What `write_demo_inbox` wrote.

    Attributes:
        inbox: the inbox folder.
        paths: every document file written into the inbox, in plan order (the
            manifest is not among them).
        format_counts: files by kind of rendering: `scanned_pdf`, `digital_pdf`,
            `text`, `tiff`, `duplicate`, `corrupt`.
        manifest_path: the manifest inside the inbox.
        answers_path: the answer key, outside the inbox.
    """

    inbox: Path
    paths: tuple[Path, ...]
    format_counts: dict[str, int]
    manifest_path: Path
    answers_path: Path


@dataclass(frozen=True)
class _Encounter:
    """One planned document with everything its note, manifest row and key need."""

    file: str
    render: str
    kind: DocumentKind
    context: NoteContext
    encounter_id: str
    billing_npi: str
    in_manifest: bool


def write_demo_inbox(
    inbox: Path, *, answers_path: Path, received_date: date, seed: int = 2026
) -> DemoInbox:
    """Writes a demo inbox of fake clinical documents, a manifest and an answer key.

    The same seed and received date give the same files, byte for byte. Files of
    the same names already in the inbox are overwritten; others are left alone.

    Args:
        inbox: the folder to fill; created when missing.
        answers_path: where the answer key (expected codes per file) is written;
            must lie outside the inbox so the pipeline never reads it.
        received_date: the day the documents arrive; dates of service fall in the
            few days before it.
        seed: seeds the fake people, the scan noise and the corrupt bytes.

    Returns:
        The paths written, counts by rendering and the manifest and key paths.

    Raises:
        ValueError: when `answers_path` is inside `inbox`.
    """
    inbox = inbox.resolve()
    answers_path = answers_path.resolve()
    if answers_path.is_relative_to(inbox):
        raise ValueError(f"answer key {answers_path} must lie outside {inbox}")
    inbox.mkdir(parents=True, exist_ok=True)
    answers_path.parent.mkdir(parents=True, exist_ok=True)

    plan = _load_plan()
    cast = make_cast(_patient_count(plan), seed=seed, today=received_date)
    encounters = _plan_encounters(plan, cast, received_date)

    paths = [_write_document(inbox, encounter, seed) for encounter in encounters]
    paths += [_write_duplicate(inbox, entry) for entry in plan["duplicates"]]
    paths += [_write_corrupt(inbox, entry, seed) for entry in plan["corrupt"]]

    rows = _manifest_rows(plan, encounters, cast, received_date)
    manifest_path = _write_manifest(inbox / MANIFEST_NAME, rows)
    _write_answers(answers_path, plan, encounters, inbox, seed, received_date)

    counts = Counter(encounter.render for encounter in encounters)
    counts["duplicate"] = len(plan["duplicates"])
    counts["corrupt"] = len(plan["corrupt"])
    logger.info("wrote demo inbox: %d files, %d manifest rows", len(paths), len(rows))
    return DemoInbox(inbox, tuple(paths), dict(counts), manifest_path, answers_path)


def _load_plan() -> dict[str, Any]:
    text = (TEMPLATES_DIR / "inbox.yaml").read_text(encoding="utf-8")
    plan: dict[str, Any] = yaml.safe_load(text)
    return plan


def _patient_count(plan: dict[str, Any]) -> int:
    entries = plan["documents"] + plan["corrupt"]
    return max(int(entry["patient"]) for entry in entries)


def _plan_encounters(
    plan: dict[str, Any], cast: Cast, received_date: date
) -> list[_Encounter]:
    kinds = load_kinds()
    encounters = []
    for number, entry in enumerate(plan["documents"], start=1):
        kind = kinds[entry["kind"]]
        patient = cast.patients[int(entry["patient"])]
        day = received_date - timedelta(days=int(entry["days_before"]))
        context = NoteContext.for_visit(kind, patient, cast, day, entry.get("facts"))
        encounters.append(
            _Encounter(
                file=entry["file"],
                render=entry["render"],
                kind=kind,
                context=context,
                encounter_id=_encounter_id(day, number),
                billing_npi=cast.billing_npi,
                in_manifest=bool(entry["in_manifest"]),
            )
        )
    return encounters


def _encounter_id(day: date, number: int) -> str:
    return f"ENC-{day:%Y%m%d}-{number:03d}"


def _write_document(inbox: Path, encounter: _Encounter, seed: int) -> Path:
    path = inbox / encounter.file
    text = render_note(encounter.kind, encounter.context)
    rng = random.Random(f"{seed}:{encounter.file}")
    if encounter.render == "text":
        render.write_text_note(text, path)
    elif encounter.render == "digital_pdf":
        render.write_digital_pdf(text, path, created_at=_created_at(encounter))
    elif encounter.render == "scanned_pdf":
        render.write_scanned_pdf(text, path, rng=rng)
    elif encounter.render == "tiff":
        render.write_scanned_tiff(text, path, rng=rng)
    else:
        raise ValueError(f"unknown rendering {encounter.render!r} for {path.name}")
    return path


def _created_at(encounter: _Encounter) -> datetime:
    # Signed at five in the afternoon of the date of service, a fixed moment.
    day = encounter.context.date_of_service
    return datetime.combine(day, time(17, 0), tzinfo=UTC)


def _write_duplicate(inbox: Path, entry: dict[str, Any]) -> Path:
    path = inbox / entry["file"]
    shutil.copyfile(inbox / entry["copy_of"], path)
    return path


def _write_corrupt(inbox: Path, entry: dict[str, Any], seed: int) -> Path:
    path = inbox / entry["file"]
    rng = random.Random(f"{seed}:{entry['file']}")
    render.write_corrupt_pdf(path, rng=rng, size_bytes=int(entry["size_bytes"]))
    return path


def _manifest_rows(
    plan: dict[str, Any],
    encounters: list[_Encounter],
    cast: Cast,
    received_date: date,
) -> list[dict[str, str]]:
    by_file = {
        encounter.file: _manifest_row(encounter, received_date)
        for encounter in encounters
    }
    for entry in plan["duplicates"]:
        by_file[entry["file"]] = {**by_file[entry["copy_of"]], "file": entry["file"]}
    for number, entry in enumerate(plan["corrupt"], start=len(encounters) + 1):
        by_file[entry["file"]] = _corrupt_row(entry, number, cast, received_date)

    listed = {encounter.file for encounter in encounters if encounter.in_manifest}
    listed |= {
        e["file"] for e in plan["duplicates"] + plan["corrupt"] if e["in_manifest"]
    }
    return [row for name, row in by_file.items() if name in listed]


def _manifest_row(encounter: _Encounter, received_date: date) -> dict[str, str]:
    context = encounter.context
    return {
        "file": encounter.file,
        "encounter_id": encounter.encounter_id,
        **_patient_columns(context.patient),
        "date_of_service": context.date_of_service.isoformat(),
        "rendering_npi": context.provider.npi,
        "billing_npi": encounter.billing_npi,
        "payer_id": context.payer.payer_id,
        "place_of_service": context.place_of_service,
        "received_date": received_date.isoformat(),
    }


def _corrupt_row(
    entry: dict[str, Any], number: int, cast: Cast, received_date: date
) -> dict[str, str]:
    patient = cast.patients[int(entry["patient"])]
    day = received_date - timedelta(days=int(entry["days_before"]))
    return {
        "file": entry["file"],
        "encounter_id": _encounter_id(day, number),
        **_patient_columns(patient),
        "date_of_service": day.isoformat(),
        "rendering_npi": cast.providers["gastroenterology"].npi,
        "billing_npi": cast.billing_npi,
        "payer_id": patient.payer.payer_id,
        "place_of_service": "24",
        "received_date": received_date.isoformat(),
    }


def _patient_columns(patient: Patient) -> dict[str, str]:
    return {
        "patient_id": patient.patient_id,
        "patient_name": patient.name,
        "patient_birth_date": patient.birth_date.isoformat(),
        "patient_sex": patient.sex,
    }


def _write_manifest(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=MANIFEST_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return path


def _write_answers(
    path: Path,
    plan: dict[str, Any],
    encounters: list[_Encounter],
    inbox: Path,
    seed: int,
    received_date: date,
) -> None:
    documents = [_answer(encounter, inbox) for encounter in encounters]
    originals = {document["file"]: document for document in documents}
    for entry in plan["duplicates"]:
        documents.append(_duplicate_answer(entry, originals[entry["copy_of"]]))
    for entry in plan["corrupt"]:
        documents.append(_corrupt_answer(entry, inbox))

    key: dict[str, Any] = {
        "seed": seed,
        "received_date": received_date.isoformat(),
        "documents": documents,
    }
    path.write_text(json.dumps(key, indent=2) + "\n", encoding="utf-8")


def _answer(encounter: _Encounter, inbox: Path) -> dict[str, Any]:
    context = encounter.context
    return {
        "file": encounter.file,
        "document_id": _sha256(inbox / encounter.file),
        "kind": encounter.kind.key,
        "render": encounter.render,
        "expected_status": "processed",
        "in_manifest": encounter.in_manifest,
        "encounter_id": encounter.encounter_id if encounter.in_manifest else None,
        **_patient_columns(context.patient),
        "date_of_service": context.date_of_service.isoformat(),
        "rendering_npi": context.provider.npi,
        "billing_npi": encounter.billing_npi,
        "payer_id": context.payer.payer_id,
        "place_of_service": context.place_of_service,
        "expected_codes": [
            {
                "cpt_code": code.cpt_code,
                "modifiers": list(code.modifiers),
                "units": code.units,
                "icd10cm_codes": list(code.icd10cm_codes),
            }
            for code in encounter.kind.expected_codes
        ],
        "decoys": [
            {"type": d.type, "text": d.text, "not_code": d.not_code}
            for d in encounter.kind.decoys
        ],
    }


def _duplicate_answer(
    entry: dict[str, Any], original: dict[str, Any]
) -> dict[str, Any]:
    return {
        **original,
        "file": entry["file"],
        "render": "duplicate",
        "expected_status": "duplicate",
        "duplicate_of": original["file"],
        "in_manifest": bool(entry["in_manifest"]),
    }


def _corrupt_answer(entry: dict[str, Any], inbox: Path) -> dict[str, Any]:
    return {
        "file": entry["file"],
        "document_id": _sha256(inbox / entry["file"]),
        "render": "corrupt",
        "expected_status": "quarantined",
        "in_manifest": bool(entry["in_manifest"]),
        "expected_codes": [],
        "decoys": [],
    }


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
