"""Real notes as real scans: MTSamples rows rendered to image PDFs, OCRed and coded
by a Dagster run, then compared with the source text and the gold codes."""

from __future__ import annotations

import random
from pathlib import Path

import duckdb
import pytest
from shared_inputs import shared_path
from textmetrics import character_error_rate
from typer.testing import CliRunner

from cptflow.orchestration.cli import app
from cptflow.transforms.demo.render import write_scanned_pdf
from cptflow.transforms.evaluation import (
    base_code,
    load_gold,
    load_transcriptions,
    mtsamples_note,
)

pytestmark = pytest.mark.slow

# Dev rows in the families step 1 covers: endoscopy, appendectomy, imaging, E/M.
ROWS = (876, 1011, 1018, 1230, 1231, 1716, 1725, 137)


@pytest.fixture(scope="module")
def scanned_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Render each row as a scan, run the pipeline once, and read the results."""
    gold = {g["row"]: g for g in load_gold(shared_path("eval", "dev.jsonl"))}
    texts = load_transcriptions(shared_path("data", "mtsamples", "mtsamples.csv"), ROWS)
    work = tmp_path_factory.mktemp("mtsamples-scans")
    inbox = work / "inbox"
    inbox.mkdir()
    notes = {}
    for row in ROWS:
        notes[row] = mtsamples_note(texts[row])
        write_scanned_pdf(notes[row], inbox / f"row{row}.pdf", rng=random.Random(row))

    db = work / "cptflow.duckdb"
    result = CliRunner().invoke(
        app,
        ["run", "--inbox", str(inbox), "--db", str(db), "--partition", "2026-11-02"],
        catch_exceptions=False,
    )
    return {"result": result, "db": db, "gold": gold, "notes": notes}


def _rows(db: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as conn:
        return conn.execute(sql).fetchall()


def test_scanned_notes_run_succeeds(scanned_run: dict) -> None:
    assert scanned_run["result"].exit_code == 0, scanned_run["result"].output


@pytest.mark.parametrize("row", ROWS, ids=[f"row{r}" for r in ROWS])
def test_scanned_note_ocr_error_rate_is_under_three_percent(
    scanned_run: dict, row: int
) -> None:
    pages = _rows(
        scanned_run["db"],
        "select d.file_name, string_agg(p.text, ' ' order by p.page_number) "
        "from ocr.page_texts p join intake.documents d using (document_id) "
        "group by 1",
    )
    text = dict(pages)[f"row{row}.pdf"]
    assert character_error_rate(text, scanned_run["notes"][row]) < 0.03


@pytest.mark.parametrize("row", ROWS, ids=[f"row{r}" for r in ROWS])
def test_scanned_note_codes_equal_gold(scanned_run: dict, row: int) -> None:
    coded = dict(
        _rows(
            scanned_run["db"],
            "select d.file_name, list(distinct c.cpt_code) "
            "from coding.encounter_codes c join intake.documents d "
            "using (document_id) group by 1",
        )
    )
    predicted = {base_code(c) for c in coded.get(f"row{row}.pdf", [])}
    gold = scanned_run["gold"][row]
    alternates = gold.get("alternates") or {}
    for code in gold["codes"]:
        if not code.get("required", True):
            predicted.discard(base_code(code["cpt"]))
            continue
        accepted = {code["cpt"], *alternates.get(code["cpt"], [])}
        assert predicted & accepted, f"missing {code['cpt']}"
        predicted -= accepted
    assert not predicted, f"extra codes {sorted(predicted)}"
