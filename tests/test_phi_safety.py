"""PHI stays in the data: logs, Dagster events and check results carry none of it."""

from __future__ import annotations

import csv
import json
import logging
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import pytest
from dagster import DagsterEventType, DagsterInstance
from dagster._serdes import serialize_value
from typer.testing import CliRunner

from cptflow.orchestration.cli import app
from cptflow.transforms.demo import write_demo_inbox

pytestmark = pytest.mark.slow

RECEIVED = date(2026, 11, 2)
# A subset of the demo inbox that still has every kind of file: text notes,
# born-digital PDFs, a scan, a duplicate and a corrupt file.
KEPT_RENDERS = {"text", "digital_pdf", "duplicate", "corrupt"}
KEPT_SCANS = 1
MIN_SENTENCE = 30


class _Collector(logging.Handler):
    """Keeps every formatted record that reaches the root logger."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def _small_demo_inbox(root: Path) -> tuple[Path, dict]:
    """The demo inbox cut down to a quick run, and its answer key."""
    inbox = root / "inbox"
    written = write_demo_inbox(
        inbox, answers_path=root / "answers.json", received_date=RECEIVED
    )
    answers = json.loads(written.answers_path.read_text())
    scans = [d for d in answers["documents"] if d["render"] == "scanned_pdf"]
    kept = [d for d in answers["documents"] if d["render"] in KEPT_RENDERS]
    kept += scans[:KEPT_SCANS]
    names = {d["file"] for d in kept}

    for path in written.paths:
        if path.name not in names:
            path.unlink()
    with written.manifest_path.open(encoding="utf-8") as handle:
        rows = [row for row in csv.DictReader(handle) if row["file"] in names]
    with written.manifest_path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return inbox, {**answers, "documents": kept}


def _identifiers(inbox: Path, answers: dict) -> set[str]:
    """Names, birth dates, patient and member ids and note sentences to look for."""
    found: set[str] = set()
    for document in answers["documents"]:
        if "patient_name" not in document:
            continue
        birth = date.fromisoformat(document["patient_birth_date"])
        found |= {
            document["patient_name"],
            document["patient_id"],
            birth.isoformat(),
            birth.strftime("%m/%d/%Y"),
        }
    for note in inbox.glob("*.txt"):
        text = note.read_text(encoding="utf-8")
        found |= set(re.findall(r"Member ID: (\S+)", text))
        found |= {
            sentence.strip()
            for sentence in re.split(r"[.\n]", text)
            if len(sentence.strip()) >= MIN_SENTENCE
        }
    return found


def _leaks(texts: list[str], identifiers: set[str]) -> set[str]:
    return {i for i in identifiers for text in texts if i in text}


@pytest.fixture(scope="module")
def phi_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """Run the small demo inbox with verbose logs, keeping every line and event."""
    root = tmp_path_factory.mktemp("phi")
    inbox, answers = _small_demo_inbox(root)
    collector = _Collector()
    collector.setFormatter(logging.Formatter("%(name)s %(message)s"))
    logging.getLogger().addHandler(collector)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CPTFLOW_HOME", str(root / "home"))
        patch.setenv("DAGSTER_HOME", str(root / "home" / "dagster"))
        db = root / "phi.duckdb"
        args = ["run", "--inbox", str(inbox), "--db", str(db), "--verbose"]
        result = CliRunner().invoke(app, [*args, "--partition", RECEIVED.isoformat()])
        with DagsterInstance.get() as instance:
            records = [
                record.event_log_entry
                for run in instance.get_runs()
                for record in instance.get_records_for_run(run.run_id).records
            ]
        logging.getLogger().removeHandler(collector)
        yield {
            "result": result,
            "db": db,
            "log_lines": collector.lines,
            "events": records,
            "identifiers": _identifiers(inbox, answers),
            "dagster_home": root / "home" / "dagster",
        }


def test_phi_run_succeeds_and_holds_the_identifiers_in_its_data(phi_run: dict) -> None:
    # The control: the identifiers are real values the scans below could find.
    assert phi_run["result"].exit_code == 0, phi_run["result"].output
    with duckdb.connect(str(phi_run["db"]), read_only=True) as conn:
        stored = [
            " ".join(str(value) for value in row)
            for row in conn.execute(
                "select patient_name, patient_id, patient_birth_date "
                "from intake.documents"
            ).fetchall()
        ]
        pages = [
            t for (t,) in conn.execute("select text from ocr.page_texts").fetchall()
        ]
    assert len(phi_run["identifiers"]) > 50
    assert _leaks(stored + pages, phi_run["identifiers"])


def test_phi_logs_carry_no_patient_details(phi_run: dict) -> None:
    lines = phi_run["log_lines"] + phi_run["result"].output.splitlines()

    assert len(lines) > 20
    assert _leaks(lines, phi_run["identifiers"]) == set()


def test_phi_dagster_events_carry_no_patient_details(phi_run: dict) -> None:
    events = [serialize_value(entry) for entry in phi_run["events"]]

    assert len(events) > 20
    assert _leaks(events, phi_run["identifiers"]) == set()


def test_phi_check_results_name_keys_only(phi_run: dict) -> None:
    evaluations = [
        serialize_value(entry.dagster_event.event_specific_data)
        for entry in phi_run["events"]
        if entry.dagster_event is not None
        and entry.dagster_event.event_type == DagsterEventType.ASSET_CHECK_EVALUATION
    ]

    assert len(evaluations) > 10
    assert _leaks(evaluations, phi_run["identifiers"]) == set()


def test_phi_dagster_storage_files_carry_no_patient_details(phi_run: dict) -> None:
    # Run storage, event logs and captured compute logs, read as raw bytes.
    texts = [
        path.read_bytes().decode("utf-8", errors="replace")
        for path in phi_run["dagster_home"].rglob("*")
        if path.is_file()
    ]

    assert texts
    assert _leaks(texts, phi_run["identifiers"]) == set()
