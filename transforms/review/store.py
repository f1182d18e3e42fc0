"""The review schema: the only module that writes it, append-only for the audit trail.

review.decisions, review.query_events and review.addenda are audit tables: rows are
inserted, never updated or deleted. Each row carries the hash of the row before it
(`previous_hash`) and its own (`row_hash`), so `verify_chain` finds any row changed
or removed after it was written. review.final_codes and review.encounter_reviews are
derived from the decisions by the review asset and replaced per partition.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

import duckdb
import polars as pl

SCHEMA = "review"
GENESIS_HASH = "0" * 64
AUDIT_TABLES = ("decisions", "query_events", "addenda")
DERIVED_TABLES = ("final_codes", "encounter_reviews")

DDL = {
    "decisions": """
        create table if not exists review.decisions (
            sequence_number bigint not null,
            decision_id varchar not null,
            encounter_id varchar not null,
            document_id varchar,
            partition_date date,
            proposal_id varchar,
            line_number integer,
            action varchar not null,
            actor varchar not null,
            decided_at timestamp not null,
            before_code varchar,
            after_code varchar,
            reason varchar,
            rules_version varchar,
            confidence double,
            evidence varchar,
            query_id varchar,
            claim_id varchar,
            claim_file_name varchar,
            previous_hash varchar not null,
            row_hash varchar not null
        )""",
    "query_events": """
        create table if not exists review.query_events (
            sequence_number bigint not null,
            event_id varchar not null,
            query_id varchar not null,
            encounter_id varchar not null,
            document_id varchar,
            partition_date date,
            event varchar not null,
            actor varchar not null,
            occurred_at timestamp not null,
            cpt_code varchar,
            missing varchar,
            question varchar,
            answer_text varchar,
            previous_hash varchar not null,
            row_hash varchar not null
        )""",
    "addenda": """
        create table if not exists review.addenda (
            sequence_number bigint not null,
            addendum_id varchar not null,
            encounter_id varchar not null,
            document_id varchar,
            query_id varchar,
            author varchar not null,
            added_at timestamp not null,
            text varchar not null,
            previous_hash varchar not null,
            row_hash varchar not null
        )""",
    "final_codes": """
        create table if not exists review.final_codes (
            encounter_id varchar not null,
            document_id varchar,
            partition_date date not null,
            code_sequence integer not null,
            cpt_code varchar not null,
            modifiers varchar[],
            units integer,
            icd10cm_codes varchar[],
            reviewer varchar,
            accepted_at timestamp
        )""",
    "encounter_reviews": """
        create table if not exists review.encounter_reviews (
            encounter_id varchar not null,
            partition_date date not null,
            review_status varchar not null,
            reviewer varchar,
            accepted_at timestamp,
            final_line_count integer,
            open_query_count integer
        )""",
}
_APPEND_ONLY = re.compile(r"^\s*insert\s+into\s+review\.(\w+)\s", re.IGNORECASE)


class AppendOnlyError(Exception):
    """A statement would change or remove rows of an audit table."""


def ensure_schema(conn: duckdb.DuckDBPyConnection) -> None:
    """Create the review schema and its tables when missing."""
    conn.execute(f"create schema if not exists {SCHEMA}")
    for ddl in DDL.values():
        conn.execute(ddl)


def audit_statement(sql: str) -> str:
    """Return `sql` if it only inserts into an audit table, else raise.

    Every write to an audit table goes through here, so an update or delete can
    never be issued by this module, whatever calls it.
    """
    match = _APPEND_ONLY.match(sql)
    if not match or match.group(1) not in AUDIT_TABLES:
        raise AppendOnlyError(f"not an insert into a review audit table: {sql[:40]!r}")
    return sql


def append_rows(
    conn: duckdb.DuckDBPyConnection, table: str, rows: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Append rows to an audit table in one transaction, chaining their hashes.

    Args:
        conn: an open connection to the pipeline's DuckDB file.
        table: one of AUDIT_TABLES.
        rows: column values, without sequence_number and the two hashes.

    Returns:
        The rows as written, with sequence_number, previous_hash and row_hash.
    """
    if not rows:
        return []
    ensure_schema(conn)
    columns = _columns(conn, table)
    written: list[dict[str, Any]] = []
    conn.execute("begin")
    try:
        sequence, previous = _chain_head(conn, table)
        for row in rows:
            unknown = set(row) - set(columns)
            if unknown:
                raise ValueError(f"review.{table} has no column {sorted(unknown)}")
            sequence += 1
            # Hash every column, NULLs included, so the row hashes the same on read.
            full = {name: row.get(name) for name in columns}
            full.update(sequence_number=sequence, previous_hash=previous)
            full["row_hash"] = row_hash(full)
            _insert(conn, table, full)
            previous = full["row_hash"]
            written.append(full)
        conn.execute("commit")
    except Exception:
        conn.execute("rollback")
        raise
    return written


