"""Tests of denial reporting: spike statistics, report figures and HTML, snapshot,
dashboard figures, masking and page marking."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest
from dagster import materialize
from PIL import Image

from cptflow.transforms.reporting import dashboard_data as dashboard
from cptflow.transforms.reporting.page_images import (
    PageFrame,
    mark_page,
    render_text_page,
    words_overlapping,
)
from cptflow.transforms.reporting.render import render_report_html
from cptflow.transforms.reporting.report_data import (
    build_denial_report,
    choose_report_week,
    compare_periods,
    period_totals,
)
from cptflow.transforms.reporting.snapshot import (
    SnapshotError,
    current_snapshot,
    publish_snapshot,
    read_snapshot_table,
)
from cptflow.transforms.reporting.spikes import (
    SpikeSettings,
    flag_spikes,
    rate_increase_test,
    weekly_denial_counts,
)

REPO = Path(__file__).resolve().parents[1]
FIXTURE_SQL = REPO / "tests" / "fixtures" / "contract_tables.sql"
TESTED_WEEK = date(2026, 11, 16)


def claim_line(
    *,
    paid: date,
    denied: bool,
    cpt_code: str = "99213",
    npi: str = "1234567893",
    category: str = "bundling",
    amount: float = 100.0,
) -> dict:
    """One remitted claim line as fct_claim_lines has it, with the columns used."""
    return {
        "cpt_code": cpt_code,
        "rendering_npi": npi,
        "is_remitted": True,
        "is_denied": denied,
        "denial_category": category if denied else None,
        "is_avoidable_by_coding": (category == "bundling") if denied else None,
        "denied_amount": amount if denied else 0.0,
        "latest_payment_date": paid,
    }


def lines_of(counts: list[tuple[date, int, int]], **columns: str) -> list[dict]:
    """Claim lines for (payment day, remitted, denied) counts of one code."""
    return [
        claim_line(paid=day, denied=i < denied, **columns)
        for day, remitted, denied in counts
        for i in range(remitted)
    ]


# 10 of 20 against 16 of 160: pooled p = 26/180 = 0.14444, standard error
# sqrt(0.14444 * 0.85556 * (1/20 + 1/160)) = 0.083375, z = (0.5 - 0.1) / 0.083375
# = 4.7976; one-sided p = 1 - Phi(4.7976) = 8.0e-7.
# 3 of 20 against the same: pooled 19/180 = 0.10556, standard error 0.072875,
# z = 0.05 / 0.072875 = 0.6861, p = 0.2463.
@pytest.mark.parametrize(
    ("counts", "z_score", "p_value"),
    [
        pytest.param((10, 20, 16, 160), 4.7976, 8.03e-7, id="half-against-a-tenth"),
        pytest.param((3, 20, 16, 160), 0.6861, 0.2463, id="small-rise"),
        pytest.param((0, 20, 0, 160), 0.0, 1.0, id="no-denials-at-all"),
        pytest.param((20, 20, 160, 160), 0.0, 1.0, id="all-denied-both"),
    ],
)
def test_rate_increase_test_matches_hand_worked_z(
    counts: tuple[int, int, int, int], z_score: float, p_value: float
) -> None:
    z, p = rate_increase_test(*counts)

    assert z == pytest.approx(z_score, abs=1e-4)
    assert p == pytest.approx(p_value, rel=1e-3)


def test_weekly_denial_counts_groups_by_monday_of_payment() -> None:
    lines = pl.DataFrame(
        [
            claim_line(paid=date(2026, 11, 16), denied=True),
            claim_line(paid=date(2026, 11, 22), denied=False),
            claim_line(paid=date(2026, 11, 23), denied=True),
            {**claim_line(paid=date(2026, 11, 23), denied=False), "is_remitted": False},
        ]
    )

    weekly = weekly_denial_counts(lines, by="cpt_code")

    assert weekly.rows() == [
        ("99213", date(2026, 11, 16), 2, 1),
        ("99213", date(2026, 11, 23), 1, 1),
    ]


def spike_weeks() -> pl.DataFrame:
    """Weekly counts for three codes around TESTED_WEEK.

    99213: 8 baseline weeks of 2 denied in 20 (16 in 160), then 10 in 20; a week
    nine weeks back with 20 of 20 denied lies outside the baseline. 45380: same
    baseline, then 3 in 20. 11102: 5 lines, below the minimum volume.
    """
    rows = [("99213", TESTED_WEEK - timedelta(weeks=9), 20, 20)]
    for code in ("99213", "45380"):
        rows += [(code, TESTED_WEEK - timedelta(weeks=k), 20, 2) for k in range(1, 9)]
    rows += [
        ("99213", TESTED_WEEK, 20, 10),
        ("45380", TESTED_WEEK, 20, 3),
        ("11102", TESTED_WEEK - timedelta(weeks=1), 40, 1),
        ("11102", TESTED_WEEK, 5, 4),
    ]
    return pl.DataFrame(
        rows,
        schema={
            "cpt_code": pl.Utf8,
            "week_start_date": pl.Date,
            "remitted_line_count": pl.Int64,
            "denied_line_count": pl.Int64,
        },
        orient="row",
    )


def test_flag_spikes_flags_only_a_significant_rise_with_volume() -> None:
    spikes = flag_spikes(spike_weeks(), by="cpt_code", tested_week=TESTED_WEEK)
    by_code = {row["cpt_code"]: row for row in spikes.iter_rows(named=True)}

    assert spikes.get_column("cpt_code").to_list() == ["99213", "45380", "11102"]
    assert by_code["99213"]["baseline_remitted_line_count"] == 160
    assert by_code["99213"]["baseline_denied_line_count"] == 16
    assert by_code["99213"]["z_score"] == pytest.approx(4.7976, abs=1e-4)
    assert by_code["99213"]["is_spike"] is True
    assert by_code["45380"]["p_value"] == pytest.approx(0.2463, rel=1e-3)
    assert by_code["45380"]["is_spike"] is False
    assert by_code["11102"]["is_tested"] is False
    assert by_code["11102"]["p_value"] is None


@pytest.mark.parametrize(
    ("settings", "is_spike"),
    [
        pytest.param(SpikeSettings(), True, id="default"),
        pytest.param(SpikeSettings(min_lines=21), False, id="volume-too-small"),
        # 10 of 20 against 2 of 20: pooled 0.3, z = 0.4 / sqrt(0.3 * 0.7 * 0.1)
        # = 2.760, p = 0.0029: still below 0.01.
        pytest.param(SpikeSettings(baseline_weeks=1), True, id="one-week-baseline"),
        pytest.param(SpikeSettings(alpha=1e-7), False, id="stricter-alpha"),
    ],
)
def test_flag_spikes_follows_its_settings(
    settings: SpikeSettings, is_spike: bool
) -> None:
    spikes = flag_spikes(
        spike_weeks(), by="cpt_code", tested_week=TESTED_WEEK, settings=settings
    )
    [row] = spikes.filter(pl.col("cpt_code") == "99213").to_dicts()

    assert row["is_spike"] is is_spike


def report_lines() -> pl.DataFrame:
    """Claim lines of two weeks: 99213 denials rise from 1 to 3, 45380 fall 2 to 0."""
    previous, current = TESTED_WEEK - timedelta(weeks=1), TESTED_WEEK
    rows = [
        *lines_of([(previous + timedelta(days=1), 10, 1), (current, 10, 3)]),
        *lines_of(
            [(previous, 5, 2), (current + timedelta(days=6), 4, 0)],
            cpt_code="45380",
            npi="1245319599",
            category="medical_necessity",
        ),
    ]
    return pl.DataFrame(rows)


def test_compare_periods_puts_this_week_against_the_previous() -> None:
    compared = compare_periods(report_lines(), by=["cpt_code"], week=TESTED_WEEK)

    assert compared.select(
        "cpt_code",
        "denied_line_count",
        "remitted_line_count",
        "previous_denied_line_count",
        "denied_line_change",
        "denied_amount",
    ).rows() == [("99213", 3, 10, 1, 2, 300.0), ("45380", 0, 4, 2, -2, 0.0)]
    assert compared.get_column("denial_rate_change").to_list() == pytest.approx(
        [0.3 - 0.1, 0.0 - 0.4]
    )


def test_choose_report_week_takes_the_latest_payment_by_the_day() -> None:
    lines = report_lines()

    assert choose_report_week(lines, as_of=date(2026, 11, 30)) == TESTED_WEEK
    assert choose_report_week(lines, as_of=date(2026, 11, 15)) == date(2026, 11, 9)
    assert choose_report_week(lines, as_of=date(2026, 1, 1)) is None


def test_build_denial_report_totals_both_weeks() -> None:
    report = build_denial_report(
        report_lines(), week=TESTED_WEEK, generated_at=datetime(2026, 11, 23, 7)
    )

    assert report.week_end_date == date(2026, 11, 22)
    assert report.current.remitted_line_count == 14
    assert report.current.denied_line_count == 3
    assert report.current.avoidable_denied_line_count == 3
    assert report.current.denial_rate == pytest.approx(3 / 14)
    assert report.previous.denied_line_count == 3
    assert report.previous.denied_amount == 300.0
    assert report.patterns.get_column("denial_category").to_list() == [
        "bundling",
        "medical_necessity",
    ]


def test_render_report_html_is_self_contained_with_spikes_and_charts() -> None:
    weeks = spike_weeks().filter(pl.col("cpt_code") == "99213")
    lines = pl.DataFrame(
        [
            claim_line(paid=row["week_start_date"], denied=i < row["denied_line_count"])
            for row in weeks.iter_rows(named=True)
            for i in range(row["remitted_line_count"])
        ]
    )
    report = build_denial_report(
        lines, week=TESTED_WEEK, generated_at=datetime(2026, 11, 23, 7)
    )

    html = render_report_html(report)

    assert "Denial patterns" in html
    assert re.search(r'<tr class="spike"><td>99213</td>', html)
    assert "10 / 20" in html
    assert html.count('src="data:image/svg+xml;base64,') == 4
    assert "http://" not in html.replace("http://www.w3.org", "")
    assert "<script" not in html


def test_render_report_html_escapes_values() -> None:
    lines = report_lines().with_columns(pl.lit("<b>npi</b>").alias("rendering_npi"))
    report = build_denial_report(
        lines, week=TESTED_WEEK, generated_at=datetime(2026, 11, 23, 7)
    )

    html = render_report_html(report)

    assert "&lt;b&gt;npi&lt;/b&gt;" in html
    assert "<b>npi</b>" not in html


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        pytest.param("PT5363930", "•••••••30", id="patient-id"),
        pytest.param("P01", "•••", id="short-id-fully-hidden"),
        pytest.param(None, "", id="missing"),
    ],
)
def test_mask_identifier_keeps_at_most_the_last_two(
    value: str | None, masked: str
) -> None:
    assert dashboard.mask_identifier(value) == masked


HEADER = "Patient: Joseph Burns\nPatient ID: PT5363930\nDOB: 12/06/1978\nSex: M"
DOCUMENT = {
    "patient_name": "Joseph Burns",
    "patient_id": "PT5363930",
    "patient_birth_date": date(1978, 12, 6),
}


def test_identifier_ranges_cover_name_id_and_birth_date() -> None:
    tokens = dashboard.identifier_tokens(DOCUMENT)

    hidden = {
        HEADER[start:end] for start, end in dashboard.identifier_ranges(HEADER, tokens)
    }

    assert hidden == {"Joseph", "Burns", "PT5363930", "12/06/1978"}


def test_identifier_word_indexes_hide_labelled_values() -> None:
    words = pl.DataFrame(
        {
            "word_index": [0, 1, 2, 3, 4, 5, 6, 7],
            "text": [
                "Patient:",
                "Joseph",
                "Burns",
                "Member",
                "ID:",
                "XZ99",
                "NPI:",
                "12",
            ],
        }
    )

    hidden = dashboard.identifier_word_indexes(
        words, dashboard.identifier_tokens(DOCUMENT)
    )

    assert hidden == {1, 2, 5}


def test_mask_text_hides_tokens_and_labelled_values_keeping_length() -> None:
    tokens = dashboard.identifier_tokens(DOCUMENT)

    masked = dashboard.mask_text("seen joseph BURNS. Member ID: W19 Sex: M", tokens)

    assert masked == "seen •••••• •••••. Member ID: ••• Sex: M"


def test_words_overlapping_takes_words_touching_a_span() -> None:
    words = pl.DataFrame(
        {"word_index": [0, 1, 2], "start": [0, 6, 12], "end": [5, 11, 20]}
    )

    assert words_overlapping(words, [(6, 13)]) == {1, 2}
    assert words_overlapping(words, [(5, 6)]) == set()


def test_mark_page_highlights_evidence_and_blacks_out_identifiers() -> None:
    image = Image.new("RGB", (200, 100), "white")
    words = pl.DataFrame(
        {
            "word_index": [0, 1],
            "x0": [10.0, 110.0],
            "y0": [10.0, 10.0],
            "x1": [50.0, 150.0],
            "y1": [30.0, 30.0],
        }
    )

    # Boxes are in a 400-unit-wide frame, so they land at half size.
    marked = mark_page(image, words, PageFrame(width=400), highlighted={0}, hidden={1})

    red, green, blue = marked.getpixel((15, 10))
    assert red > 240 and green > 200 and blue < 200
    assert marked.getpixel((65, 10)) == (20, 20, 20)
    assert marked.getpixel((150, 80)) == (255, 255, 255)


def test_render_text_page_draws_each_line() -> None:
    image = render_text_page(HEADER, highlighted=[(9, 15)], hidden=[(16, 21)])

    assert image.height == 20 * 4 + 40
    assert image.mode == "RGB"


@pytest.fixture(scope="module")
def fixture_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The contract fixture with the dbt marts built on it."""
    work = tmp_path_factory.mktemp("reporting-dbt")
    database = work / "cptflow.duckdb"
    with duckdb.connect(str(database)) as conn:
        conn.execute(FIXTURE_SQL.read_text())
    # dbt runs in its own process: in this one, dbt-duckdb would keep the file open
    # with a configuration the assets' connections may not share.
    completed = subprocess.run(
        [
            str(Path(sys.executable).parent / "dbt"),
            "build",
            "--quiet",
            "--project-dir",
            str(REPO / "dbt_project"),
            "--profiles-dir",
            str(REPO / "dbt_project"),
            "--target-path",
            str(work / "target"),
            "--log-path",
            str(work / "logs"),
            "--threads",
            "2",
            "--exclude",
            "resource_type:test",
        ],
        env={**os.environ, "CPTFLOW_DB": str(database), "DO_NOT_TRACK": "1"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-2000:]
    return database


@pytest.mark.slow
def test_publish_snapshot_exports_marts_and_evidence(
    fixture_database: Path, tmp_path: Path
) -> None:
    with duckdb.connect(str(fixture_database), read_only=True) as conn:
        snapshot = publish_snapshot(
            conn, tmp_path, created_at=datetime(2026, 11, 23, 7, tzinfo=UTC)
        )
    evidence = read_snapshot_table(current_snapshot(tmp_path), "claim_line_evidence")

    assert snapshot.version == "20261123T070000000000Z"
    assert current_snapshot(tmp_path) == snapshot.folder
    assert snapshot.row_counts["fct_claim_lines"] == 4
    assert snapshot.row_counts["fct_denials"] == 2
    assert snapshot.row_counts["evidence_documents"] == 2
    assert evidence.filter(pl.col("line_control_number") == "CF5e0c7d2a91b3-1").select(
        "evidence_text", "context_before", "context_after"
    ).row(0) == (
        "Colonoscopy with cold biopsy",
        "PROCEDURE: ",
        ".",
    )


@pytest.mark.slow
def test_publish_snapshot_keeps_the_newest_versions(
    fixture_database: Path, tmp_path: Path
) -> None:
    with duckdb.connect(str(fixture_database), read_only=True) as conn:
        for hour in (1, 2, 3):
            publish_snapshot(
                conn,
                tmp_path,
                created_at=datetime(2026, 11, 23, hour, tzinfo=UTC),
                keep=2,
            )

    kept = sorted(p.name for p in (tmp_path / "versions").iterdir())
    assert kept == ["20261123T020000000000Z", "20261123T030000000000Z"]
    assert current_snapshot(tmp_path).name == "20261123T030000000000Z"


def test_current_snapshot_says_when_none_was_published(tmp_path: Path) -> None:
    with pytest.raises(SnapshotError, match="no snapshot yet"):
        current_snapshot(tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        pytest.param(dashboard.Filters(), (3, 2, 245.0, 2 / 3, 1.0), id="all"),
        pytest.param(
            dashboard.Filters(payer_ids=("AETNA7",)),
            (1, 1, 95.0, 1.0, 1.0),
            id="one-payer",
        ),
        pytest.param(
            dashboard.Filters(cpt_family_codes=("surgery",)),
            (1, 0, 0.0, 0.0, None),
            id="surgery-family",
        ),
        pytest.param(
            dashboard.Filters(service_dates=(date(2026, 11, 3), date(2026, 11, 30))),
            (1, 1, 95.0, 1.0, 1.0),
            id="from-november-3",
        ),
    ],
)
def test_denial_kpis_of_filtered_snapshot_lines(
    fixture_database: Path, tmp_path: Path, filters: dashboard.Filters, expected: tuple
) -> None:
    with duckdb.connect(str(fixture_database), read_only=True) as conn:
        snapshot = publish_snapshot(conn, tmp_path, created_at=datetime.now(UTC))
    lines = read_snapshot_table(snapshot.folder, "fct_claim_lines")

    kpis = dashboard.denial_kpis(dashboard.filter_claim_lines(lines, filters))

    assert (
        kpis.remitted_line_count,
        kpis.denied_line_count,
        kpis.denied_amount,
        kpis.denial_rate,
        kpis.avoidable_share,
    ) == pytest.approx(expected)


