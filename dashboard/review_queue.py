"""Streamlit page: the coder's review queue and one encounter's review (it writes)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import duckdb
import polars as pl
import streamlit as st

from cptflow.orchestration.resources import connect_database
from cptflow.orchestration.settings import Paths
from cptflow.transforms.review import (
    ReviewError,
    accept_encounter,
    add_line,
    answer_query,
    encounter_page,
    override_line,
    raise_query,
    remove_line,
    review_queue,
    reviewer_name,
)
from cptflow.transforms.review.pages import evidence_pages

DB_PATH = Paths.from_env().db


@contextmanager
def database() -> Iterator[duckdb.DuckDBPyConnection]:
    """A short-lived connection: DuckDB has one writer per file, so hold none."""
    conn = connect_database(DB_PATH)
    try:
        yield conn
    finally:
        conn.close()


def split_codes(value: str) -> list[str]:
    """A comma-separated field as upper-case codes."""
    return [part.strip().upper() for part in value.split(",") if part.strip()]


def act(action: Callable[[duckdb.DuckDBPyConnection], Any], done: str) -> None:
    """Run one review action in its own connection, then show the new state."""
    try:
        with database() as conn:
            action(conn)
    except ReviewError as error:
        st.session_state["review_message"] = ("error", str(error))
    else:
        st.session_state["review_message"] = ("success", done)
    st.rerun()


def show_message() -> None:
    """The outcome of the last action, once."""
    message = st.session_state.pop("review_message", None)
    if message:
        kind, text = message
        (st.error if kind == "error" else st.success)(text)


def show_queue() -> None:
    """The queue, patients masked, with a link to each encounter."""
    with database() as conn:
        queue = review_queue(conn)
    st.subheader(f"Queue: {queue.height} encounter(s), most value at risk first")
    if queue.is_empty():
        st.info("Nothing is waiting for review.")
        return
    table = queue.with_columns(
        pl.col("review_reasons").list.join("; "),
        ("?encounter=" + pl.col("encounter_id")).alias("open"),
    )
    st.dataframe(
        table.to_pandas(),
        hide_index=True,
        column_config={
            "open": st.column_config.LinkColumn("open", display_text="open")
        },
    )
    chosen = st.selectbox("Open encounter", queue["encounter_id"].to_list())
    if st.button("Open"):
        st.query_params["encounter"] = chosen
        st.rerun()


def show_encounter(encounter_id: str) -> None:
    """One encounter: patient, pages with evidence, codes, edits, actions, trail."""
    try:
        with database() as conn:
            page = encounter_page(conn, encounter_id)
            evidence = [e for line in page.proposal for e in line["evidence"]]
            images = (
                evidence_pages(conn, page.patient, evidence) if page.patient else []
            )
    except ReviewError as error:
        st.error(str(error))
        return
    if st.button("Back to the queue"):
        st.query_params.clear()
        st.rerun()

    patient, encounter = page.patient, page.encounter
    st.subheader(f"Encounter {encounter_id}: {page.status}")
    st.markdown(
        f"**Patient** {patient.get('patient_id') or '-'} · "
        f"{patient.get('patient_name') or '-'} · born "
        f"{patient.get('patient_birth_date') or '-'} · "
        f"**DOS** {encounter['date_of_service']} · "
        f"**NPI** {encounter['rendering_npi'] or '-'} · "
        f"**Payer** {encounter['payer_id'] or '-'}"
    )
    for reason in encounter["review_reasons"] or []:
        st.warning(reason)

    left, right = st.columns([3, 2])
    with left:
        show_pages(images, page)
    with right:
        show_codes(page)
        show_actions(encounter_id, page)
    show_trail(page)


def show_pages(images: list, page: Any) -> None:
    """The document's pages with evidence words boxed; text notes as text."""
    st.markdown("#### Document")
    if not images:
        st.caption("No page image (a text note or a missing file).")
    for number, image in images:
        st.image(image, caption=f"Page {number}", width="stretch")
    for row in page.addenda.iter_rows(named=True):
        st.info(
            f"Addendum by {row['author']} ({row['added_at']:%Y-%m-%d}): {row['text']}"
        )


def show_codes(page: Any) -> None:
    """Working codes, the engine's proposal, the claim lines and scrub edits."""
    st.markdown("#### Working codes")
    # Small tables as HTML tables: readable by screen readers and browser tests.
    st.table(_frame(page.lines))
    st.markdown("#### Engine proposal")
    proposal = [
        {**line, "evidence": "; ".join(e["text"] for e in line["evidence"])}
        for line in page.proposal
    ]
    st.dataframe(_frame(proposal), hide_index=True)
    st.markdown("#### Claim lines")
    if page.claim_lines.is_empty():
        st.caption("No claim yet.")
    else:
        st.table(_frame(page.claim_lines.to_dicts()))
    if page.claim_edits is not None:
        st.markdown("#### Scrub edits")
        st.dataframe(page.claim_edits.to_pandas(), hide_index=True)
    for query in page.queries:
        st.markdown(
            f"**Query {query['query_id']}** ({query['event']}): {query['question']}"
            + (f" — answer: {query['answer_text']}" if query.get("answer_text") else "")
        )


def _frame(rows: list[dict]) -> Any:
    """Rows as a table with list columns joined for display."""
    if not rows:
        return pl.DataFrame().to_pandas()
    frame = pl.DataFrame(rows)
    lists = [name for name, dtype in frame.schema.items() if dtype.is_nested()]
    return frame.with_columns(
        pl.col(lists).cast(pl.List(pl.Utf8)).list.join(",")
    ).to_pandas()


