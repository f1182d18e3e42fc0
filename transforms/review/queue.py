"""The coder's work queue and one encounter's review page, read from DuckDB."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

import duckdb
import polars as pl

from cptflow.transforms.review import store
from cptflow.transforms.review.actions import current_state
from cptflow.transforms.review.workflow import review_state

QUEUE_STATUSES = ("in_review", "query_open")
QUEUE_SCHEMA = {
    "encounter_id": pl.Utf8,
    "patient_id_masked": pl.Utf8,
    "date_of_service": pl.Date,
    "received_date": pl.Date,
    "age_days": pl.Int32,
    "rendering_npi": pl.Utf8,
    "payer_id": pl.Utf8,
    "charge_amount": pl.Float64,
    "review_status": pl.Utf8,
    "review_reasons": pl.List(pl.Utf8),
    "open_query_count": pl.Int32,
}


def mask_identifier(value: str | None) -> str:
    """An identifier with all but its last two characters hidden."""
    if not value:
        return ""
    return "*" * max(len(value) - 2, 1) + value[-2:]


def order_queue(frame: pl.DataFrame) -> pl.DataFrame:
    """Most value at risk first (charge amount), then the oldest, then by id."""
    return frame.sort(
        ["charge_amount", "age_days", "encounter_id"],
        descending=[True, True, False],
        nulls_last=True,
    )


def _has_table(conn: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    row = conn.execute(
        "select count(*) from information_schema.tables "
        "where table_schema = ? and table_name = ?",
        [schema, table],
    ).fetchone()
    return bool(row and row[0])


def review_queue(
    conn: duckdb.DuckDBPyConnection, *, today: date | None = None
) -> pl.DataFrame:
    """Encounters waiting for a coder, with masked patient ids, in queue order.

    An encounter is in the queue when the engine routed it to review or a coder
    touched it, until a coder accepts it; `age_days` counts from its received date.
    """
    store.ensure_schema(conn)
    on = today or date.today()
    encounters = conn.execute("select * from coding.encounters").pl()
    decisions = store.read_table(conn, "decisions")
    events = store.read_table(conn, "query_events")
    charges = _charges(conn)
    unrecorded = _unrecorded_queries(conn, set(events["query_id"].to_list()))

    rows = []
    for encounter in encounters.iter_rows(named=True):
        eid = encounter["encounter_id"]
        state = review_state(
            decisions.filter(pl.col("encounter_id") == eid).to_dicts(),
            events.filter(pl.col("encounter_id") == eid).to_dicts(),
            needs_review=bool(encounter["needs_review"]),
        )
        # The engine's queries count as open before the review asset records them.
        if unrecorded.get(eid):
            state.open_query_ids += unrecorded[eid]
            state.status = "query_open"
        if state.status not in QUEUE_STATUSES:
            continue
        rows.append(_queue_row(encounter, state, charges.get(eid), on))
    return order_queue(pl.DataFrame(rows, schema=QUEUE_SCHEMA))


def _unrecorded_queries(
    conn: duckdb.DuckDBPyConnection, known: set[str]
) -> dict[str, list[str]]:
    """Engine query ids per encounter that the audit trail does not hold yet."""
    rows = conn.execute(
        "select encounter_id, query_id from coding.physician_queries order by 2"
    ).fetchall()
    found: dict[str, list[str]] = {}
    for eid, query_id in rows:
        if query_id not in known:
            found.setdefault(eid, []).append(query_id)
    return found


def _charges(conn: duckdb.DuckDBPyConnection) -> dict[str, float]:
    """Billed amount of each encounter's claim, where claims exist yet."""
    if not _has_table(conn, "claims", "claims"):
        return {}
    rows = conn.execute(
        "select encounter_id, sum(total_charge_amount) from claims.claims group by 1"
    ).fetchall()
    return {eid: float(amount or 0) for eid, amount in rows}


def _queue_row(encounter: dict, state: Any, charge: float | None, on: date) -> dict:
    received = encounter["partition_date"]
    return {
        "encounter_id": encounter["encounter_id"],
        "patient_id_masked": mask_identifier(encounter["patient_id"]),
        "date_of_service": encounter["date_of_service"],
        "received_date": received,
        "age_days": (on - received).days if received else None,
        "rendering_npi": encounter["rendering_npi"],
        "payer_id": encounter["payer_id"],
        "charge_amount": charge or 0.0,
        "review_status": state.status,
        "review_reasons": list(encounter["review_reasons"] or []),
        "open_query_count": len(state.open_query_ids),
    }


