"""Encryption at rest: with CPTFLOW_DB_KEY set, the DuckDB file needs the key."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest
from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus
from typer.testing import CliRunner

from cptflow.assets.marts import dbt_marts
from cptflow.orchestration.cli import app
from cptflow.orchestration.resources import (
    DB_KEY_ENV,
    WarehouseResource,
    connect_database,
)
from cptflow.transforms.reporting.snapshot import (
    SnapshotError,
    current_snapshot,
    read_snapshot_table,
    snapshot_manifest,
)

runner = CliRunner()
KEY = "correct horse battery staple"
DAY = date(2026, 11, 2)
# A made-up name that must never show in the file's bytes.
MARKER = "Zebulon Quackenbush"
CPTFLOW = Path(sys.executable).parent / "cptflow"
# Written for these tests: one screening colonoscopy, so one claim line.
NOTE = """PROCEDURE PERFORMED: Colonoscopy.
INDICATION: Average-risk screening; the patient has no bowel symptoms.
FINDINGS: The scope reached the cecum. The mucosa looked normal throughout and no
polyp was found.
IMPRESSION: Normal screening colonoscopy. Next screening in ten years.
"""
MANIFEST = (
    "file,patient_id,patient_name,patient_birth_date,patient_sex,date_of_service,"
    "rendering_npi,billing_npi,payer_id,place_of_service\n"
    f"note.txt,PT0000002,{MARKER},1958-04-12,M,2026-10-29,1158813992,"
    "2317784868,60054,24\n"
)


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


def test_reference_load_and_scrub_work_on_an_encrypted_db(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DB_KEY_ENV, KEY)
    db = tmp_path / "ref.duckdb"
    claim = tmp_path / "claim.json"
    # 45380 is bundled into 45385 on the same day: the PTP edit comes from the
    # reference tables loaded into the encrypted file.
    claim.write_text(
        '{"claim_id": "CF000000000001", "date_of_service": "2024-08-15",'
        ' "place_of_service": "22", "rendering_npi": "1234567893",'
        ' "billing_npi": "1234567893", "payer_id": "60054",'
        ' "patient": {"id": "P1", "sex": "F", "birth_date": "1960-02-03"},'
        ' "subscriber": {"name": "DOE, JANE", "id": "M1"},'
        ' "billing_provider": {"name": "PRACTICE", "id": "1234567893"},'
        ' "diagnoses": ["K63.5"], "lines": ['
        '{"cpt": "45385", "modifiers": [], "units": 1, "diagnosis_pointers": [1],'
        ' "charge_amount": 1600.0},'
        '{"cpt": "45380", "modifiers": [], "units": 1, "diagnosis_pointers": [1],'
        ' "charge_amount": 1450.0}]}'
    )

    loaded = runner.invoke(app, ["reference", "load", "--db", str(db)])
    scrubbed = runner.invoke(app, ["scrub", str(claim), "--db", str(db)])

    assert loaded.exit_code == 0, loaded.output
    assert scrubbed.exit_code == 1, scrubbed.output
    assert '"rule": "ncci_ptp"' in scrubbed.stdout
    monkeypatch.delenv(DB_KEY_ENV)
    with pytest.raises(duckdb.Error, match="without a key"):
        duckdb.connect(str(db), read_only=True)


@dataclass(frozen=True)
class EncryptedRun:
    """A `cptflow run` with the key set, as a separate process sees it."""

    done: subprocess.CompletedProcess[str]
    db: Path
    snapshot_root: Path
    dagster_home: Path


@pytest.fixture(scope="module")
def encrypted_run(tmp_path_factory: pytest.TempPathFactory) -> EncryptedRun:
    """Every stage, the dbt marts and the snapshot, on one note, with the key set."""
    home = tmp_path_factory.mktemp("encrypted_run")
    inbox = home / "inbox"
    inbox.mkdir()
    (inbox / "note.txt").write_text(NOTE)
    (inbox / "manifest.csv").write_text(MANIFEST)
    db = home / "cptflow.duckdb"
    env = {
        **os.environ,
        DB_KEY_ENV: KEY,
        "CPTFLOW_HOME": str(home),
        "CPTFLOW_SNAPSHOT": str(home / "snapshot"),
        "DAGSTER_HOME": str(home / "dagster"),
    }
    args = ["run", "--inbox", str(inbox), "--db", str(db), "--partition", "2026-11-02"]
    done = subprocess.run(
        [str(CPTFLOW), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
        check=False,
    )
    return EncryptedRun(done, db, home / "snapshot", home / "dagster")


@pytest.mark.slow
def test_run_with_key_builds_the_marts_into_the_encrypted_file(
    encrypted_run: EncryptedRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert encrypted_run.done.returncode == 0, encrypted_run.done.stderr
    monkeypatch.setenv(DB_KEY_ENV, KEY)

    with connect_database(encrypted_run.db, read_only=True) as conn:
        lines = conn.execute(
            "select cpt_code, payer_id from marts.fct_claim_lines"
        ).fetchall()
        staged = conn.execute("select count(*) from staging.stg_claims__claims")

        assert lines == [("45378", "60054")]
        assert staged.fetchone() == (1,)
    assert "marts.fct_claim_lines" in encrypted_run.done.stderr


@pytest.mark.slow
def test_run_with_key_passes_every_dbt_test(encrypted_run: EncryptedRun) -> None:
    with DagsterInstance.from_config(str(encrypted_run.dagster_home)) as instance:
        (run,) = instance.get_runs()
        evaluations = [
            record.event_log_entry.dagster_event.event_specific_data
            for record in instance.get_records_for_run(
                run.run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION
            ).records
        ]
    dbt_checks = {
        e.asset_check_key: e.passed
        for e in evaluations
        if e.asset_check_key in dbt_marts.check_keys
    }

    assert run.status == DagsterRunStatus.SUCCESS
    assert set(dbt_checks) == set(dbt_marts.check_keys)
    assert all(dbt_checks.values())


@pytest.mark.slow
def test_run_with_key_leaves_a_file_that_needs_the_key(
    encrypted_run: EncryptedRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(DB_KEY_ENV, raising=False)
    with pytest.raises(duckdb.Error, match="without a key"):
        duckdb.connect(str(encrypted_run.db), read_only=True)

    monkeypatch.setenv(DB_KEY_ENV, "not the key")
    with pytest.raises(duckdb.Error, match="Wrong encryption key"):
        connect_database(encrypted_run.db, read_only=True)


@pytest.mark.slow
def test_run_with_key_writes_neither_name_nor_note_in_plain_text(
    encrypted_run: EncryptedRun,
) -> None:
    written = [*encrypted_run.db.parent.glob("cptflow.duckdb*")]
    written += [p for p in encrypted_run.snapshot_root.rglob("*") if p.is_file()]
    data = b"".join(p.read_bytes() for p in written)

    assert len(written) > 10
    assert MARKER.encode() not in data
    assert b"PT0000002" not in data
    assert b"cecum" not in data


@pytest.mark.slow
def test_run_with_key_publishes_a_snapshot_only_the_key_reads(
    encrypted_run: EncryptedRun,
) -> None:
    folder = current_snapshot(encrypted_run.snapshot_root)

    lines = read_snapshot_table(folder, "fct_claim_lines", encryption_key=KEY)

    assert snapshot_manifest(folder)["encrypted"] is True
    assert lines["cpt_code"].to_list() == ["45378"]
    with pytest.raises(SnapshotError, match="set CPTFLOW_DB_KEY"):
        read_snapshot_table(folder, "fct_claim_lines")
    with pytest.raises(SnapshotError, match="cannot be decrypted"):
        read_snapshot_table(folder, "fct_claim_lines", encryption_key="not the key")
    with pytest.raises(pl.exceptions.ComputeError, match="encrypted"):
        pl.read_parquet(folder / "fct_claim_lines.parquet")


@pytest.mark.slow
def test_run_keeps_dbt_log_lines_off_stdout_and_in_the_event_log(
    encrypted_run: EncryptedRun,
) -> None:
    with DagsterInstance.from_config(str(encrypted_run.dagster_home)) as instance:
        (run,) = instance.get_runs()
        messages = [entry.user_message for entry in instance.all_logs(run.run_id)]

    assert encrypted_run.done.stdout == ""
    assert any("Completed successfully" in m for m in messages)
    assert any("target='encrypted'" in m for m in messages)
