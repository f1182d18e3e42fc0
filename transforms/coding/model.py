"""The coding engine's results: coded lines, their evidence and physician queries."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Evidence:
    """A stretch of page text that supports a coded line."""

    page: int
    start: int
    end: int
    text: str


@dataclass
class CodedLine:
    """One CPT line proposed for the encounter."""

    cpt_code: str
    modifiers: list[str] = field(default_factory=list)
    units: int = 1
    icd10cm_codes: list[str] = field(default_factory=list)
    # Diagnoses a rule puts first whatever the note lists (a screening's Z code).
    lead_diagnoses: list[str] = field(default_factory=list)
    confidence: float = 0.0
    needs_review: bool = False
    review_reasons: list[str] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)
    rule_id: str = ""
    rules_version: str = ""


@dataclass(frozen=True)
class PhysicianQuery:
    """A documentation gap that blocks a more specific code."""

    cpt_code: str
    missing: str
    question: str


@dataclass
class CodingResult:
    """Everything the engine concluded about one document."""

    codes: list[CodedLine]
    needs_review: bool
    review_reasons: list[str]
    queries: list[PhysicianQuery]