def _columns(conn: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    """The audit table's columns in table order."""
    cursor = conn.execute(f"select * from review.{table} limit 0")
    return [column[0] for column in cursor.description]


def _chain_head(conn: duckdb.DuckDBPyConnection, table: str) -> tuple[int, str]:
    """The last sequence number and row hash of an audit table."""
    row = conn.execute(
        f"select sequence_number, row_hash from review.{table} "
        "order by sequence_number desc limit 1"
    ).fetchone()
    return (int(row[0]), str(row[1])) if row else (0, GENESIS_HASH)


def _insert(conn: duckdb.DuckDBPyConnection, table: str, row: dict[str, Any]) -> None:
    """Insert one row by column name with bound parameters."""
    columns = ", ".join(f'"{name}"' for name in row)
    marks = ", ".join("?" for _ in row)
    sql = audit_statement(f"insert into review.{table} ({columns}) values ({marks})")
    conn.execute(sql, list(row.values()))


def row_hash(row: Mapping[str, Any]) -> str:
    """sha256 of a row's values (all but row_hash) in a canonical JSON form."""
    content = {k: _canonical(v) for k, v in sorted(row.items()) if k != "row_hash"}
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def _canonical(value: Any) -> Any:
    """A value as the same JSON whether it was just built or read back."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return round(value, 9)
    return value


def verify_chain(conn: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    """Problems found in an audit table's hash chain; empty when it is intact.

    A changed row no longer matches its hash; a removed row leaves a gap in the
    sequence numbers and a broken link to the hash before it.
    """
    ensure_schema(conn)
    frame = conn.execute(f"select * from review.{table} order by sequence_number").pl()
    problems, previous = [], GENESIS_HASH
    for expected, row in enumerate(frame.iter_rows(named=True), start=1):
        number = row["sequence_number"]
        if number != expected:
            problems.append(f"{table}: row {expected} missing before {number}")
            break
        if row["previous_hash"] != previous:
            problems.append(f"{table}: row {number} does not follow row {number - 1}")
        if row_hash(row) != row["row_hash"]:
            problems.append(f"{table}: row {number} changed after it was written")
        previous = row["row_hash"]
    return problems


def read_table(
    conn: duckdb.DuckDBPyConnection,
    table: str,
    *,
    encounter_id: str | None = None,
) -> pl.DataFrame:
    """A review table in write order, optionally for one encounter."""
    ensure_schema(conn)
    order = "sequence_number" if table in AUDIT_TABLES else "encounter_id"
    if encounter_id is None:
        return conn.execute(f"select * from review.{table} order by {order}").pl()
    return conn.execute(
        f"select * from review.{table} where encounter_id = ? order by {order}",
        [encounter_id],
    ).pl()


def replace_derived(
    conn: duckdb.DuckDBPyConnection,
    table: str,
    frame: pl.DataFrame,
    partition_date: date,
) -> None:
    """Replace one partition of a derived table (never an audit table)."""
    if table not in DERIVED_TABLES:
        raise AppendOnlyError(f"review.{table} is not a derived table")
    ensure_schema(conn)
    conn.execute("begin")
    try:
        conn.execute(
            f"delete from review.{table} where partition_date = ?", [partition_date]
        )
        conn.register("derived_frame", frame.to_arrow())
        conn.execute(f"insert into review.{table} by name select * from derived_frame")
        conn.unregister("derived_frame")
        conn.execute("commit")
    except Exception:
        conn.execute("rollback")
        raise


def code_json(line: Mapping[str, Any] | None) -> str | None:
    """A code line's billable fields as JSON, for before_code and after_code."""
    if line is None:
        return None
    return json.dumps(
        {
            "cpt_code": line["cpt_code"],
            "modifiers": list(line.get("modifiers") or []),
            "units": int(line.get("units") or 1),
            "icd10cm_codes": list(line.get("icd10cm_codes") or []),
        }
    )
