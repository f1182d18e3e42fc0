"""Tests for coder review: queue order, actions, query life cycle, audit trail."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import polars as pl
import pytest

from cptflow.transforms.claims import build_claims
from cptflow.transforms.coding import CodedLine, CodingResult, Evidence, code_frames
from cptflow.transforms.coding.model import PhysicianQuery
from cptflow.transforms.encounters import ENCOUNTER_SCHEMA
from cptflow.transforms.review import (
    AppendOnlyError,
    ReviewError,
    accept_encounter,
    add_line,
    answer_query,
    apply_review,
    override_line,
    publish_review,
    raise_query,
    record_submissions,
    remove_line,
    review_queue,
    reviewer_name,
    verify_chain,
)
from cptflow.transforms.review.queue import mask_identifier, order_queue
from cptflow.transforms.review.store import audit_statement

PARTITION = dt.date(2026, 11, 2)
TODAY = dt.date(2026, 11, 12)
CXR_NOTE = """RADIOLOGY REPORT

EXAM: Chest x-ray.

INDICATION: Cough and fever for three days.

FINDINGS: The lungs are clear. No pleural effusion or pneumothorax. Heart size is
normal.

IMPRESSION: No acute cardiopulmonary process. Cough.
"""
# (encounter id, patient id, needs review, codes as (cpt, modifiers), query)
ENCOUNTERS = [
    ("ENC-A", "PT1000001", True, [("45378", [])], None),
    ("ENC-B", "PT2000002", True, [("45385", []), ("45380", ["XS"])], None),
    ("ENC-C", "PT3000003", False, [("99213", [])], None),
    (
        "ENC-D",
        "PT4000004",
        True,
        [("71045", [])],
        PhysicianQuery("71045", "view_count", "How many views were taken?"),
    ),
]


def _coding_result(codes: list[tuple[str, list[str]]], query) -> CodingResult:
    lines = [
        CodedLine(
            cpt_code=cpt,
            modifiers=list(modifiers),
            icd10cm_codes=["K63.5"],
            confidence=0.6,
            evidence=[Evidence(1, 0, 9, "procedure")],
            rule_id="test.rule",
            rules_version="test-1",
        )
        for cpt, modifiers in codes
    ]
    return CodingResult(lines, True, [], [query] if query else [])


def _write(conn: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
    conn.register("frame", frame.to_arrow())
    conn.execute(f"create table {table} as select * from frame")
    conn.unregister("frame")


def build_review_db(path: Path) -> Path:
    """A pipeline database with the stage tables review reads, coded by hand.

    Claims are built by the real claims transform from the coded rows, so ENC-B
    (two lines) carries the most value at risk.
    """
    encounters, codes, queries, pages, documents = [], [], [], [], []
    for eid, patient, needs_review, lines, query in ENCOUNTERS:
        document_id = eid.lower() * 4
        code_rows, query_rows = code_frames(
            eid, document_id, PARTITION, _coding_result(lines, query)
        )
        codes.append(code_rows)
        queries.append(query_rows)
        encounters.append(
            {
                "encounter_id": eid,
                "document_id": document_id,
                "partition_date": PARTITION,
                "patient_id": patient,
                "date_of_service": dt.date(2026, 10, 30),
                "rendering_npi": "1234567893",
                "payer_id": "87726",
                "place_of_service": "22",
                "metadata_source": "manifest",
                "needs_review": needs_review,
                "review_reasons": ["confidence 0.6 below 0.7"] if needs_review else [],
                "rules_version": "test-1",
            }
        )
        pages.append((document_id, CXR_NOTE if eid == "ENC-D" else "procedure note"))
        documents.append((document_id, patient))

    encounter_frame = pl.DataFrame(encounters, schema=ENCOUNTER_SCHEMA)
    code_frame = pl.concat(codes)
    claims, _ = build_claims(encounter_frame, code_frame, partition_date=PARTITION)
    with duckdb.connect(str(path)) as conn:
        for schema in ("coding", "claims", "ocr", "intake"):
            conn.execute(f"create schema {schema}")
        _write(conn, "coding.encounters", encounter_frame)
        _write(conn, "coding.encounter_codes", code_frame)
        _write(conn, "coding.physician_queries", pl.concat(queries))
        _write(conn, "claims.claims", claims)
        _write(
            conn,
            "ocr.page_texts",
            pl.DataFrame(
                [(d, 1, t) for d, t in pages],
                schema=["document_id", "page_number", "text"],
                orient="row",
            ),
        )
        _write(
            conn,
            "intake.documents",
            pl.DataFrame(
                [
                    (d, p, "Pat Example", "processed", "/nowhere", "text")
                    for d, p in documents
                ],
                schema=[
                    "document_id",
                    "patient_id",
                    "patient_name",
                    "status",
                    "file_path",
                    "doc_format",
                ],
                orient="row",
            ).with_columns(
                pl.lit(None, pl.Date).alias("patient_birth_date"),
                pl.lit("F").alias("patient_sex"),
            ),
        )
    return path


@pytest.fixture
def conn(tmp_path: Path):
    """An open connection to a fresh hand-coded review database."""
    database = build_review_db(tmp_path / "pipeline.duckdb")
    with duckdb.connect(str(database)) as connection:
        yield connection


def _trail(conn: duckdb.DuckDBPyConnection, encounter_id: str) -> list[tuple]:
    return conn.execute(
        "select action, actor, json_extract_string(before_code, '$.cpt_code'), "
        "json_extract_string(after_code, '$.cpt_code'), reason "
        "from review.decisions where encounter_id = ? order by sequence_number",
        [encounter_id],
    ).fetchall()


def test_order_queue_puts_value_at_risk_then_age_first() -> None:
    frame = pl.DataFrame(
        {
            "encounter_id": ["e1", "e2", "e3", "e4"],
            "charge_amount": [100.0, 900.0, 100.0, 100.0],
            "age_days": [3, 1, 10, 3],
        }
    )

    ordered = order_queue(frame)["encounter_id"].to_list()

    assert ordered == ["e2", "e3", "e1", "e4"]


@pytest.mark.parametrize(
    ("value", "masked"),
    [("PT1000001", "*******01"), ("AB", "*AB"), (None, "")],
    ids=["patient-id", "two-characters", "missing"],
)
def test_mask_identifier_hides_all_but_last_two(value, masked) -> None:
    assert mask_identifier(value) == masked


def test_review_queue_lists_encounters_awaiting_review_by_value(conn) -> None:
    queue = review_queue(conn, today=TODAY)

    # ENC-B bills 45385 + 45380 (1600 + 1450), ENC-A 45378 (1250), ENC-D 71045.
    assert queue["encounter_id"].to_list() == ["ENC-B", "ENC-A", "ENC-D"]
    assert queue["patient_id_masked"].to_list() == [
        "*******02",
        "*******01",
        "*******04",
    ]
    assert queue["age_days"].to_list() == [10, 10, 10]
    assert queue.filter(pl.col("encounter_id") == "ENC-D")["review_status"].item() == (
        "query_open"
    )


def test_override_correction_leaves_the_original_decisions_visible(conn) -> None:
    override_line(
        conn, "ENC-A", 1, reviewer="ann", reason="polyp removed", cpt_code="45380"
    )
    state = override_line(
        conn, "ENC-A", 1, reviewer="bob", reason="snare, not forceps", cpt_code="45385"
    )

    assert state.lines[1]["cpt_code"] == "45385"
    assert _trail(conn, "ENC-A") == [
        ("proposed", "engine", None, "45378", "confidence 0.6 below 0.7"),
        ("edited", "ann", "45378", "45380", "polyp removed"),
        ("edited", "bob", "45380", "45385", "snare, not forceps"),
    ]
    assert verify_chain(conn, "decisions") == []


def test_add_and_remove_change_the_working_codes(conn) -> None:
    add_line(conn, "ENC-B", reviewer="ann", reason="separate lesion", cpt_code="45381")
    state = remove_line(conn, "ENC-B", 2, reviewer="ann", reason="bundled")

    assert {n: line["cpt_code"] for n, line in state.lines.items()} == {
        1: "45385",
        3: "45381",
    }
    assert [row[0] for row in _trail(conn, "ENC-B")] == [
        "proposed",
        "proposed",
        "added",
        "removed",
    ]


@pytest.mark.parametrize("reason", ["", "   "], ids=["empty", "blank"])
def test_change_without_a_reason_is_refused(conn, reason) -> None:
    with pytest.raises(ReviewError, match="reason"):
        override_line(conn, "ENC-A", 1, reviewer="ann", reason=reason, cpt_code="1")


def test_change_to_a_missing_line_is_refused(conn) -> None:
    with pytest.raises(ReviewError, match="no line 7"):
        remove_line(conn, "ENC-A", 7, reviewer="ann", reason="gone")


def test_accept_is_refused_while_a_query_is_open(conn) -> None:
    query_id = raise_query(
        conn, "ENC-A", reviewer="ann", missing="polyp_size", question="What size?"
    )

    with pytest.raises(ReviewError, match=query_id):
        accept_encounter(conn, "ENC-A", reviewer="ann")


@pytest.mark.parametrize(
    "sql",
    [
        "update review.decisions set reason = 'x'",
        "delete from review.decisions",
        "insert into review.final_codes values (1)",
        "  insert into review.addenda_copy select 1",
    ],
    ids=["update", "delete", "derived-table", "other-table"],
)
def test_audit_statement_refuses_anything_but_an_audit_insert(sql) -> None:
    with pytest.raises(AppendOnlyError):
        audit_statement(sql)


def test_verify_chain_finds_changed_and_removed_rows(conn) -> None:
    override_line(conn, "ENC-A", 1, reviewer="ann", reason="r", cpt_code="45380")
    apply_review(conn, PARTITION)

    conn.execute(
        "update review.decisions set reason = 'rewritten' where action = 'edited'"
    )
    changed = verify_chain(conn, "decisions")
    conn.execute("delete from review.decisions where sequence_number = 1")
    removed = verify_chain(conn, "decisions")

    assert len(changed) == 1 and "changed after it was written" in changed[0]
    assert removed == ["decisions: row 1 missing before 2"]


def test_accepted_codes_reach_the_claim_and_release_it(conn) -> None:
    override_line(conn, "ENC-A", 1, reviewer="ann", reason="r", cpt_code="45385")
    accept_encounter(conn, "ENC-A", reviewer="ann")
    override_line(conn, "ENC-C", 1, reviewer="ann", reason="level", cpt_code="99214")

    final_codes, reviews = apply_review(conn, PARTITION)
    publish_review(conn, PARTITION, final_codes, reviews)
    encounters = conn.execute("select * from coding.encounters").pl()
    codes = conn.execute("select * from coding.encounter_codes").pl()
    claims, lines = build_claims(
        encounters,
        codes,
        partition_date=PARTITION,
        final_codes=conn.execute("select * from review.final_codes").pl(),
        reviews=conn.execute("select * from review.encounter_reviews").pl(),
    )

    status = dict(zip(claims["encounter_id"], claims["status"], strict=True))
    holds = dict(zip(claims["encounter_id"], claims["hold_reason"], strict=True))
    assert status == {
        "ENC-A": "ready",
        "ENC-B": "held",
        "ENC-C": "held",
        "ENC-D": "held",
    }
    # ENC-C went straight through until a coder changed it without accepting.
    assert holds["ENC-C"] == "awaiting_coder_review"
    assert lines.filter(pl.col("encounter_id") == "ENC-A")["cpt_code"].to_list() == [
        "45385"
    ]
    assert final_codes["reviewer"].to_list() == ["ann"]


def test_record_submissions_names_the_837p_file_once(conn) -> None:
    lines = pl.DataFrame(
        {
            "claim_id": ["CF1", "CF1"],
            "claim_line_number": [1, 2],
            "encounter_id": ["ENC-B", "ENC-B"],
            "document_id": ["d", "d"],
            "partition_date": [PARTITION, PARTITION],
            "cpt_code": ["45385", "45380"],
            "modifiers": [[], ["XS"]],
            "units": [1, 1],
            "icd10cm_codes": [["K63.5"], ["K63.5"]],
        }
    )

    first = record_submissions(conn, lines, file_name="837P_0001.x12")
    again = record_submissions(conn, lines, file_name="837P_0001.x12")

    assert (first, again) == (2, 0)
    rows = conn.execute(
        "select claim_file_name, after_code from review.decisions "
        "where action = 'submitted' order by sequence_number"
    ).fetchall()
    assert [json.loads(after)["cpt_code"] for _, after in rows] == ["45385", "45380"]
    assert {name for name, _ in rows} == {"837P_0001.x12"}


def test_reviewer_name_comes_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("CPTFLOW_REVIEWER", "Dana Coder")

    assert reviewer_name() == "Dana Coder"


@pytest.mark.slow
def test_answer_keeps_the_addendum_and_recodes_the_encounter(conn) -> None:
    apply_review(conn, PARTITION)
    query_id = conn.execute(
        "select query_id from review.query_events where encounter_id = 'ENC-D'"
    ).fetchone()[0]

    answer_query(
        conn, query_id, text="Two views of the chest, PA and lateral.", reviewer="ann"
    )
    state = accept_encounter(conn, "ENC-D", reviewer="ann")

    events = conn.execute(
        "select event, actor from review.query_events where query_id = ? "
        "order by sequence_number",
        [query_id],
    ).fetchall()
    assert events == [("opened", "engine"), ("answered", "ann"), ("closed", "engine")]
    addendum = conn.execute("select text, query_id from review.addenda").fetchall()
    assert addendum == [("Two views of the chest, PA and lateral.", query_id)]
    # Two views documented: 71046 replaces the single-view default 71045.
    assert [line["cpt_code"] for line in state.lines.values()] == ["71046"]
    assert state.status == "accepted"
    assert [row[:2] for row in _trail(conn, "ENC-D")] == [
        ("proposed", "engine"),
        ("proposed", "engine"),
        ("accepted", "ann"),
    ]


def test_new_engine_proposal_after_acceptance_waits_for_a_coder(conn) -> None:
    accept_encounter(conn, "ENC-C", reviewer="ann")
    conn.execute(
        "update coding.encounter_codes set cpt_code = '99214' "
        "where encounter_id = 'ENC-C'"
    )

    _, reviews = apply_review(conn, PARTITION)

    status = reviews.filter(pl.col("encounter_id") == "ENC-C")["review_status"]
    assert status.item() == "in_review"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"cpt_code": "ABCDE"}, "cpt_code: ABCDE is not a code"),
        ({"icd10cm_codes": ["NOTACODE"]}, "icd10cm_codes: NOTACODE is not a code"),
        ({"modifiers": ["RIGHT"]}, "modifiers: RIGHT is not a code"),
        ({"units": 0}, "units: 0 is not between 1 and 999"),
    ],
    ids=["cpt", "icd10", "modifier", "units"],
)
def test_override_with_a_malformed_code_is_refused(conn, change, message) -> None:
    with pytest.raises(ReviewError, match=message):
        override_line(conn, "ENC-A", 1, reviewer="ann", reason="fix", **change)


def test_add_line_takes_hcpcs_and_category_ii_codes(conn) -> None:
    state = add_line(
        conn, "ENC-A", reviewer="ann", reason="supply", cpt_code="G0500",
        icd10cm_codes=["K63.5"],
    )  # fmt: skip
    add_line(conn, "ENC-A", reviewer="ann", reason="measure", cpt_code="3288F")

    assert "G0500" in [line["cpt_code"] for line in state.lines.values()]
