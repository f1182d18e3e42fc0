"""Read a CLAIM.json into the frames the scrubber takes, checking its types."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from cptflow.transforms.errors import CptflowError
from cptflow.transforms.scrubbing.engine import CLAIM_COLUMNS, LINE_COLUMNS

_TEXT_FIELDS = (
    "claim_id",
    "place_of_service",
    "rendering_npi",
    "billing_npi",
    "payer_id",
)


class ClaimInputError(CptflowError):
    """A claim file that is not JSON or has a field of the wrong type."""


def read_claim(path: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Read one claim file.

    Returns:
        (claims, lines) frames of one claim, in the scrubber's columns.

    Raises:
        ClaimInputError: the file cannot be read, is not JSON, or a field has the
            wrong type; the message names the file and the field.
    """
    try:
        raw = json.loads(path.read_text())
    except OSError as error:
        raise ClaimInputError(f"{path}: cannot be read ({error.strerror})") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ClaimInputError(f"{path}: not valid JSON ({error})") from None
    try:
        return claim_frames(raw)
    except (TypeError, ValueError) as error:
        raise ClaimInputError(f"{path}: {error}") from None


def claim_frames(raw: Any) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The claims and lines frames of one parsed CLAIM.json object."""
    if not isinstance(raw, dict):
        raise TypeError("the claim must be a JSON object")
    patient = _typed(raw, "patient", dict) or {}
    claim = {name: _text(raw, name) for name in _TEXT_FIELDS}
    claim |= {
        "date_of_service": _date(raw, "date_of_service"),
        "patient_id": _text(patient, "id", "patient.id"),
        "patient_sex": _text(patient, "sex", "patient.sex"),
        "patient_birth_date": _date(patient, "birth_date", "patient.birth_date"),
        "diagnosis_codes": _texts(raw, "diagnoses"),
        "has_subscriber": _typed(raw, "subscriber", dict) is not None,
        "has_billing_provider": _typed(raw, "billing_provider", dict) is not None,
    }
    raw_lines = _typed(raw, "lines", list) or []
    lines = [_line(claim["claim_id"], n, item) for n, item in enumerate(raw_lines, 1)]
    return (
        pl.DataFrame([claim], schema=CLAIM_COLUMNS),
        pl.DataFrame(lines, schema=LINE_COLUMNS),
    )


def _line(claim_id: str | None, number: int, item: Any) -> dict[str, Any]:
    where = f"lines[{number}]"
    if not isinstance(item, dict):
        raise TypeError(f"{where} must be an object")
    units = _typed(item, "units", int, f"{where}.units")
    charge = _typed(item, "charge_amount", (int, float), f"{where}.charge_amount")
    pointers = _typed(item, "diagnosis_pointers", list, f"{where}.diagnosis_pointers")
    if pointers and not all(_is_int(p) for p in pointers):
        raise TypeError(f"{where}.diagnosis_pointers must be a list of integers")
    return {
        "claim_id": claim_id,
        "claim_line_number": number,
        "cpt_code": _text(item, "cpt", f"{where}.cpt"),
        "modifiers": _texts(item, "modifiers", f"{where}.modifiers"),
        "units": units,
        "charge_amount": float(charge) if charge is not None else None,
        "diagnosis_pointers": pointers or [],
        "sites": _texts(item, "sites", f"{where}.sites"),
    }


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _typed(raw: dict, key: str, kind: Any, name: str | None = None) -> Any:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) and kind is not bool or not isinstance(value, kind):
        label = kind.__name__ if isinstance(kind, type) else "number"
        raise TypeError(f"{name or key} must be {_article(label)}")
    return value


def _article(label: str) -> str:
    words = {"str": "a string", "int": "an integer", "list": "a list"}
    return words.get(label, {"dict": "an object"}.get(label, f"a {label}"))


def _text(raw: dict, key: str, name: str | None = None) -> str | None:
    value = _typed(raw, key, str, name)
    return value.strip() or None if value is not None else None


def _texts(raw: dict, key: str, name: str | None = None) -> list[str]:
    values = _typed(raw, key, list, name) or []
    if not all(isinstance(v, str) for v in values):
        raise TypeError(f"{name or key} must be a list of strings")
    return [v.strip().upper() for v in values if v.strip()]


def _date(raw: dict, key: str, name: str | None = None) -> date | None:
    value = _text(raw, key, name)
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{name or key} must be a date (YYYY-MM-DD)") from None
