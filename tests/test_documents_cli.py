"""`cptflow documents`: one JSON line per input file with its final status."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from cptflow.orchestration.cli import app

runner = CliRunner()
DAY_1, DAY_2 = date(2026, 11, 2), date(2026, 11, 3)

# (document_id, partition_date, file_name, status, reason) as intake wrote them.
INTAKE_ROWS = [
    ("a" * 64, DAY_1, "note.txt", "processed", None),
    ("a" * 64, DAY_1, "note_copy.txt", "duplicate", None),
    ("b" * 64, DAY_1, "empty.txt", "quarantined", "empty"),
    ("c" * 64, DAY_1, "blank_scan.pdf", "processed", None),
    # Registered twice (rerun on a later day): the later verdict counts.
    ("d" * 64, DAY_1, "late.pdf", "quarantined", "corrupt"),
    ("d" * 64, DAY_2, "late.pdf", "processed", None),
]
OCR_ROWS = [
    ("a" * 64, DAY_1, "processed", None),
    ("c" * 64, DAY_1, "quarantined", "no_text"),
    ("d" * 64, DAY_2, "processed", None),
]
REMIT_ROWS = [
    ("payer.835", DAY_2, "processed", None),
    ("broken.835", DAY_1, "quarantined", "ISA segment is missing"),
    ("broken.835", DAY_2, "quarantined", "ISA segment is missing"),
]


def _write_db(path: Path, *, with_ocr: bool = True) -> None:
    with duckdb.connect(str(path)) as conn:
        conn.execute("create schema intake; create schema ocr; create schema remits")
        conn.execute(
            "create table intake.documents (document_id varchar, partition_date "
            "date, file_path varchar, file_name varchar, status varchar, "
            "reason varchar)"
        )
        for doc_id, day, name, status, reason in INTAKE_ROWS:
            conn.execute(
                "insert into intake.documents values (?, ?, ?, ?, ?, ?)",
                [doc_id, day, f"/inbox/{name}", name, status, reason],
            )
        if with_ocr:
            conn.execute(
                "create table ocr.document_status (document_id varchar, "
                "partition_date date, status varchar, reason varchar)"
            )
            conn.executemany(
                "insert into ocr.document_status values (?, ?, ?, ?)", OCR_ROWS
            )
        conn.execute(
            "create table remits.remittance_files (file_name varchar, "
            "partition_date date, status varchar, reason varchar)"
        )
        conn.executemany(
            "insert into remits.remittance_files values (?, ?, ?, ?)", REMIT_ROWS
        )


def _lines(db: Path) -> list[dict]:
    result = runner.invoke(app, ["documents", "--db", str(db), "--format", "jsonl"])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_documents_lists_every_file_once_with_its_final_status(tmp_path: Path) -> None:
    db = tmp_path / "cptflow.duckdb"
    _write_db(db)

    assert _lines(db) == [
        {"file": "blank_scan.pdf", "status": "quarantined", "reason": "no_text"},
        {"file": "empty.txt", "status": "quarantined", "reason": "empty"},
        {"file": "late.pdf", "status": "processed", "reason": None},
        {"file": "note.txt", "status": "processed", "reason": None},
        {"file": "note_copy.txt", "status": "duplicate", "reason": None},
        {
            "file": "broken.835",
            "status": "quarantined",
            "reason": "ISA segment is missing",
        },
        {"file": "payer.835", "status": "processed", "reason": None},
    ]


def test_documents_works_before_ocr_has_run(tmp_path: Path) -> None:
    db = tmp_path / "cptflow.duckdb"
    _write_db(db, with_ocr=False)

    statuses = {line["file"]: line["status"] for line in _lines(db)}
    assert statuses["blank_scan.pdf"] == "processed"
    assert len(statuses) == 7


def test_documents_prints_nothing_for_an_empty_database(tmp_path: Path) -> None:
    db = tmp_path / "cptflow.duckdb"
    duckdb.connect(str(db)).close()

    assert _lines(db) == []


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["--db", "missing.duckdb"], id="missing-db"),
        pytest.param(["--format", "csv"], id="unknown-format"),
    ],
)
def test_documents_rejects_bad_arguments(tmp_path: Path, args: list[str]) -> None:
    db = tmp_path / "cptflow.duckdb"
    _write_db(db)
    if args[0] == "--db":
        args = ["--db", str(tmp_path / args[1])]
    else:
        args = ["--db", str(db), *args]

    result = runner.invoke(app, ["documents", *args])

    assert result.exit_code == 2
    assert "Traceback" not in result.output
