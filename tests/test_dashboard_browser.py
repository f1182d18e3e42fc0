"""The dashboard in a real headless Chromium, over a snapshot of the demo's database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest
from browser import CHROMIUM, CHROMIUM_ARGS, free_port

from cptflow.transforms.reporting.dashboard_data import format_whole_dollars
from cptflow.transforms.reporting.render import format_percent
from cptflow.transforms.reporting.snapshot import publish_snapshot

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
KPI_SQL = """
select
    count(*) filter (where is_remitted) as remitted_line_count,
    count(*) filter (where is_denied) as denied_line_count,
    coalesce(sum(denied_amount) filter (where is_denied), 0) as denied_amount,
    count(*) filter (where is_denied and is_avoidable_by_coding) as avoidable_count,
    count(*) filter (where is_underpaid) as underpaid_count,
from marts.fct_claim_lines
where payer_id = ? or ? is null
"""


@pytest.fixture(scope="module")
def demo_database(demo_run) -> Path:
    """The session's demo database (shared with the other demo tests)."""
    assert demo_run.exit_code == 0, demo_run.output
    return demo_run.db


@contextmanager
def running_dashboard(snapshot: Path, port: int) -> Iterator[str]:
    """`cptflow dashboard` serving the snapshot; stopped with its process group."""
    command = [
        str(Path(sys.executable).parent / "cptflow"),
        "dashboard",
        "--snapshot",
        str(snapshot),
        "--port",
        str(port),
    ]
    server = subprocess.Popen(
        command,
        env={**os.environ, "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, server)
        yield url
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def wait_until_healthy(
    url: str, server: subprocess.Popen, timeout: float = 120
) -> None:
    """Poll Streamlit's health endpoint until it answers or the server exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(server.stderr.read().decode() if server.stderr else "")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"{url} did not answer within {timeout} s")


def expected_kpis(database: Path, payer_id: str | None = None) -> dict[str, str]:
    """The KPI texts the dashboard should show, queried from the pipeline database."""
    with duckdb.connect(str(database), read_only=True) as conn:
        remitted, denied, amount, avoidable, underpaid = conn.execute(
            KPI_SQL, [payer_id, payer_id]
        ).fetchone()
        if payer_id is not None:
            # The mart of the same name agrees with the sums over claim lines.
            rate, mart_amount = conn.execute(
                "select denial_rate, denied_amount from marts.denials_by_payer"
                " where payer_id = ?",
                [payer_id],
            ).fetchone()
            assert (rate, mart_amount) == pytest.approx((denied / remitted, amount))
    return {
        "Denial rate": format_percent(denied / remitted if remitted else None),
        "Denied dollars": format_whole_dollars(amount),
        "Avoidable share": format_percent(avoidable / denied if denied else None),
        "Denied lines": f"{denied:,}",
        "Remitted lines": f"{remitted:,}",
        "Underpaid lines": f"{underpaid:,}",
    }


def patient_identifiers(database: Path) -> list[str]:
    """Patient ids and names of the processed documents."""
    with duckdb.connect(str(database), read_only=True) as conn:
        rows = conn.execute(
            "select patient_id, patient_name from intake.documents"
            " where status = 'processed'"
        ).fetchall()
    return [value for row in rows for value in row if value]


def busiest_payer(database: Path) -> str:
    """The payer with the most remitted lines, so that choosing it changes figures."""
    with duckdb.connect(str(database), read_only=True) as conn:
        [(payer_id,)] = conn.execute(
            "select payer_id from marts.fct_claim_lines where is_remitted"
            " and payer_id is not null group by payer_id"
            " order by count(*) filter (where is_denied) desc, count(*) desc,"
            " payer_id limit 1"
        ).fetchall()
    return payer_id


def shown_kpis(page, *, count: int = 6, timeout: float = 30.0) -> dict[str, str]:
    """Label -> value of every st.metric, once all are drawn and hold still.

    Streamlit redraws the page after a filter changes; reading mid-redraw finds
    some metrics missing, so wait for `count` of them and two equal reads.
    """
    deadline = time.monotonic() + timeout
    previous: dict[str, str] = {}
    while True:
        shown = {}
        for metric in page.get_by_test_id("stMetric").all():
            label = metric.get_by_test_id("stMetricLabel").inner_text().strip()
            shown[label] = metric.get_by_test_id("stMetricValue").inner_text().strip()
        if (len(shown) >= count and shown == previous) or time.monotonic() > deadline:
            return shown
        previous = shown
        page.wait_for_timeout(500)


def choose_payer(page, payer_id: str) -> None:
    """Pick one payer in the sidebar's Payer filter."""
    payer_filter = page.get_by_test_id("stMultiSelect").filter(has_text="Payer")
    payer_filter.click()
    page.get_by_role("option", name=payer_id, exact=True).click()
    page.keyboard.press("Escape")


def test_dashboard_shows_the_database_figures_and_filters_them(
    demo_database: Path, tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium")
    snapshot = tmp_path / "snapshot"
    with duckdb.connect(str(demo_database), read_only=True) as conn:
        publish_snapshot(conn, snapshot, created_at=datetime.now(UTC))
    payer_id = busiest_payer(demo_database)
    everything, one_payer = (
        expected_kpis(demo_database),
        expected_kpis(demo_database, payer_id),
    )
    ARTIFACTS.mkdir(exist_ok=True)

    with (
        running_dashboard(snapshot, free_port()) as url,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        page = browser.new_page(viewport={"width": 1400, "height": 2400})
        page.goto(url)
        remitted = page.get_by_test_id("stMetric").filter(has_text="Remitted lines")
        expect(remitted.get_by_test_id("stMetricValue")).to_have_text(
            everything["Remitted lines"], timeout=60_000
        )
        all_shown = shown_kpis(page)
        body = page.locator("body").inner_text()

        choose_payer(page, payer_id)
        expect(remitted.get_by_test_id("stMetricValue")).to_have_text(
            one_payer["Remitted lines"], timeout=30_000
        )
        expect(page.get_by_test_id("stImage").first).to_be_visible(timeout=60_000)
        payer_shown = shown_kpis(page)
        page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
        browser.close()

    assert all_shown == everything
    assert payer_shown == one_payer
    assert payer_shown != all_shown
    assert "Denial reasons" in body
    assert not [v for v in patient_identifiers(demo_database) if v in body]
