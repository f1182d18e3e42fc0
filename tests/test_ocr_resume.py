"""A run killed in the middle of OCR: the next run finishes without loss or double."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import img2pdf
import pytest
from PIL import Image, ImageDraw, ImageFont

pytestmark = pytest.mark.slow

CPTFLOW = Path(sys.executable).parent / "cptflow"
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
SCANS = 5
# OCR directories seen before the kill: with two workers the fourth one starts
# only after two documents have come back.
KILL_AFTER_OCR_DIRS = 4
MANIFEST_HEADER = (
    "file,patient_id,patient_name,patient_birth_date,patient_sex,date_of_service,"
    "rendering_npi,billing_npi,payer_id,place_of_service\n"
)


def _write_scan(path: Path, number: int) -> None:
    dpi = 200
    font = ImageFont.truetype(FONT, size=dpi // 6)
    page = Image.new("L", (int(8.5 * dpi), int(4 * dpi)), 255)
    draw = ImageDraw.Draw(page)
    lines = [
        f"PROCEDURE PERFORMED: Colonoscopy, case {number}.",
        "FINDINGS: The colonoscope was advanced to the cecum.",
        "No polyps were seen and the mucosa looked normal.",
        "IMPRESSION: Normal colonoscopy.",
    ]
    for row, line in enumerate(lines):
        draw.text((dpi // 2, dpi // 2 + row * dpi // 4), line, font=font, fill=0)
    png = path.with_suffix(".png")
    page.save(png, dpi=(dpi, dpi))
    path.write_bytes(img2pdf.convert(str(png)))
    png.unlink()


def _inbox(root: Path) -> Path:
    inbox = root / "inbox"
    inbox.mkdir()
    rows = []
    for number in range(1, SCANS + 1):
        _write_scan(inbox / f"scan_{number}.pdf", number)
        rows.append(
            f"scan_{number}.pdf,PT{number:07d},Test Patient,1960-01-01,F,"
            "2026-10-30,1158813992,2317784868,60054,24\n"
        )
    (inbox / "manifest.csv").write_text(MANIFEST_HEADER + "".join(rows))
    return inbox


def _start_run(root: Path, inbox: Path, temp: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "CPTFLOW_HOME": str(root / "home"),
        "DAGSTER_HOME": str(root / "home" / "dagster"),
        # The OCR workers make their scratch folders here, where the test sees them.
        "TMPDIR": str(temp),
    }
    args = ["run", "--inbox", str(inbox), "--db", str(root / "resume.duckdb")]
    return subprocess.Popen(
        [str(CPTFLOW), *args, "--partition", "2026-11-02"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def _kill_during_ocr(run: subprocess.Popen[bytes], temp: Path) -> int:
    """Kill the run's whole process group once enough OCR has started."""
    seen: set[str] = set()
    deadline = time.monotonic() + 600
    while len(seen) < KILL_AFTER_OCR_DIRS and run.poll() is None:
        assert time.monotonic() < deadline, "OCR never started"
        seen |= {p.name for p in temp.glob("cptflow-ocr-*")}
        time.sleep(0.05)
    # Give the main process a moment to cache what has come back.
    time.sleep(1.0)
    os.killpg(run.pid, signal.SIGKILL)
    run.wait(timeout=60)
    return len(seen)


def _query(db: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as conn:
        return conn.execute(sql).fetchall()


def test_run_killed_during_ocr_resumes_without_loss_or_duplicates(
    tmp_path: Path,
) -> None:
    inbox = _inbox(tmp_path)
    temp = tmp_path / "tmp"
    temp.mkdir()
    db = tmp_path / "resume.duckdb"

    killed = _start_run(tmp_path, inbox, temp)
    seen = _kill_during_ocr(killed, temp)
    assert killed.returncode == -signal.SIGKILL, "the run ended before the kill"
    assert seen >= KILL_AFTER_OCR_DIRS
    cached_before = _query(
        db, "select count(distinct document_id) from ocr.cached_pages"
    )

    rerun = _start_run(tmp_path, inbox, temp)
    _, stderr = rerun.communicate(timeout=900)
    assert rerun.returncode == 0, stderr.decode()

    assert 1 <= cached_before[0][0] < SCANS
    assert _query(db, "select status, count(*) from intake.documents group by 1") == [
        ("processed", SCANS)
    ]
    assert _query(
        db,
        "select count(*), count(distinct (document_id, page_number)) "
        "from ocr.page_texts",
    ) == [(SCANS, SCANS)]
    assert _query(
        db,
        "select count(*), count(distinct (document_id, page_number, ocr_profile)) "
        "from ocr.cached_pages",
    ) == [(SCANS, SCANS)]
    # Documents cached before the kill were not OCRed again (no seconds recorded).
    reused = _query(
        db, "select count(*) from ocr.document_status where seconds is null"
    )
    assert reused == cached_before
    assert _query(db, "select count(distinct document_id) from coding.encounters") == [
        (SCANS,)
    ]
