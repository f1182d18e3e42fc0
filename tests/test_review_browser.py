"""The review page in a real headless Chromium: a coder overrides a code on the demo."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import pytest
from browser import CHROMIUM, CHROMIUM_ARGS, free_port
from dagster import materialize

from cptflow.assets.review import review_decisions
from cptflow.orchestration.resources import WarehouseResource
from cptflow.transforms.claims import build_claims

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
PAGE = REPO / "dashboard" / "review_queue.py"
ARTIFACTS = REPO / "test-artifacts"
REVIEWER = "Test Coder"
REASON = "open conversion not documented"


def pick_encounter(db: Path) -> tuple[str, str, str]:
    """The in-review encounter of most value with a page image and a coded line.

    Returns:
        (encounter id, its first code, the code a coder changes it to).
    """
    with duckdb.connect(str(db), read_only=True) as conn:
        row = conn.execute(
            "select e.encounter_id, c.cpt_code from coding.encounters e "
            "join coding.encounter_codes c using (encounter_id) "
            "join intake.documents d on d.document_id = e.document_id "
            "join claims.claims k on k.encounter_id = e.encounter_id "
            "where e.needs_review and c.code_sequence = 1 "
            "and d.status = 'processed' and d.doc_format in ('pdf', 'tiff', 'png') "
            "order by k.total_charge_amount desc, e.encounter_id limit 1"
        ).fetchone()
    assert row, "the demo has no encounter in review with a coded line"
    encounter_id, cpt_code = row
    return encounter_id, cpt_code, "47562" if cpt_code != "47562" else "47563"


@pytest.fixture
def review_db(demo_run, tmp_path: Path) -> Path:
    """A copy of the session's demo database that the test may change."""
    assert demo_run.exit_code == 0, demo_run.output
    copy = tmp_path / "cptflow.duckdb"
    shutil.copy(demo_run.db, copy)
    return copy


@pytest.fixture
def review_server(review_db: Path) -> Iterator[str]:
    """The review page served by Streamlit on a free localhost port."""
    port = free_port()
    env = {
        **os.environ,
        "CPTFLOW_DB": str(review_db),
        "CPTFLOW_REVIEWER": REVIEWER,
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
    }
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "streamlit"),
            "run",
            str(PAGE),
            "--server.headless",
            "true",
            "--server.address",
            "127.0.0.1",
            "--server.port",
            str(port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_until_serving(f"http://127.0.0.1:{port}/_stcore/health")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=30)


def _wait_until_serving(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"Streamlit did not answer at {url}")


def rebuild_claims(db: Path, partition: str) -> None:
    """Run the review asset in Dagster, then rebuild the partition's claims from it."""
    warehouse = WarehouseResource(database=str(db))
    result = materialize(
        [review_decisions], partition_key=partition, resources={"warehouse": warehouse}
    )
    assert result.success

    with warehouse.connect() as conn:
        encounters = conn.execute(
            "select e.*, d.billing_npi from coding.encounters e "
            "left join intake.documents d on d.document_id = e.document_id "
            "and d.partition_date = e.partition_date where e.partition_date = ?",
            [partition],
        ).pl()
        codes = conn.execute(
            "select * from coding.encounter_codes where partition_date = ?", [partition]
        ).pl()
        final_codes = conn.execute("select * from review.final_codes").pl()
        reviews = conn.execute("select * from review.encounter_reviews").pl()
    claims, lines = build_claims(
        encounters,
        codes,
        partition_date=date.fromisoformat(partition),
        final_codes=final_codes,
        reviews=reviews,
    )
    day = date.fromisoformat(partition)
    warehouse.stage("claims", "claims", claims, day)
    warehouse.stage("claims", "claim_lines", lines, day)
    warehouse.publish([("claims", "claims"), ("claims", "claim_lines")], day)


def test_review_page_override_changes_the_claim_line_and_keeps_both_decisions(
    review_db: Path, review_server: str
) -> None:
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: apt-get install chromium")
    encounter_id, engine_code, coder_code = pick_encounter(review_db)
    with duckdb.connect(str(review_db), read_only=True) as conn:
        partition = str(
            conn.execute(
                "select partition_date from coding.encounters where encounter_id = ?",
                [encounter_id],
            ).fetchone()[0]
        )
    ARTIFACTS.mkdir(exist_ok=True)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        page = browser.new_page(viewport={"width": 1500, "height": 1800})
        page.goto(f"{review_server}/?encounter={encounter_id}")
        page.get_by_text("Working codes").wait_for(timeout=60_000)
        page.get_by_label("CPT code", exact=True).fill(coder_code)
        page.get_by_label("Reason for the change").fill(REASON)
        page.get_by_role("button", name="Override line").click()
        page.get_by_text("Line 1 overridden.").wait_for(timeout=30_000)
        page.get_by_role("button", name="Accept codes").click()
        page.get_by_text("Codes accepted").wait_for(timeout=30_000)

        rebuild_claims(review_db, partition)
        page.reload()
        page.get_by_text("Claim lines").wait_for(timeout=60_000)
        page.get_by_text(f"{REVIEWER} accepted").wait_for(timeout=30_000)
        page.screenshot(path=str(ARTIFACTS / "review_override.png"), full_page=True)
        body = page.locator("body").inner_text()
        browser.close()

    # The audit trail shows the engine's proposal and the coder's change.
    assert f"engine proposed line 1: - -> {engine_code}" in body
    assert f"{REVIEWER} edited line 1: {engine_code} -> {coder_code} ({REASON})" in body
    with duckdb.connect(str(review_db), read_only=True) as conn:
        line = conn.execute(
            "select l.cpt_code, c.hold_reason from claims.claim_lines l "
            "join claims.claims c using (claim_id) "
            "where l.encounter_id = ? and l.claim_line_number = 1",
            [encounter_id],
        ).fetchone()
        trail = conn.execute(
            "select actor, action from review.decisions where encounter_id = ? "
            "order by sequence_number",
            [encounter_id],
        ).fetchall()
    assert line[0] == coder_code
    assert line[1] != "awaiting_coder_review"
    assert trail[0] == ("engine", "proposed")
    assert (REVIEWER, "edited") in trail and trail[-1] == (REVIEWER, "accepted")
