"""Encryption at rest: with CPTFLOW_DB_KEY set, the DuckDB file needs the key."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest
from typer.testing import CliRunner

from cptflow.orchestration.cli import app
from cptflow.orchestration.resources import (
    DB_KEY_ENV,
    WarehouseResource,
    connect_database,
)

runner = CliRunner()
KEY = "correct horse battery staple"
DAY = date(2026, 11, 2)
# A made-up name that must never show in the file's bytes.
MARKER = "Zebulon Quackenbush"


def _documents_frame() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "document_id": ["a" * 64],
            "partition_date": [DAY],
            "file_path": ["/inbox/note.txt"],
            "file_name": ["note.txt"],
            "status": ["processed"],
            "reason": [None],
            "patient_name": [MARKER],
        },
        schema_overrides={"reason": pl.Utf8},
    )


@pytest.fixture
def encrypted_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A warehouse file written through the resource with the key set."""
    monkeypatch.setenv(DB_KEY_ENV, KEY)
    db = tmp_path / "cptflow.duckdb"
    warehouse = WarehouseResource(database=str(db))
    warehouse.stage("intake", "documents", _documents_frame(), DAY)
    warehouse.publish([("intake", "documents")], DAY)
    return db


def test_encrypted_db_reads_back_with_the_key(encrypted_db: Path) -> None:
    with connect_database(encrypted_db, read_only=True) as conn:
        rows = conn.execute("select patient_name from intake.documents").fetchall()
    assert rows == [(MARKER,)]


def test_encrypted_db_is_unreadable_without_the_key(
    encrypted_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(DB_KEY_ENV)

    with pytest.raises(duckdb.Error, match="without a key"):
        duckdb.connect(str(encrypted_db), read_only=True)
    with pytest.raises(duckdb.Error, match="without a key"):
        connect_database(encrypted_db, read_only=True)


def test_encrypted_db_refuses_a_wrong_key(
    encrypted_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DB_KEY_ENV, "not the key")

    with pytest.raises(duckdb.Error, match="Wrong encryption key"):
        connect_database(encrypted_db, read_only=True)


def test_encrypted_db_holds_no_plain_text(encrypted_db: Path) -> None:
    data = b"".join(p.read_bytes() for p in encrypted_db.parent.glob("*.duckdb*"))

    assert MARKER.encode() not in data
    assert b"note.txt" not in data


def test_plain_db_shows_the_same_text_in_its_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The control for the test above: without a key the name is there to find.
    monkeypatch.delenv(DB_KEY_ENV, raising=False)
    db = tmp_path / "plain.duckdb"
    warehouse = WarehouseResource(database=str(db))
    warehouse.stage("intake", "documents", _documents_frame(), DAY)
    warehouse.publish([("intake", "documents")], DAY)

    assert MARKER.encode() in db.read_bytes()


def test_documents_command_reads_an_encrypted_db(encrypted_db: Path) -> None:
    result = runner.invoke(app, ["documents", "--db", str(encrypted_db)])

    assert result.exit_code == 0, result.output
    assert '"file": "note.txt"' in result.stdout


def test_documents_command_without_the_key_says_so_in_one_line(
    encrypted_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(DB_KEY_ENV)

    result = runner.invoke(app, ["documents", "--db", str(encrypted_db)])

    assert result.exit_code == 2
    assert "cannot be read" in result.output
    assert "Traceback" not in result.output
