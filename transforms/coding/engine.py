"""The coding engine: a document's pages and mentions in, coded lines out."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import logging
import re
from collections.abc import Sequence
from typing import Any

import polars as pl

from cptflow.transforms.coding.components import (
    is_included,
    is_reported,
    names_a_service,
)
from cptflow.transforms.coding.em import (
    VisitDecision,
    code_visit,
    em_sections,
    incomplete_visit,
    visit_kind,
    visit_setting,
)
from cptflow.transforms.coding.icd10 import (
    DiagnosisLink,
    Icd10Table,
    default_icd10_table,
    is_diagnosis_item,
    link_items,
    load_icd10_config,
)
from cptflow.transforms.coding.model import CodedLine, CodingResult, PhysicianQuery
from cptflow.transforms.coding.procedures import (
    PageTexts,
    ProcedureCoding,
    code_procedures,
)
from cptflow.transforms.coding.rules import load_common, load_groups, load_yaml
from cptflow.transforms.coding.sections import (
    DocumentText,
    SectionText,
    section_text,
    split_sections,
)
from cptflow.transforms.nlp.mentions import Mention

logger = logging.getLogger(__name__)

DIAGNOSIS_SECTIONS = {"impression"}
FALLBACK_DIAGNOSIS_SECTIONS = {"indication"}
NO_SERVICE = "no codable service found in the document"
SINGLE_PROBLEM_VISIT = (
    "E/M with modifier 25 beside a procedure for one assessed problem: "
    "separately identifiable work not shown"
)
DISCHARGE_PROCEDURES = (
    "procedures named in a discharge summary: billed from their own reports"
)
SAME_AS_ABOVE = re.compile(r"\s*(same|same as (above|preoperative))\b", re.I)
PRIMARY_MAX_WORDS = 8

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


def _diagnosis_links(
    sections: list[SectionText], on: dt.date, table: Icd10Table
) -> list[DiagnosisLink]:
    text = section_text(sections, DIAGNOSIS_SECTIONS)
    fallback = section_text(sections, FALLBACK_DIAGNOSIS_SECTIONS)

    # "POSTOPERATIVE DIAGNOSIS: Same" points back at the preoperative one.
    if SAME_AS_ABOVE.match(text):
        text = fallback
    links = link_items(text, on, table)
    if any(link.code for link in links):
        return links
    return link_items(fallback, on, table)


def _diagnosis_reason(links: list[DiagnosisLink]) -> str | None:
    if not any(link.code for link in links):
        return None
    stated = [link for link in links if is_diagnosis_item(link.item)]
    if not stated:
        return None
    first = stated[0]
    short = len(first.item.split()) <= PRIMARY_MAX_WORDS
    if first.code is None and short:
        return "first listed diagnosis not coded: only secondary codes linked"
    return None


def _ordered_diagnoses(links: list[DiagnosisLink]) -> list[str]:
    # The first-listed code is the reason for the encounter: codes of items that
    # state a current diagnosis come before those of history or gestation items.
    stated = [link.code for link in links if link.code and is_diagnosis_item(link.item)]
    others = [link.code for link in links if link.code]
    return list(dict.fromkeys(stated + others))


def _visit(
    document: DocumentText,
    sections: list[SectionText],
    procedures: ProcedureCoding,
    on: dt.date,
    setting: str,
) -> VisitDecision | None:
    kind = visit_kind(sections)
    if setting == "discharge":
        return code_visit(document, sections, on)
    if kind == "incomplete" and not procedures.codes:
        return incomplete_visit()

    # Most procedure reports carry no billable E/M: only a note that also holds
    # a full visit (history, exam, assessment) beside the procedure gets one,
    # with modifier 25; a visit note whose procedure went uncoded is reviewed.
    if kind == "visit":
        return code_visit(
            document, sections, on, same_day_procedure=bool(procedures.codes)
        )
    if kind == "visit_with_procedure" and procedures.codes:
        return code_visit(document, sections, on, same_day_procedure=True)
    return None


def _question_single_problem_visit(
    visit: VisitDecision | None, links: list[DiagnosisLink]
) -> None:
    # The decision to do a minor procedure is part of it: an E/M beside one
    # for a single assessed problem shows no separately identifiable work
    # unless the author says more, so a coder decides on modifier 25.
    line = visit.line if visit is not None else None
    if line is None or "25" not in line.modifiers:
        return
    stated = {link.code or link.item for link in links if is_diagnosis_item(link.item)}
    if len(stated) <= 1:
        line.needs_review = True
        line.review_reasons.append(SINGLE_PROBLEM_VISIT)


def _keep_true_evidence(
    codes: list[CodedLine], pages: Sequence[tuple[int, str]]
) -> None:
    # A span must quote its page exactly; a line left with none cannot be
    # explained to a coder, so it is reviewed rather than sent straight through.
    texts = dict(pages)
    for line in codes:
        line.evidence = [
            e for e in line.evidence if texts.get(e.page, "")[e.start : e.end] == e.text
        ]
        if not line.evidence:
            line.needs_review = True
            line.review_reasons.append("no evidence span in the page text")


@functools.cache
def _review_rules() -> dict[str, Any]:
    return load_yaml("review.yaml")


def _lower_conflicting(codes: list[CodedLine], mentions: Sequence[Mention]) -> None:
    # The same service sections saying a coded concept was not done make the
    # line doubtful, however strong its own mention; plans ("repeat colonoscopy
    # in five years") are ordinary there and do not count.
    review = _review_rules()
    sections = set(review["conflict_sections"])
    doubted = {m.concept for m in mentions if m.section in sections and m.is_negated}
    for line in codes:
        quoted = {(e.page, e.start, e.end) for e in line.evidence}
        concepts = {m.concept for m in mentions if _is_quoted(m, quoted)}
        if concepts & doubted:
            penalty = float(review["conflict_penalty"])
            line.confidence = round(max(line.confidence - penalty, 0.0), 3)
            line.review_reasons.append(
                "conflicting mentions: " + ", ".join(sorted(concepts & doubted))
            )
            line.needs_review = True


def _unaccounted_services(
    codes: list[CodedLine],
    mentions: Sequence[Mention],
    known: list[str],
    texts: PageTexts,
) -> list[str]:
    # A performed service mention that no coded line quotes as evidence was
    # recognised but not coded: a coder must see it.
    review = _review_rules()
    concepts = {c for g in load_groups() for c in g.anchors}
    concepts = (concepts | set(review["service_concepts"])) - set(
        review["qualifier_anchors"]
    )
    sections = set(review["service_sections"])
    quoted = {(e.page, e.start, e.end) for line in codes for e in line.evidence}
    cpt_codes = [line.cpt_code for line in codes]
    rule_ids = [line.rule_id for line in codes]
    missed: list[str] = []
    for mention in mentions:
        if not mention.is_performed or mention.section not in sections:
            continue
        if mention.concept not in concepts or mention.concept in missed:
            continue
        if any(f"'{mention.concept}'" in reason for reason in known):
            continue
        if _is_quoted(mention, quoted):
            continue

        # The service told again, or a part of a coded service (the closure of
        # the surgeon's incision), is accounted for; anything else is not.
        if is_reported(mention.concept, rule_ids):
            continue
        if is_included(mention.concept, cpt_codes):
            continue
        if names_a_service(mention.concept, _beside(mention, mentions, texts)):
            missed.append(mention.concept)
    return [f"procedure '{c}' documented but not coded" for c in missed]


def _beside(
    mention: Mention, mentions: Sequence[Mention], texts: PageTexts
) -> set[str]:
    start, end = texts.bounds(mention)
    return {
        m.concept
        for m in mentions
        if m.is_performed
        and m.page_number == mention.page_number
        and start <= m.start < end
    }


def _is_quoted(mention: Mention, quoted: set[tuple[int, int, int]]) -> bool:
    return any(
        page == mention.page_number and start < mention.end and mention.start < end
        for page, start, end in quoted
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
        icd10: the ICD-10-CM table to validate diagnoses; the bundled CMS table
            when not given.

    Returns:
        The coded lines (an E/M first when the note is a visit, modifier 25
        beside a same-day procedure; then the procedures), whether the
        document needs a coder's review and why, and the physician queries.
    """
    on = date_of_service or dt.date.today()
    table = icd10 or default_icd10_table()
    document = DocumentText.of(pages)
    categories = {section.category for section in split_sections(document.text)}
    procedures = code_procedures(pages, mentions, on, categories)
    codes, reasons = procedures.codes, list(procedures.review_reasons)
    queries: list[PhysicianQuery] = list(procedures.queries)
    sections = em_sections(document, load_icd10_config()["diagnosis_headers"])

    # A discharge summary lists the stay's operations, which are billed from
    # their own reports; the discharge day is this document's service.
    setting = visit_setting(document, sections)
    if codes and setting == "discharge":
        codes = []
        reasons.append(DISCHARGE_PROCEDURES)

    visit = _visit(document, sections, procedures, on, setting)
    if visit is not None:
        if visit.line is not None:
            codes.insert(0, visit.line)
        if visit.review_reason:
            reasons.append(visit.review_reason)
        if visit.query is not None:
            queries.append(visit.query)

    links = _diagnosis_links(sections, on, table)
    diagnoses = _ordered_diagnoses(links)
    gap = _diagnosis_reason(links)
    for line in codes:
        leads = [code for code in line.lead_diagnoses if table.is_billable(code)]
        line.icd10cm_codes = list(dict.fromkeys(leads + diagnoses))
        if gap:
            line.needs_review = True
            line.review_reasons.append(gap)
    _question_single_problem_visit(visit, links)
    _keep_true_evidence(codes, pages)
    _lower_conflicting(codes, mentions)
    if codes:
        reasons.extend(
            r
            for r in _unaccounted_services(codes, mentions, reasons, PageTexts(pages))
            if r not in reasons
        )
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
