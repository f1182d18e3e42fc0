"""Coder-final codes and review statuses of a partition, for the claims stage."""

from __future__ import annotations

import logging
from datetime import date

import duckdb
import polars as pl

from cptflow.transforms.review import store
from cptflow.transforms.review.actions import (
    record_engine_proposal,
    record_engine_queries,
)
from cptflow.transforms.review.workflow import final_code_rows, review_state

logger = logging.getLogger(__name__)

FINAL_CODE_SCHEMA = {
    "encounter_id": pl.Utf8,
    "document_id": pl.Utf8,
    "partition_date": pl.Date,
    "code_sequence": pl.Int32,
    "cpt_code": pl.Utf8,
    "modifiers": pl.List(pl.Utf8),
    "units": pl.Int32,
    "icd10cm_codes": pl.List(pl.Utf8),
    "reviewer": pl.Utf8,
    "accepted_at": pl.Datetime("us"),
}
REVIEW_SCHEMA = {
    "encounter_id": pl.Utf8,
    "partition_date": pl.Date,
    "review_status": pl.Utf8,
    "reviewer": pl.Utf8,
    "accepted_at": pl.Datetime("us"),
    "final_line_count": pl.Int32,
    "open_query_count": pl.Int32,
}


def apply_review(
    conn: duckdb.DuckDBPyConnection, partition_date: date
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Record the engine's proposals and queries, then derive final codes.

    Args:
        conn: an open connection to the pipeline's DuckDB file.
        partition_date: the partition of coding.encounters to review.

    Returns:
        (review.final_codes, review.encounter_reviews) rows of the partition: the
        final codes of accepted encounters, and every encounter's review status.
    """
    store.ensure_schema(conn)
    encounters = conn.execute(
        "select * from coding.encounters where partition_date = ? "
        "order by encounter_id",
        [partition_date],
    ).pl()
    for encounter in encounters.iter_rows(named=True):
        record_engine_proposal(conn, encounter)
        record_engine_queries(conn, encounter)

    decisions = store.read_table(conn, "decisions")
    events = store.read_table(conn, "query_events")
    finals, reviews = [], []
    for encounter in encounters.iter_rows(named=True):
        eid = encounter["encounter_id"]
        state = review_state(
            decisions.filter(pl.col("encounter_id") == eid).to_dicts(),
            events.filter(pl.col("encounter_id") == eid).to_dicts(),
            needs_review=bool(encounter["needs_review"]),
        )
        rows = final_code_rows(
            state,
            encounter_id=eid,
            document_id=encounter["document_id"],
            partition_date=partition_date,
        )
        finals.extend(rows)
        reviews.append(
            {
                "encounter_id": eid,
                "partition_date": partition_date,
                "review_status": state.status,
                "reviewer": state.reviewer,
                "accepted_at": state.accepted_at,
                "final_line_count": len(rows),
                "open_query_count": len(state.open_query_ids),
            }
        )
    logger.info("review: %d encounters, %d final lines", len(reviews), len(finals))
    return (
        pl.DataFrame(finals, schema=FINAL_CODE_SCHEMA),
        pl.DataFrame(reviews, schema=REVIEW_SCHEMA),
    )


def publish_review(
    conn: duckdb.DuckDBPyConnection,
    partition_date: date,
    final_codes: pl.DataFrame,
    encounter_reviews: pl.DataFrame,
) -> None:
    """Replace the partition's rows of the two derived tables."""
    store.replace_derived(conn, "final_codes", final_codes, partition_date)
    store.replace_derived(conn, "encounter_reviews", encounter_reviews, partition_date)


HOLD_STATUSES = ("in_review", "query_open")
CODE_COLUMNS = (
    "encounter_id",
    "document_id",
    "code_sequence",
    "cpt_code",
    "modifiers",
    "units",
    "icd10cm_codes",
)


def apply_coder_review(
    encounters: pl.DataFrame,
    codes: pl.DataFrame,
    final_codes: pl.DataFrame,
    reviews: pl.DataFrame,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The encounters and codes a claim is built from once coders have acted.

    Args:
        encounters: coding.encounters rows.
        codes: coding.encounter_codes rows.
        final_codes: review.final_codes rows.
        reviews: review.encounter_reviews rows.

    Returns:
        (encounters, codes): an accepted encounter's codes are the coder's final
        codes and it no longer awaits review; an encounter in review or with an
        open query awaits review whatever the engine said.
    """
    accepted = reviews.filter(pl.col("review_status") == "accepted")["encounter_id"]
    held = reviews.filter(pl.col("review_status").is_in(HOLD_STATUSES))["encounter_id"]
    encounters = encounters.with_columns(
        pl.when(pl.col("encounter_id").is_in(accepted.implode()))
        .then(False)
        .when(pl.col("encounter_id").is_in(held.implode()))
        .then(True)
        .otherwise(pl.col("needs_review"))
        .alias("needs_review")
    )
    kept = codes.filter(~pl.col("encounter_id").is_in(accepted.implode()))
    coder = final_codes.filter(pl.col("encounter_id").is_in(accepted.implode()))
    merged = pl.concat(
        [
            kept.select(CODE_COLUMNS).cast({"code_sequence": pl.Int32}),
            coder.select(CODE_COLUMNS).cast({"code_sequence": pl.Int32}),
        ],
        how="vertical_relaxed",
    )
    return encounters, merged
