"""Coder actions and engine proposals, each appended to the audit trail."""

from __future__ import annotations

import getpass
import hashlib
import json
import logging
import os
import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import duckdb
import polars as pl

from cptflow.transforms.errors import CptflowError
from cptflow.transforms.review import store
from cptflow.transforms.review.workflow import ReviewState, review_state

logger = logging.getLogger(__name__)

ENGINE = "engine"


class ReviewError(CptflowError):
    """A review action that cannot be done as asked (unknown encounter, line...)."""


def reviewer_name() -> str:
    """Who is acting: $CPTFLOW_REVIEWER, else the operating system user."""
    return os.environ.get("CPTFLOW_REVIEWER") or getpass.getuser()


def now() -> datetime:
    """The current UTC time without a zone, as the audit tables store it."""
    return datetime.now(UTC).replace(tzinfo=None)


def encounter_row(conn: duckdb.DuckDBPyConnection, encounter_id: str) -> dict:
    """The coding.encounters row of an encounter, or ReviewError."""
    rows = conn.execute(
        "select * from coding.encounters where encounter_id = ? "
        "order by partition_date desc limit 1",
        [encounter_id],
    ).pl()
    if rows.is_empty():
        raise ReviewError(f"no encounter {encounter_id!r} in coding.encounters")
    return rows.row(0, named=True)


def current_state(conn: duckdb.DuckDBPyConnection, encounter_id: str) -> ReviewState:
    """The encounter's review state, recording the engine's proposal first."""
    encounter = encounter_row(conn, encounter_id)
    record_engine_proposal(conn, encounter)
    record_engine_queries(conn, encounter)
    return _state_of(conn, encounter)


def _state_of(conn: duckdb.DuckDBPyConnection, encounter: dict) -> ReviewState:
    decisions = store.read_table(
        conn, "decisions", encounter_id=encounter["encounter_id"]
    )
    events = store.read_table(
        conn, "query_events", encounter_id=encounter["encounter_id"]
    )
    return review_state(
        decisions.to_dicts(),
        events.to_dicts(),
        needs_review=bool(encounter["needs_review"]),
    )


def proposal_fingerprint(
    encounter_id: str, codes: Sequence[Mapping[str, Any]], extra: str = ""
) -> str:
    """An id for one engine proposal: the same codes give the same id."""
    content = [[store.code_json(code), code.get("rules_version")] for code in codes]
    key = json.dumps([encounter_id, content, extra])
    return "p-" + hashlib.sha256(key.encode()).hexdigest()[:16]


def record_engine_proposal(
    conn: duckdb.DuckDBPyConnection,
    encounter: dict,
    codes: Sequence[Mapping[str, Any]] | None = None,
    *,
    extra: str = "",
    reason: str | None = None,
) -> str:
    """Append the engine's proposal for an encounter unless already recorded.

    Args:
        conn: an open connection.
        encounter: the coding.encounters row.
        codes: coding.encounter_codes rows; read from the table when None.
        extra: distinguishes a re-coding from an identical earlier proposal.
        reason: why the engine proposed again (a re-coding), if it did.

    Returns:
        The proposal id.
    """
    if codes is None:
        codes = (
            conn.execute(
                "select * from coding.encounter_codes where encounter_id = ? "
                "and partition_date = ? order by code_sequence",
                [encounter["encounter_id"], encounter["partition_date"]],
            )
            .pl()
            .to_dicts()
        )
    proposal_id = proposal_fingerprint(encounter["encounter_id"], codes, extra)
    seen = store.read_table(conn, "decisions", encounter_id=encounter["encounter_id"])
    if proposal_id in set(seen["proposal_id"].to_list()):
        return proposal_id

    base = _decision_base(encounter, proposal_id, ENGINE)
    rows = [
        {
            **base,
            "decision_id": uuid.uuid4().hex,
            "line_number": sequence,
            "after_code": store.code_json(code),
            "reason": reason or _engine_reason(code, encounter),
            "rules_version": code.get("rules_version") or encounter["rules_version"],
            "confidence": code.get("confidence"),
            "evidence": json.dumps(code.get("evidence") or []),
        }
        for sequence, code in enumerate(codes, start=1)
    ]
    if not rows:
        # No codable service: the proposal is empty, and a coder may add codes.
        rows = [
            {
                **base,
                "decision_id": uuid.uuid4().hex,
                "line_number": None,
                "reason": reason or "; ".join(encounter["review_reasons"] or []),
                "rules_version": encounter["rules_version"],
            }
        ]
    store.append_rows(conn, "decisions", rows)
    logger.info("recorded proposal %s with %d lines", proposal_id, len(codes))
    return proposal_id


def _engine_reason(code: Mapping[str, Any], encounter: dict) -> str | None:
    """Why the engine sent the line (else its encounter) to review, if it did."""
    reasons = code.get("review_reasons") or encounter.get("review_reasons") or []
    return "; ".join(reasons) or None


