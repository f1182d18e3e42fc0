"""Physician queries answered: the answer kept as an addendum, then re-coded."""

from __future__ import annotations

import logging
import uuid

import duckdb

from cptflow.transforms.review import store
from cptflow.transforms.review.actions import (
    ENGINE,
    ReviewError,
    encounter_row,
    now,
    query_event,
    query_history,
    record_engine_proposal,
)

logger = logging.getLogger(__name__)

ADDENDUM_HEADING = "ADDENDUM (physician answer to coding query):"


def answer_query(
    conn: duckdb.DuckDBPyConnection,
    query_id: str,
    *,
    text: str,
    reviewer: str,
) -> str:
    """Record the physician's answer, re-code the encounter with it, close the query.

    The answer becomes an addendum appended to the document as one more page; the
    engine codes the pages again and its new proposal replaces the working codes,
    which a coder then accepts as usual.

    Returns:
        The id of the new engine proposal.
    """
    events = query_history(conn, query_id)
    last = events.row(-1, named=True)
    if last["event"] != "opened":
        raise ReviewError(f"query {query_id} is {last['event']}, not open")
    if not text.strip():
        raise ReviewError("an answer needs its text")
    encounter = encounter_row(conn, last["encounter_id"])

    store.append_rows(
        conn, "query_events", [query_event(encounter, last, "answered", reviewer, text)]
    )
    addendum = {
        "addendum_id": uuid.uuid4().hex,
        "encounter_id": encounter["encounter_id"],
        "document_id": encounter["document_id"],
        "query_id": query_id,
        "author": reviewer,
        "added_at": now(),
        "text": text.strip(),
    }
    store.append_rows(conn, "addenda", [addendum])

    proposal_id = recode_encounter(conn, encounter, reason=f"re-coded after {query_id}")
    store.append_rows(
        conn, "query_events", [query_event(encounter, last, "closed", ENGINE)]
    )
    return proposal_id


def document_pages(
    conn: duckdb.DuckDBPyConnection, encounter: dict
) -> list[tuple[int, str]]:
    """The document's OCR pages followed by one page per addendum, in order."""
    pages = conn.execute(
        "select page_number, text from ocr.page_texts where document_id = ? "
        "order by page_number",
        [encounter["document_id"]],
    ).fetchall()
    addenda = store.read_table(conn, "addenda", encounter_id=encounter["encounter_id"])
    number = max((p for p, _ in pages), default=0)
    result = [(int(p), str(t)) for p, t in pages]
    for offset, text in enumerate(addenda["text"].to_list(), start=1):
        result.append((number + offset, f"{ADDENDUM_HEADING}\n{text}"))
    return result


def recode_encounter(
    conn: duckdb.DuckDBPyConnection, encounter: dict, *, reason: str
) -> str:
    """Code the document again with its addenda; record the new proposal."""
    # Imported here: medspaCy takes seconds to load, and listing the queue never
    # needs it.
    from cptflow.transforms.coding import code_document, rules_version
    from cptflow.transforms.nlp import find_mentions

    pages = document_pages(conn, encounter)
    result = code_document(
        pages, find_mentions(pages), date_of_service=encounter["date_of_service"]
    )
    version = rules_version()
    codes = [
        {
            "cpt_code": line.cpt_code,
            "modifiers": line.modifiers,
            "units": line.units,
            "icd10cm_codes": line.icd10cm_codes,
            "confidence": line.confidence,
            "review_reasons": line.review_reasons,
            "rules_version": line.rules_version or version,
            "evidence": [
                {"page": e.page, "start": e.start, "end": e.end, "text": e.text}
                for e in line.evidence
            ],
        }
        for line in result.codes
    ]
    logger.info("re-coded encounter into %d lines", len(codes))
    addenda = store.read_table(conn, "addenda", encounter_id=encounter["encounter_id"])
    return record_engine_proposal(
        conn,
        encounter,
        codes,
        extra="|".join(addenda["addendum_id"].to_list()),
        reason=reason,
    )
