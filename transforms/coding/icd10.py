"""ICD-10-CM: the code table, and diagnosis codes linked from a note's text."""

from __future__ import annotations

import csv
import datetime as dt
import functools
import re
from dataclasses import dataclass
from pathlib import Path

from cptflow.transforms.coding.rules import RULES_DIR

EXTRACT_PATH = Path(__file__).resolve().parents[1] / "reference_data"
EXTRACT_FILE = EXTRACT_PATH / "icd10cm_extract.csv"

# An ICD-10-CM code as authors write it: letter, two characters, optional dot
# and up to four more characters.
EXPLICIT_CODE = re.compile(r"\b([A-TV-Z][0-9][0-9AB])\.?([0-9A-Z]{1,4})?\b")
LIST_ITEM = re.compile(r"(?:^|\n)\s*\d{1,2}[.)]\s+")


@dataclass(frozen=True)
class Icd10Table:
    """ICD-10-CM codes by dotted code, with whether each is billable."""

    billable: dict[str, bool]
    descriptions: dict[str, str]

    def is_billable(self, code: str) -> bool:
        """Whether a dotted code exists and may be reported."""
        return self.billable.get(code, False)


def load_icd10_table(path: Path | str) -> Icd10Table:
    """Read a code table in the CMS order file layout used by the project.

    Args:
        path: a CSV with columns code, code_dotted, description, billable.

    Returns:
        The table.
    """
    billable: dict[str, bool] = {}
    descriptions: dict[str, str] = {}
    with Path(path).open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            billable[row["code_dotted"]] = row["billable"] == "1"
            descriptions[row["code_dotted"]] = row["description"]
    return Icd10Table(billable, descriptions)


@functools.cache
def default_icd10_table() -> Icd10Table:
    """Load the extract bundled with the product.

    Returns:
        The table of every code the phrase table can produce, with parents.
    """
    return load_icd10_table(EXTRACT_FILE)


@dataclass(frozen=True)
class DiagnosisPhrase:
    """A diagnosis wording and the code it stands for over a period."""

    pattern: re.Pattern[str]
    length: int
    code: str
    effective_from: dt.date
    effective_to: dt.date | None


@functools.cache
def load_phrases() -> tuple[DiagnosisPhrase, ...]:
    """Load the diagnosis phrase table, longest phrases first.

    Returns:
        The phrases of rules/icd10cm_phrases.csv.
    """
    phrases: list[DiagnosisPhrase] = []
    with (RULES_DIR / "icd10cm_phrases.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            words = [re.escape(word) for word in row["phrase"].split()]
            phrases.append(
                DiagnosisPhrase(
                    pattern=re.compile(r"\b" + r"\s+".join(words) + r"\b", re.I),
                    length=len(row["phrase"]),
                    code=row["icd10cm_code"],
                    effective_from=dt.date.fromisoformat(row["effective_from"]),
                    effective_to=(
                        dt.date.fromisoformat(row["effective_to"])
                        if row["effective_to"]
                        else None
                    ),
                )
            )
    return tuple(sorted(phrases, key=lambda phrase: -phrase.length))


def _diagnosis_items(text: str) -> list[str]:
    items = [item.strip() for item in LIST_ITEM.split(text) if item.strip()]
    return items or [text]


def _explicit_codes(item: str, table: Icd10Table) -> list[str]:
    found: list[str] = []
    for match in EXPLICIT_CODE.finditer(item):
        code = match.group(1) + ("." + match.group(2) if match.group(2) else "")
        if table.is_billable(code):
            found.append(code)
    return found


def _phrase_code(item: str, on: dt.date, table: Icd10Table) -> str | None:
    for phrase in load_phrases():
        if phrase.effective_to is not None and on > phrase.effective_to:
            continue
        if on < phrase.effective_from or not table.is_billable(phrase.code):
            continue
        if phrase.pattern.search(item):
            return phrase.code
    return None


def link_diagnoses(text: str, on: dt.date, table: Icd10Table) -> list[str]:
    """Find billable diagnosis codes in diagnosis-section text, primary first.

    Codes written in the note win over phrases; each list item gives at most one
    phrase code, so the first item's diagnosis stays first.

    Args:
        text: the text of the postoperative diagnosis, impression or assessment.
        on: the date of service, for the phrase table's effective dates.
        table: the code table to validate against.

    Returns:
        Distinct dotted codes in the order their items appear.
    """
    codes: list[str] = []
    for item in _diagnosis_items(text):
        found = _explicit_codes(item, table)
        phrase_code = _phrase_code(item, on, table)
        if not found and phrase_code:
            found = [phrase_code]
        codes.extend(code for code in found if code not in codes)
    return codes