@dataclass
class EncounterPage:
    """Everything a coder sees for one encounter, patient identifiers included."""

    encounter: dict[str, Any]
    patient: dict[str, Any]
    status: str
    lines: list[dict[str, Any]]
    proposal: list[dict[str, Any]]
    decisions: pl.DataFrame
    queries: list[dict[str, Any]]
    addenda: pl.DataFrame
    claim_lines: pl.DataFrame
    claim_edits: pl.DataFrame | None


def encounter_page(conn: duckdb.DuckDBPyConnection, encounter_id: str) -> EncounterPage:
    """The encounter's metadata, working codes, proposal, trail, queries and claim."""
    state = current_state(conn, encounter_id)
    encounter = (
        conn.execute(
            "select * from coding.encounters where encounter_id = ? "
            "order by partition_date desc limit 1",
            [encounter_id],
        )
        .pl()
        .row(0, named=True)
    )
    decisions = store.read_table(conn, "decisions", encounter_id=encounter_id)
    proposal = [
        {
            "line_number": row["line_number"],
            **json.loads(row["after_code"]),
            "confidence": row["confidence"],
            "rules_version": row["rules_version"],
            "evidence": json.loads(row["evidence"] or "[]"),
        }
        for row in decisions.iter_rows(named=True)
        if row["action"] == "proposed"
        and row["proposal_id"] == state.proposal_id
        and row["after_code"]
    ]
    return EncounterPage(
        encounter=encounter,
        patient=_patient(conn, encounter["document_id"]),
        status=state.status,
        lines=[{"line_number": n, **line} for n, line in state.lines.items()],
        proposal=proposal,
        decisions=decisions,
        queries=_queries(conn, encounter_id),
        addenda=store.read_table(conn, "addenda", encounter_id=encounter_id),
        claim_lines=_claim_lines(conn, encounter_id),
        claim_edits=_claim_edits(conn, encounter_id),
    )


def _patient(conn: duckdb.DuckDBPyConnection, document_id: str) -> dict[str, Any]:
    rows = conn.execute(
        "select document_id, patient_id, patient_name, patient_birth_date, "
        "patient_sex, file_path, doc_format "
        "from intake.documents where document_id = ? and status = 'processed' "
        "limit 1",
        [document_id],
    ).pl()
    return rows.row(0, named=True) if rows.height else {}


def _queries(conn: duckdb.DuckDBPyConnection, encounter_id: str) -> list[dict]:
    """Each query's latest event, with its question and any answer."""
    events = store.read_table(conn, "query_events", encounter_id=encounter_id)
    latest: dict[str, dict] = {}
    for event in events.iter_rows(named=True):
        merged = {**latest.get(event["query_id"], {}), **event}
        if event["answer_text"] is None and "answer_text" in latest.get(
            event["query_id"], {}
        ):
            merged["answer_text"] = latest[event["query_id"]]["answer_text"]
        latest[event["query_id"]] = merged
    return list(latest.values())


def _claim_lines(conn: duckdb.DuckDBPyConnection, encounter_id: str) -> pl.DataFrame:
    if not _has_table(conn, "claims", "claim_lines"):
        return pl.DataFrame()
    return conn.execute(
        "select l.claim_line_number, l.cpt_code, l.modifiers, l.units, "
        "l.charge_amount, l.icd10cm_codes, c.status, c.hold_reason "
        "from claims.claim_lines l join claims.claims c "
        "on c.claim_id = l.claim_id and c.partition_date = l.partition_date "
        "where l.encounter_id = ? order by l.claim_line_number",
        [encounter_id],
    ).pl()


def _claim_edits(
    conn: duckdb.DuckDBPyConnection, encounter_id: str
) -> pl.DataFrame | None:
    """The scrubber's edits on the encounter's claim, when that stage has run."""
    if not _has_table(conn, "claims", "claim_edits"):
        return None
    return conn.execute(
        "select e.* from claims.claim_edits e where e.claim_id in "
        "(select claim_id from claims.claims where encounter_id = ?)",
        [encounter_id],
    ).pl()