def _decision_base(encounter: dict, proposal_id: str | None, actor: str) -> dict:
    return {
        "encounter_id": encounter["encounter_id"],
        "document_id": encounter["document_id"],
        "partition_date": encounter["partition_date"],
        "proposal_id": proposal_id,
        "action": "proposed" if actor == ENGINE else None,
        "actor": actor,
        "decided_at": now(),
    }


def record_engine_queries(conn: duckdb.DuckDBPyConnection, encounter: dict) -> int:
    """Append an `opened` event for each engine query not yet in the trail."""
    queries = conn.execute(
        "select * from coding.physician_queries where encounter_id = ? "
        "and partition_date = ? order by query_id",
        [encounter["encounter_id"], encounter["partition_date"]],
    ).pl()
    known = set(
        store.read_table(conn, "query_events", encounter_id=encounter["encounter_id"])[
            "query_id"
        ].to_list()
    )
    rows = [
        query_event(encounter, query, "opened", ENGINE)
        for query in queries.iter_rows(named=True)
        if query["query_id"] not in known
    ]
    store.append_rows(conn, "query_events", rows)
    return len(rows)


def query_event(
    encounter: Mapping[str, Any],
    query: Mapping[str, Any],
    event: str,
    actor: str,
    answer_text: str | None = None,
) -> dict[str, Any]:
    return {
        "event_id": uuid.uuid4().hex,
        "query_id": query["query_id"],
        "encounter_id": encounter["encounter_id"],
        "document_id": encounter["document_id"],
        "partition_date": encounter["partition_date"],
        "event": event,
        "actor": actor,
        "occurred_at": now(),
        "cpt_code": query.get("cpt_code"),
        "missing": query.get("missing"),
        "question": query.get("question"),
        "answer_text": answer_text,
    }


def accept_encounter(
    conn: duckdb.DuckDBPyConnection,
    encounter_id: str,
    *,
    reviewer: str,
    reason: str | None = None,
) -> ReviewState:
    """Accept the working codes as final; refused while a query is open."""
    encounter = encounter_row(conn, encounter_id)
    state = current_state(conn, encounter_id)
    if state.open_query_ids:
        raise ReviewError(
            f"{encounter_id} has open physician queries: "
            + ", ".join(state.open_query_ids)
        )
    after = json.dumps([line for _, line in sorted(state.lines.items())])
    _append_change(
        conn, encounter, state, "accepted", reviewer, None, None, after, reason
    )
    return _state_of(conn, encounter)


def override_line(
    conn: duckdb.DuckDBPyConnection,
    encounter_id: str,
    line_number: int,
    *,
    reviewer: str,
    reason: str,
    cpt_code: str | None = None,
    modifiers: Sequence[str] | None = None,
    units: int | None = None,
    icd10cm_codes: Sequence[str] | None = None,
) -> ReviewState:
    """Change a working line's code, modifiers, units or diagnoses."""
    reason = _required(reason)
    encounter = encounter_row(conn, encounter_id)
    state = current_state(conn, encounter_id)
    before = _line_of(state, line_number, encounter_id)
    after = {
        "cpt_code": cpt_code or before["cpt_code"],
        "modifiers": list(modifiers) if modifiers is not None else before["modifiers"],
        "units": units if units is not None else before["units"],
        "icd10cm_codes": (
            list(icd10cm_codes)
            if icd10cm_codes is not None
            else before["icd10cm_codes"]
        ),
    }
    _append_change(
        conn,
        encounter,
        state,
        "edited",
        reviewer,
        line_number,
        store.code_json(before),
        store.code_json(_checked(after)),
        reason,
    )
    return _state_of(conn, encounter)


def add_line(
    conn: duckdb.DuckDBPyConnection,
    encounter_id: str,
    *,
    reviewer: str,
    reason: str,
    cpt_code: str,
    modifiers: Sequence[str] = (),
    units: int = 1,
    icd10cm_codes: Sequence[str] = (),
) -> ReviewState:
    """Add a code line after the working lines."""
    reason = _required(reason)
    encounter = encounter_row(conn, encounter_id)
    state = current_state(conn, encounter_id)
    decisions = store.read_table(conn, "decisions", encounter_id=encounter_id)
    used = [n for n in decisions["line_number"].to_list() if n is not None]
    line_number = max(used, default=0) + 1
    after = {
        "cpt_code": cpt_code,
        "modifiers": list(modifiers),
        "units": units,
        "icd10cm_codes": list(icd10cm_codes),
    }
    _append_change(
        conn,
        encounter,
        state,
        "added",
        reviewer,
        line_number,
        None,
        store.code_json(_checked(after)),
        reason,
    )
    return _state_of(conn, encounter)


def remove_line(
    conn: duckdb.DuckDBPyConnection,
    encounter_id: str,
    line_number: int,
    *,
    reviewer: str,
    reason: str,
) -> ReviewState:
    """Remove a working line; the trail keeps what it was."""
    encounter = encounter_row(conn, encounter_id)
    state = current_state(conn, encounter_id)
    before = _line_of(state, line_number, encounter_id)
    _append_change(
        conn,
        encounter,
        state,
        "removed",
        reviewer,
        line_number,
        store.code_json(before),
        None,
        _required(reason),
    )
    return _state_of(conn, encounter)


