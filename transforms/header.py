"""Encounter metadata read from labelled header lines of a note."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

# Labels as they open a line; the value runs to the end of that line.
LABELS: dict[str, tuple[str, ...]] = {
    "patient_id": ("patient id", "patient number", "mrn", "medical record number"),
    "date_of_service": ("date of service", "dos", "service date", "date of visit"),
    "rendering_npi": ("rendering npi", "provider npi", "npi"),
    "payer": ("payer", "payor", "insurance"),
    "place_of_service": ("place of service", "pos"),
}
DATE_FORMATS = (
    "%Y-%m-%d",
    "%m/%d/%Y",
    "%m-%d-%Y",
    "%m/%d/%y",
    "%B %d, %Y",
    "%b %d, %Y",
)
NPI = re.compile(r"\b(\d{10})\b")
PLACE_OF_SERVICE = re.compile(r"\b(\d{2})\b")


@dataclass(frozen=True)
class HeaderMetadata:
    """What a note's header states; None where it states nothing."""

    patient_id: str | None = None
    date_of_service: dt.date | None = None
    rendering_npi: str | None = None
    payer: str | None = None
    place_of_service: str | None = None


def _label_pattern(labels: tuple[str, ...]) -> re.Pattern[str]:
    alternation = "|".join(re.escape(label) for label in labels)
    return re.compile(
        rf"^[ \t]*(?:{alternation})[ \t]*[:#][ \t]*(.+?)[ \t]*$", re.I | re.M
    )


def _labelled_value(text: str, field: str) -> str | None:
    match = _label_pattern(LABELS[field]).search(text)
    return match.group(1) if match else None


def parse_date(value: str) -> dt.date | None:
    """Read a date written in one of the usual US or ISO forms.

    Args:
        value: the text after a date label.

    Returns:
        The date, or None when no form fits.
    """
    cleaned = value.strip().rstrip(".")
    for form in DATE_FORMATS:
        try:
            return dt.datetime.strptime(cleaned, form).date()
        except ValueError:
            continue
    return None


def _first(pattern: re.Pattern[str], value: str | None) -> str | None:
    if value is None:
        return None
    match = pattern.search(value)
    return match.group(1) if match else None


def read_header(text: str) -> HeaderMetadata:
    """Extract encounter metadata from labelled lines such as "MRN: 12345".

    Args:
        text: the note's text (its first page is enough).

    Returns:
        The fields found; a label whose value does not parse gives None.
    """
    dos = _labelled_value(text, "date_of_service")
    return HeaderMetadata(
        patient_id=_labelled_value(text, "patient_id"),
        date_of_service=parse_date(dos) if dos else None,
        rendering_npi=_first(NPI, _labelled_value(text, "rendering_npi")),
        payer=_labelled_value(text, "payer"),
        place_of_service=_first(
            PLACE_OF_SERVICE, _labelled_value(text, "place_of_service")
        ),
    )
