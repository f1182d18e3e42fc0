"""Document kinds of the demo inbox and the note text rendered from their templates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

import jinja2
import yaml

from cptflow.transforms.demo.cast import (
    TEMPLATES_DIR,
    Cast,
    Patient,
    Payer,
    Provider,
)


@dataclass(frozen=True)
class ExpectedCode:
    """One line a coder would assign for a document."""

    cpt_code: str
    modifiers: tuple[str, ...]
    units: int
    icd10cm_codes: tuple[str, ...]


@dataclass(frozen=True)
class Decoy:
    """A sentence that names a procedure which must not be coded.

    Attributes:
        type: `negated`, `historical`, `planned` or `family`.
        text: words that appear verbatim in the rendered note.
        not_code: the CPT code a naive reader would wrongly assign, if any.
    """

    type: str
    text: str
    not_code: str | None


@dataclass(frozen=True)
class DocumentKind:
    """A kind of clinical document and what coding it should yield."""

    key: str
    template: str
    provider: str
    place_of_service: str
    expected_codes: tuple[ExpectedCode, ...]
    decoys: tuple[Decoy, ...]


@dataclass(frozen=True)
class NoteContext:
    """What a template is filled with: the people, the day and the place."""

    patient: Patient
    provider: Provider
    payer: Payer
    date_of_service: date
    place_of_service: str
    facility: str
    facts: dict[str, Any]

    @classmethod
    def for_visit(
        cls,
        kind: DocumentKind,
        patient: Patient,
        cast: Cast,
        day: date,
        facts: dict[str, Any] | None = None,
    ) -> NoteContext:
        """A visit of this kind by `patient`, seen by the cast's provider for it."""
        return cls(
            patient=patient,
            provider=cast.providers[kind.provider],
            payer=patient.payer,
            date_of_service=day,
            place_of_service=kind.place_of_service,
            facility=cast.facilities[kind.place_of_service],
            facts=dict(facts or {}),
        )


@cache
def load_kinds() -> dict[str, DocumentKind]:
    """Reads the document kinds from `templates/kinds.yaml`.

    Returns:
        Every document kind keyed by its name.
    """
    text = (TEMPLATES_DIR / "kinds.yaml").read_text(encoding="utf-8")
    return {key: _parse_kind(key, entry) for key, entry in yaml.safe_load(text).items()}


def render_note(kind: DocumentKind, context: NoteContext) -> str:
    """Fills the kind's template with the context.

    Args:
        kind: the document kind whose template is used.
        context: the patient, provider, payer, day and facts of the document.

    Returns:
        The note text, ending in one newline.
    """
    template = _environment().get_template(kind.template)
    text = template.render(_template_values(context))
    return text.strip() + "\n"


def format_us_date(day: date) -> str:
    """Writes a date the way US notes do, MM/DD/YYYY."""
    return day.strftime("%m/%d/%Y")


def _parse_kind(key: str, entry: dict[str, Any]) -> DocumentKind:
    codes = tuple(
        ExpectedCode(
            cpt_code=code["cpt_code"],
            modifiers=tuple(code["modifiers"]),
            units=int(code["units"]),
            icd10cm_codes=tuple(code["icd10cm_codes"]),
        )
        for code in entry["expected_codes"]
    )
    decoys = tuple(Decoy(**decoy) for decoy in entry["decoys"])
    return DocumentKind(
        key=key,
        template=entry["template"],
        provider=entry["provider"],
        place_of_service=str(entry["place_of_service"]),
        expected_codes=codes,
        decoys=decoys,
    )


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )


def _describe(patient: Patient, day: date) -> str:
    age = patient.age_on(day)
    article = "an" if str(age).startswith("8") or age in (11, 18) else "a"
    person = "woman" if patient.sex == "F" else "man"
    return f"{article} {age}-year-old {person}"


def _template_values(context: NoteContext) -> dict[str, Any]:
    patient = context.patient
    return {
        "facility": context.facility,
        "patient": {
            "name": patient.name,
            "patient_id": patient.patient_id,
            "birth_date": format_us_date(patient.birth_date),
            "sex": patient.sex,
            "described": _describe(patient, context.date_of_service),
            "member_id": patient.member_id,
        },
        "provider": context.provider,
        "payer": context.payer,
        "date_of_service": format_us_date(context.date_of_service),
        "place_of_service": context.place_of_service,
        **context.facts,
    }
