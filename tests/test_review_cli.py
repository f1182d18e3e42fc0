"""Tests for `cptflow review`: list, show and the coder's actions with exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from test_review import build_review_db
from typer.testing import CliRunner

from cptflow.orchestration.cli import app

runner = CliRunner()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A fresh hand-coded pipeline database."""
    return build_review_db(tmp_path / "pipeline.duckdb")


def review(db: Path, *args: str, reviewer: str = "Dana Coder"):
    """Invoke `cptflow review ARGS --db DB` as a reviewer."""
    return runner.invoke(
        app,
        ["review", *args, "--db", str(db)],
        env={"CPTFLOW_REVIEWER": reviewer, "COLUMNS": "200"},
    )


def test_review_list_masks_patient_ids_in_queue_order(db: Path) -> None:
    result = review(db, "list", "--format", "jsonl")

    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.exit_code == 0
    assert [row["encounter_id"] for row in rows] == ["ENC-B", "ENC-A", "ENC-D"]
    assert "PT2000002" not in result.stdout
    assert rows[0]["patient_id_masked"] == "*******02"


def test_review_show_reveals_the_patient(db: Path) -> None:
    result = review(db, "show", "ENC-A")

    assert result.exit_code == 0
    assert "PT1000001" in result.stdout
    assert "1: 45378" in result.stdout


def test_review_show_says_when_the_note_names_no_patient(db: Path) -> None:
    with duckdb.connect(str(db)) as conn:
        conn.execute("update intake.documents set patient_id = null")

    result = review(db, "show", "ENC-A")

    assert result.exit_code == 0
    assert "Patient not stated" in result.stdout
    assert "None" not in result.stdout


def test_review_override_records_who_and_why(db: Path) -> None:
    result = review(
        db,
        "override",
        "ENC-A",
        "--line",
        "1",
        "--cpt",
        "45385",
        "--modifiers",
        "PT",
        "--reason",
        "snare polypectomy documented",
    )

    assert result.exit_code == 0, result.output
    with duckdb.connect(str(db), read_only=True) as conn:
        row = conn.execute(
            "select actor, before_code, after_code, reason from review.decisions "
            "where action = 'edited'"
        ).fetchone()
    assert row[0] == "Dana Coder"
    assert json.loads(row[1])["cpt_code"] == "45378"
    assert json.loads(row[2]) == {
        "cpt_code": "45385",
        "modifiers": ["PT"],
        "units": 1,
        "icd10cm_codes": ["K63.5"],
    }
    assert row[3] == "snare polypectomy documented"


@pytest.mark.parametrize(
    ("args", "exit_code", "message"),
    [
        (
            ["override", "ENC-A", "--line", "4", "--cpt", "1", "--reason", "r"],
            1,
            "line 4",
        ),
        (["accept", "ENC-NONE"], 1, "no encounter"),
        (["accept", "ENC-D"], 1, "open physician queries"),
        (["answer", "q-unknown", "--text", "yes"], 1, "no physician query"),
        (["override", "ENC-A", "--line", "1", "--cpt", "1"], 2, "--reason"),
    ],
    ids=[
        "missing-line",
        "unknown-encounter",
        "open-query",
        "unknown-query",
        "no-reason",
    ],
)
def test_review_refusals_exit_with_one_line(db: Path, args, exit_code, message) -> None:
    result = review(db, *args)

    assert result.exit_code == exit_code
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_review_without_a_database_exits_two(tmp_path: Path) -> None:
    result = review(tmp_path / "absent.duckdb", "list")

    assert result.exit_code == 2
    assert "no such database" in result.stderr


def test_review_add_remove_query_then_accept(db: Path) -> None:
    steps = [
        ("add", "ENC-B", "--cpt", "45381", "--units", "2", "--reason", "injection"),
        ("remove", "ENC-B", "--line", "2", "--reason", "bundled"),
        ("query", "ENC-B", "--missing", "site", "--question", "Which site?"),
    ]
    outputs = [review(db, *step) for step in steps]
    query_id = outputs[-1].stdout.strip()
    refused = review(db, "accept", "ENC-B")
    answered = review(db, "answer", query_id, "--text", "Rectum.")
    accepted = review(db, "accept", "ENC-B")

    assert [o.exit_code for o in outputs] == [0, 0, 0]
    assert refused.exit_code == 1
    assert answered.exit_code == 0, answered.output
    assert accepted.exit_code == 0
    assert "accepted" in accepted.stdout