@pytest.mark.slow
def test_reporting_assets_publish_snapshot_and_write_report(
    fixture_database: Path, tmp_path: Path
) -> None:
    from cptflow.assets.reporting import denial_pattern_report, mart_snapshot
    from cptflow.orchestration.resources import WarehouseResource

    snapshot_dir, reports_dir = tmp_path / "snapshot", tmp_path / "reports"
    snapshot_run = materialize(
        [mart_snapshot],
        partition_key="2026-11-20",
        resources={"warehouse": WarehouseResource(database=str(fixture_database))},
        run_config={
            "ops": {
                "reporting__mart_snapshot": {
                    "config": {"snapshot_dir": str(snapshot_dir)}
                }
            }
        },
    )
    report_run = materialize(
        [denial_pattern_report],
        run_config={
            "ops": {
                "reporting__denial_pattern_report": {
                    "config": {
                        "snapshot_dir": str(snapshot_dir),
                        "reports_dir": str(reports_dir),
                        "week_start_date": "2026-11-16",
                    }
                }
            }
        },
    )

    assert snapshot_run.success and report_run.success
    html = (reports_dir / "denial_patterns_2026-11-16.html").read_text()
    assert '<div class="value">66.7%</div>' in html
    assert "<td>71046</td>" in html
    assert "<td>bundling</td>" in html