def _line_of(state: ReviewState, line_number: int, encounter_id: str) -> dict:
    if line_number not in state.lines:
        raise ReviewError(
            f"{encounter_id} has no line {line_number}; lines: "
            + (", ".join(str(n) for n in state.lines) or "none")
        )
    return state.lines[line_number]


# Shapes only: whether a code is valid on the date of service is the scrubber's
# question (invalid_code, invalid_diagnosis), asked of the claim line.
_CODE_SHAPES = {
    "cpt_code": re.compile(r"(\d{4}[0-9FTU]|[A-V]\d{4})"),
    "modifiers": re.compile(r"[0-9A-Z]{2}"),
    "icd10cm_codes": re.compile(r"[A-TV-Z][0-9][0-9AB](\.[0-9A-Z]{1,4})?"),
}


def _checked(line: dict) -> dict:
    """The line, unless a code in it is not shaped like a CPT, modifier or ICD code."""
    for field, shape in _CODE_SHAPES.items():
        values = line[field] if isinstance(line[field], list) else [line[field]]
        wrong = [v for v in values if not shape.fullmatch(str(v))]
        if wrong:
            raise ReviewError(f"{field}: {', '.join(map(str, wrong))} is not a code")
    if not 1 <= int(line["units"]) <= 999:
        raise ReviewError(f"units: {line['units']} is not between 1 and 999")
    return line


def _required(reason: str) -> str:
    if not reason or not reason.strip():
        raise ReviewError("a reason is required for every change")
    return reason.strip()


def _append_change(
    conn: duckdb.DuckDBPyConnection,
    encounter: dict,
    state: ReviewState,
    action: str,
    reviewer: str,
    line_number: int | None,
    before: str | None,
    after: str | None,
    reason: str | None,
) -> None:
    row = {
        **_decision_base(encounter, state.proposal_id, reviewer),
        "decision_id": uuid.uuid4().hex,
        "action": action,
        "line_number": line_number,
        "before_code": before,
        "after_code": after,
        "reason": reason,
        "rules_version": encounter["rules_version"],
    }
    store.append_rows(conn, "decisions", [row])
    logger.info("%s on line %s recorded", action, line_number)


def raise_query(
    conn: duckdb.DuckDBPyConnection,
    encounter_id: str,
    *,
    reviewer: str,
    missing: str,
    question: str,
    cpt_code: str | None = None,
) -> str:
    """Open a physician query for an encounter; returns its query id."""
    encounter = encounter_row(conn, encounter_id)
    current_state(conn, encounter_id)
    if not missing.strip() or not question.strip():
        raise ReviewError("a query needs what is missing and a question")
    key = f"{encounter_id}|{cpt_code or ''}|{missing}|{uuid.uuid4().hex}"
    query = {
        "query_id": "q-" + hashlib.sha256(key.encode()).hexdigest()[:16],
        "cpt_code": cpt_code,
        "missing": missing.strip(),
        "question": question.strip(),
    }
    store.append_rows(
        conn, "query_events", [query_event(encounter, query, "opened", reviewer)]
    )
    return query["query_id"]


def query_history(conn: duckdb.DuckDBPyConnection, query_id: str) -> pl.DataFrame:
    """Every event of one query in order, or ReviewError when unknown."""
    store.ensure_schema(conn)
    events = conn.execute(
        "select * from review.query_events where query_id = ? order by sequence_number",
        [query_id],
    ).pl()
    if events.is_empty():
        raise ReviewError(f"no physician query {query_id!r}")
    return events


def record_submissions(
    conn: duckdb.DuckDBPyConnection, lines: pl.DataFrame, *, file_name: str
) -> int:
    """Append a `submitted` decision per claim line an 837P file carried.

    Args:
        conn: an open connection.
        lines: claims.claim_lines rows of the claims in the file.
        file_name: the 837P file's name.

    Returns:
        The rows appended; a line already recorded for this file is skipped.
    """
    store.ensure_schema(conn)
    known = conn.execute(
        "select claim_id, line_number from review.decisions "
        "where action = 'submitted' and claim_file_name = ?",
        [file_name],
    ).fetchall()
    seen = {(claim, line) for claim, line in known}
    rows = [
        {
            "decision_id": uuid.uuid4().hex,
            "encounter_id": line["encounter_id"],
            "document_id": line["document_id"],
            "partition_date": line["partition_date"],
            "line_number": line["claim_line_number"],
            "action": "submitted",
            "actor": ENGINE,
            "decided_at": now(),
            "after_code": store.code_json(line),
            "claim_id": line["claim_id"],
            "claim_file_name": file_name,
        }
        for line in lines.iter_rows(named=True)
        if (line["claim_id"], line["claim_line_number"]) not in seen
    ]
    store.append_rows(conn, "decisions", rows)
    return len(rows)