def show_actions(encounter_id: str, page: Any) -> None:
    """Forms for accept, override, add, remove, raise and answer a query."""
    who = reviewer_name()
    line_numbers = [line["line_number"] for line in page.lines]
    st.markdown("#### Actions")
    if st.button("Accept codes", type="primary"):
        act(
            lambda conn: accept_encounter(conn, encounter_id, reviewer=who),
            "Codes accepted; the claim is released on the next pipeline run.",
        )
    if line_numbers:
        with st.form("override"):
            st.markdown("Override a line")
            number = st.selectbox("Line", line_numbers, key="override_line")
            cpt = st.text_input("CPT code", key="override_cpt")
            modifiers = st.text_input("Modifiers (comma-separated)", key="override_mod")
            units = st.number_input(
                "Units (empty keeps them)",
                min_value=1,
                value=None,
                key="override_units",
            )
            reason = st.text_input("Reason for the change", key="override_reason")
            if st.form_submit_button("Override line"):
                act(
                    lambda conn: override_line(
                        conn,
                        encounter_id,
                        int(number),
                        reviewer=who,
                        reason=reason,
                        cpt_code=cpt.strip().upper() or None,
                        modifiers=split_codes(modifiers) if modifiers else None,
                        units=int(units) if units else None,
                    ),
                    f"Line {number} overridden.",
                )
        with st.form("remove"):
            number = st.selectbox("Line to remove", line_numbers, key="remove_line")
            reason = st.text_input("Reason for removing", key="remove_reason")
            if st.form_submit_button("Remove line"):
                act(
                    lambda conn: remove_line(
                        conn, encounter_id, int(number), reviewer=who, reason=reason
                    ),
                    f"Line {number} removed.",
                )
    with st.form("add"):
        st.markdown("Add a line")
        cpt = st.text_input("CPT code to add", key="add_cpt")
        modifiers = st.text_input("Modifiers to add (comma-separated)", key="add_mod")
        dx = st.text_input("ICD-10-CM codes (comma-separated)", key="add_dx")
        reason = st.text_input("Reason for adding", key="add_reason")
        if st.form_submit_button("Add line"):
            act(
                lambda conn: add_line(
                    conn,
                    encounter_id,
                    reviewer=who,
                    reason=reason,
                    cpt_code=cpt.strip().upper(),
                    modifiers=split_codes(modifiers),
                    icd10cm_codes=split_codes(dx),
                ),
                "Line added.",
            )
    show_query_forms(encounter_id, page, who)


def show_query_forms(encounter_id: str, page: Any, who: str) -> None:
    """Raise a physician query, or record the answer to an open one."""
    with st.form("query"):
        st.markdown("Raise a physician query")
        missing = st.text_input("What is missing", key="query_missing")
        question = st.text_area("Question to the physician", key="query_question")
        if st.form_submit_button("Raise query"):
            act(
                lambda conn: raise_query(
                    conn, encounter_id, reviewer=who, missing=missing, question=question
                ),
                "Query raised; the encounter waits for the answer.",
            )
    open_ids = [q["query_id"] for q in page.queries if q["event"] == "opened"]
    if open_ids:
        with st.form("answer"):
            query_id = st.selectbox("Open query", open_ids)
            text = st.text_area("Physician's answer", key="answer_text")
            if st.form_submit_button("Record answer and re-code"):
                act(
                    lambda conn: answer_query(conn, query_id, text=text, reviewer=who),
                    "Answer kept as an addendum; the encounter was re-coded.",
                )


def show_trail(page: Any) -> None:
    """The encounter's audit trail, oldest first."""
    st.markdown("#### Audit trail")
    trail = page.decisions.select(
        "sequence_number",
        "decided_at",
        "actor",
        "action",
        "line_number",
        "before_code",
        "after_code",
        "reason",
        "rules_version",
        "confidence",
    )
    st.dataframe(trail.to_pandas(), hide_index=True, key="audit_trail")
    st.text(
        "\n".join(
            f"#{row['sequence_number']} {row['actor']} {row['action']} "
            f"line {row['line_number']}: "
            f"{_cpt(row['before_code'])} -> {_cpt(row['after_code'])}"
            + (f" ({row['reason']})" if row["reason"] else "")
            for row in page.decisions.iter_rows(named=True)
        )
    )


def _cpt(code_json: str | None) -> str:
    """The CPT code of a before/after JSON value, or '-'."""
    if not code_json:
        return "-"
    value = json.loads(code_json)
    if isinstance(value, list):
        return ",".join(line["cpt_code"] for line in value) or "none"
    return value["cpt_code"]


def main() -> None:
    """Lay out the page: the queue, or the encounter named in the URL."""
    st.set_page_config(page_title="cptflow review", layout="wide")
    st.title("Coder review")
    st.caption(
        f"Reviewer: {reviewer_name()} · database {DB_PATH}. This page writes: every "
        "action appends to the review audit trail in the pipeline database."
    )
    # duckdb.connect would create an empty file: say so instead.
    if not DB_PATH.is_file():
        st.error(f"{DB_PATH}: no such database (run `cptflow run` or `cptflow demo`).")
        st.stop()
    show_message()
    encounter_id = st.query_params.get("encounter")
    if encounter_id:
        show_encounter(encounter_id)
    else:
        show_queue()


main()