def test_dashboard_command_serves_localhost_without_telemetry() -> None:
    from cptflow.orchestration.commands.dashboard import APP_PATH, streamlit_command

    command = streamlit_command(APP_PATH, port=8765)

    assert APP_PATH.is_file()
    assert "--server.address=127.0.0.1" in command
    assert "--server.port=8765" in command
    assert "--browser.gatherUsageStats=false" in command


def test_dashboard_command_without_snapshot_exits_2(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from cptflow.orchestration.cli import app

    result = CliRunner().invoke(app, ["dashboard", "--snapshot", str(tmp_path)])

    assert result.exit_code == 2
    assert "no snapshot published yet" in " ".join(result.output.split())


def test_denial_kpis_count_underpaid_lines_and_dollars() -> None:
    # Three remitted lines: one denied, two paid of which one is 20.00 short and one
    # 6.00 short; a fourth line is not remitted.
    lines = pl.DataFrame(
        {
            "is_remitted": [True, True, True, False],
            "is_denied": [True, False, False, False],
            "is_avoidable_by_coding": [True, None, None, None],
            "denied_amount": [150.0, 0.0, 0.0, 0.0],
            "is_underpaid": [False, True, True, False],
            "underpaid_amount": [0.0, 20.0, 6.0, 0.0],
        }
    )

    kpis = dashboard.denial_kpis(lines)

    assert (kpis.underpaid_line_count, kpis.underpaid_amount) == (2, 26.0)
    assert (kpis.remitted_line_count, kpis.denied_line_count) == (3, 1)


def test_denial_kpis_of_snapshot_without_underpayment_columns() -> None:
    lines = pl.DataFrame(
        {
            "is_remitted": [True],
            "is_denied": [False],
            "is_avoidable_by_coding": [None],
            "denied_amount": [0.0],
        },
        schema_overrides={"is_avoidable_by_coding": pl.Boolean},
    )

    kpis = dashboard.denial_kpis(lines)

    assert (kpis.underpaid_line_count, kpis.underpaid_amount) == (0, 0.0)


def test_period_totals_count_underpaid_lines_of_the_week() -> None:
    # Two lines paid in the week of 2026-11-16, one 6.00 short; one short line paid
    # the week before does not count.
    lines = pl.DataFrame(
        {
            "is_remitted": [True, True, True],
            "latest_payment_date": [
                date(2026, 11, 16),
                date(2026, 11, 20),
                date(2026, 11, 13),
            ],
            "is_denied": [False, False, False],
            "is_avoidable_by_coding": [None, None, None],
            "denied_amount": [0.0, 0.0, 0.0],
            "is_underpaid": [True, False, True],
            "underpaid_amount": [6.0, 0.0, 20.0],
        },
        schema_overrides={"is_avoidable_by_coding": pl.Boolean},
    )

    totals = period_totals(lines, week=date(2026, 11, 16))

    assert (totals.remitted_line_count, totals.underpaid_line_count) == (2, 1)
    assert totals.underpaid_amount == 6.0
