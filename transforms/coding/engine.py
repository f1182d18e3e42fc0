"""The coding engine: a document's pages and mentions in, coded lines out."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Sequence

import polars as pl

from cptflow.transforms.coding.em import code_visit, is_visit_note
from cptflow.transforms.coding.icd10 import (
    Icd10Table,
    default_icd10_table,
    link_diagnoses,
)
from cptflow.transforms.coding.model import CodedLine, CodingResult, PhysicianQuery
from cptflow.transforms.coding.procedures import code_procedures
from cptflow.transforms.coding.rules import load_common
from cptflow.transforms.coding.sections import (
    SectionText,
    section_text,
    split_sections,
)
from cptflow.transforms.nlp.mentions import PAGE_SEPARATOR, Mention

logger = logging.getLogger(__name__)

DIAGNOSIS_SECTIONS = {"impression"}
FALLBACK_DIAGNOSIS_SECTIONS = {"indication"}
NO_SERVICE = "no codable service found in the document"

EVIDENCE_TYPE = pl.List(
    pl.Struct({"page": pl.Int32, "start": pl.Int32, "end": pl.Int32, "text": pl.String})
)
ENCOUNTER_CODE_SCHEMA: dict[str, pl.DataType] = {
    "encounter_id": pl.String(),
    "document_id": pl.String(),
    "partition_date": pl.Date(),
    "code_sequence": pl.Int32(),
    "cpt_code": pl.String(),
    "modifiers": pl.List(pl.String),
    "units": pl.Int32(),
    "icd10cm_codes": pl.List(pl.String),
    "confidence": pl.Float64(),
    "needs_review": pl.Boolean(),
    "review_reasons": pl.List(pl.String),
    "evidence": EVIDENCE_TYPE,
    "rule_id": pl.String(),
    "rules_version": pl.String(),
}
QUERY_SCHEMA: dict[str, pl.DataType] = {
    "query_id": pl.String(),
    "encounter_id": pl.String(),
    "document_id": pl.String(),
    "partition_date": pl.Date(),
    "cpt_code": pl.String(),
    "missing": pl.String(),
    "question": pl.String(),
    "status": pl.String(),
}


def _diagnoses(
    sections: list[SectionText], on: dt.date, table: Icd10Table
) -> list[str]:
    codes = link_diagnoses(section_text(sections, DIAGNOSIS_SECTIONS), on, table)
    if codes:
        return codes
    return link_diagnoses(
        section_text(sections, FALLBACK_DIAGNOSIS_SECTIONS), on, table
    )


def _apply_review(codes: list[CodedLine], reasons: list[str]) -> None:
    threshold = float(load_common()["review_threshold"])
    for line in codes:
        if line.confidence < threshold and not line.needs_review:
            line.needs_review = True
            line.review_reasons.append(
                f"confidence {line.confidence} below {threshold}"
            )
        if not line.icd10cm_codes:
            line.needs_review = True
            line.review_reasons.append("no billable diagnosis code linked")
        reasons.extend(r for r in line.review_reasons if r not in reasons)


def code_document(
    pages: Sequence[tuple[int, str]],
    mentions: Sequence[Mention],
    *,
    date_of_service: dt.date | None = None,
    icd10: Icd10Table | None = None,
) -> CodingResult:
    """Code the professional services one document shows its author performed.

    Args:
        pages: (page_number, text) pairs in page order.
        mentions: what find_mentions returned for the same pages.
        date_of_service: decides which codes are in effect; today when unknown.
        icd10: the ICD-10-CM table to validate diagnoses; the bundled extract
            when not given.

    Returns:
        The coded lines (procedures, else an office E/M), whether the document
        needs a coder's review and why, and the physician queries.
    """
    on = date_of_service or dt.date.today()
    table = icd10 or default_icd10_table()
    sections = split_sections(PAGE_SEPARATOR.join(text for _, text in pages))
    categories = {section.category for section in sections}
    procedures = code_procedures(pages, mentions, on, categories)
    codes, reasons = procedures.codes, list(procedures.review_reasons)
    queries: list[PhysicianQuery] = list(procedures.queries)

    # E/M only when no procedure was coded: a visit on a procedure day needs
    # modifier 25 and a separate problem, which this step does not judge.
    if not codes and is_visit_note(sections):
        visit = code_visit(sections, on)
        if visit.line is not None:
            codes.append(visit.line)
        elif visit.review_reason:
            reasons.append(visit.review_reason)

    diagnoses = _diagnoses(sections, on, table)
    for line in codes:
        line.icd10cm_codes = list(diagnoses)
    _apply_review(codes, reasons)
    if not codes:
        reasons.append(NO_SERVICE)
    logger.info("coded %d lines, %d review reasons", len(codes), len(reasons))
    return CodingResult(codes, bool(reasons), reasons, queries)


def _query_id(encounter_id: str, query: PhysicianQuery) -> str:
    key = f"{encounter_id}|{query.cpt_code}|{query.missing}"
    return "q-" + hashlib.sha256(key.encode()).hexdigest()[:16]


def code_frames(
    encounter_id: str,
    document_id: str,
    partition_date: dt.date,
    result: CodingResult | None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Build the coding.encounter_codes and coding.physician_queries rows.

    Args:
        encounter_id: the encounter the document belongs to.
        document_id: sha256 hex of the document's bytes.
        partition_date: the partition of the document.
        result: what code_document returned; None gives empty frames with the
            tables' columns.

    Returns:
        (encounter_codes, physician_queries), columns as in docs/architecture.md.
    """
    lines = result.codes if result else []
    gaps = result.queries if result else []
    code_rows = [
        {
            "encounter_id": encounter_id,
            "document_id": document_id,
            "partition_date": partition_date,
            "code_sequence": sequence,
            "cpt_code": line.cpt_code,
            "modifiers": line.modifiers,
            "units": line.units,
            "icd10cm_codes": line.icd10cm_codes,
            "confidence": line.confidence,
            "needs_review": line.needs_review,
            "review_reasons": line.review_reasons,
            "evidence": [
                {"page": e.page, "start": e.start, "end": e.end, "text": e.text}
                for e in line.evidence
            ],
            "rule_id": line.rule_id,
            "rules_version": line.rules_version,
        }
        for sequence, line in enumerate(lines, start=1)
    ]
    query_rows = [
        {
            "query_id": _query_id(encounter_id, query),
            "encounter_id": encounter_id,
            "document_id": document_id,
            "partition_date": partition_date,
            "cpt_code": query.cpt_code,
            "missing": query.missing,
            "question": query.question,
            "status": "open",
        }
        for query in gaps
    ]
    return (
        pl.DataFrame(code_rows, schema=ENCOUNTER_CODE_SCHEMA),
        pl.DataFrame(query_rows, schema=QUERY_SCHEMA),
    )
