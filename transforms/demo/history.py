"""Demo history: weeks of cheap text notes that give the payer a history to build.

The main demo inbox holds one day of documents in every format. The history adds
a few weeks of plain-text notes before and after that day, each week in its own
folder with its own manifest, so that the pipeline runs them as daily partitions
and the simulated payer pays each week's claims on its own date.
"""

from __future__ import annotations

import csv
import json
import logging
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml

from cptflow.transforms.demo import render
from cptflow.transforms.demo.cast import TEMPLATES_DIR, make_cast
from cptflow.transforms.demo.inbox import MANIFEST_COLUMNS, MANIFEST_NAME
from cptflow.transforms.demo.notes import NoteContext, load_kinds, render_note

logger = logging.getLogger(__name__)

HISTORY_PLAN_PATH = Path(__file__).resolve().parent / "history.yaml"
# Dates of service fall one to five days before the week's received date.
_DAYS_BEFORE = (1, 2, 3, 4, 5)
# History encounters are numbered from here so they never meet the main inbox's.
_FIRST_ENCOUNTER_NUMBER = 101


@dataclass(frozen=True)
class HistoryWeek:
    """One week of history notes.

    Attributes:
        received_date: the partition the week's notes arrive in.
        payment_date: the day the simulated payer pays the week's claims.
        folder: the week's inbox folder (notes and manifest).
        paths: the notes written.
    """

    received_date: date
    payment_date: date
    folder: Path
    paths: tuple[Path, ...]


def load_history_plan(path: Path = HISTORY_PLAN_PATH) -> dict[str, Any]:
    """Read the history plan (see history.yaml for its shape)."""
    plan: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return plan


def write_demo_history(
    folder: Path,
    *,
    answers_path: Path,
    main_received_date: date,
    main_seed: int = 2026,
    plan: dict[str, Any] | None = None,
) -> list[HistoryWeek]:
    """Write the history weeks' notes, one folder per week, and their answer key.

    The notes are signed by the main inbox's providers and billed by its billing
    NPI (the cast of `main_seed` and `main_received_date`), for patients of the
    plan's own seed.

    Args:
        folder: the parent of the week folders (named by received date); a week
            folder is emptied before it is written.
        answers_path: where the expected codes per history note are written.
        main_received_date: the main inbox's received date, which fixes its cast.
        main_seed: the main inbox's seed.
        plan: the history plan; history.yaml when None.

    Returns:
        The weeks, oldest first.
    """
    plan = plan or load_history_plan()
    kinds = load_kinds()
    main_cast = make_cast(
        _main_patient_count(), seed=main_seed, today=main_received_date
    )
    patients = make_cast(
        int(plan["patients"]), seed=int(plan["seed"]), today=main_received_date
    ).patients
    lag = timedelta(days=int(plan["payment_lag_days"]))

    weeks, answers = [], []
    patient_numbers = iter(_cycle(sorted(patients)))
    number = _FIRST_ENCOUNTER_NUMBER
    for week in sorted(plan["weeks"], key=lambda w: w["received_date"]):
        received: date = week["received_date"]
        week_folder = folder / received.isoformat()
        _empty(week_folder)
        rows, paths = [], []
        for offset, kind_key in enumerate(_expand(week["notes"])):
            kind = kinds[kind_key]
            patient = patients[next(patient_numbers)]
            day = received - timedelta(days=_DAYS_BEFORE[offset % len(_DAYS_BEFORE)])
            context = NoteContext.for_visit(kind, patient, main_cast, day)
            encounter_id = f"ENC-{day:%Y%m%d}-{number:03d}"
            path = week_folder / f"history_{received:%Y%m%d}_{offset + 1:03d}.txt"
            render.write_text_note(render_note(kind, context), path)
            rows.append(
                _manifest_row(
                    path, encounter_id, context, main_cast.billing_npi, received
                )
            )
            answers.append(_answer(path, kind_key, context, kinds))
            paths.append(path)
            number += 1
        _write_manifest(week_folder / MANIFEST_NAME, rows)
        weeks.append(HistoryWeek(received, received + lag, week_folder, tuple(paths)))

    answers_path.parent.mkdir(parents=True, exist_ok=True)
    answers_path.write_text(
        json.dumps({"documents": answers}, indent=2) + "\n", encoding="utf-8"
    )
    logger.info(
        "wrote demo history: %d weeks, %d notes",
        len(weeks),
        sum(len(w.paths) for w in weeks),
    )
    return weeks


def _main_patient_count() -> int:
    # The main inbox's cast draws its billing NPI after its patients, so the
    # history must make the same number of patients to get the same NPI.
    plan = yaml.safe_load((TEMPLATES_DIR / "inbox.yaml").read_text(encoding="utf-8"))
    entries = plan["documents"] + plan["corrupt"]
    return max(int(entry["patient"]) for entry in entries)


def _cycle(numbers: list[int]):
    while True:
        yield from numbers


def _expand(notes: dict[str, int]) -> list[str]:
    """Kinds in plan order, each repeated its count, interleaved for variety."""
    remaining = dict(notes)
    order = []
    while any(remaining.values()):
        for key, count in remaining.items():
            if count:
                order.append(key)
                remaining[key] = count - 1
    return order


def _empty(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for path in folder.iterdir():
        if path.is_file():
            path.unlink()


def _manifest_row(
    path: Path,
    encounter_id: str,
    context: NoteContext,
    billing_npi: str,
    received: date,
) -> dict[str, str]:
    patient = context.patient
    return {
        "file": path.name,
        "encounter_id": encounter_id,
        "patient_id": patient.patient_id,
        "patient_name": patient.name,
        "patient_birth_date": patient.birth_date.isoformat(),
        "patient_sex": patient.sex,
        "date_of_service": context.date_of_service.isoformat(),
        "rendering_npi": context.provider.npi,
        "billing_npi": billing_npi,
        "payer_id": context.payer.payer_id,
        "place_of_service": context.place_of_service,
        "received_date": received.isoformat(),
    }


def _write_manifest(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=MANIFEST_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


def _answer(
    path: Path, kind_key: str, context: NoteContext, kinds: dict
) -> dict[str, Any]:
    return {
        "file": path.name,
        "kind": kind_key,
        "date_of_service": context.date_of_service.isoformat(),
        "rendering_npi": context.provider.npi,
        "payer_id": context.payer.payer_id,
        "expected_codes": [
            {"cpt_code": code.cpt_code, "modifiers": list(code.modifiers)}
            for code in kinds[kind_key].expected_codes
        ],
    }
