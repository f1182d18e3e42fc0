"""The demo end to end: a real Dagster run over generated documents into DuckDB."""

from __future__ import annotations

import json
import shutil
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest
from dagster import (
    AssetCheckSeverity,
    AssetKey,
    DagsterEventType,
    DagsterInstance,
    DagsterRunStatus,
)
from typer.testing import CliRunner

from cptflow.orchestration.cli import DEMO_PAYMENT, DEMO_RECEIVED, app
from cptflow.transforms.demo.history import load_history_plan

pytestmark = pytest.mark.slow

runner = CliRunner()


@pytest.fixture(scope="module")
def demo(demo_run) -> dict:
    """The session's demo run, with the instance it recorded its runs in."""
    assert demo_run.exit_code == 0, demo_run.output
    return {
        "result": demo_run,
        "home": demo_run.home,
        "db": demo_run.db,
        "inbox": demo_run.inbox,
        "answers": demo_run.answers,
        "dagster_home": demo_run.dagster_home,
    }


def _query(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as conn:
        return conn.execute(sql, params or []).fetchall()


def test_demo_exits_zero_and_prints_stage_counts(demo: dict) -> None:
    for table in (
        "intake.documents",
        "ocr.page_texts",
        "coding.encounter_codes",
        "claims.claim_lines",
        "remits.remittance_lines",
    ):
        assert table in demo["result"].output


def test_demo_runs_succeed_with_every_blocking_check_passing(demo: dict) -> None:
    with DagsterInstance.from_config(str(demo["dagster_home"])) as instance:
        runs = instance.get_runs()
        # Four received days (three history weeks and the main inbox), then four
        # payment days.
        assert len(runs) == 8
        assert {run.status for run in runs} == {DagsterRunStatus.SUCCESS}
        evaluations = [
            record.event_log_entry.dagster_event.event_specific_data
            for run in runs
            for record in instance.get_records_for_run(
                run.run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION
            ).records
        ]
    assert len(evaluations) > 20
    blocking = [e for e in evaluations if e.severity == AssetCheckSeverity.ERROR]
    failed = [e.check_name for e in blocking if not e.passed]
    assert not failed


def test_demo_registers_every_file_once(demo: dict) -> None:
    rows = dict(
        _query(demo["db"], "select status, count(*) from intake.documents group by 1")
    )
    # The main inbox's 20 documents and the history's 12 + 12 + 25 text notes.
    assert rows == {"processed": 69, "duplicate": 1, "quarantined": 1}
    reason = _query(
        demo["db"],
        "select reason from intake.documents where file_name = 'scan_corrupt.pdf'",
    )
    assert reason == [("corrupt",)]


def test_demo_reads_scans_with_ocr_and_pdfs_from_their_text_layer(demo: dict) -> None:
    methods = dict(
        _query(
            demo["db"],
            "select d.doc_format || '/' || p.method, count(distinct d.document_id) "
            "from ocr.page_texts p join intake.documents d using (document_id) "
            "where d.status = 'processed' group by 1",
        )
    )
    assert methods["text/plain_text"] == 6 + 49
    assert methods["tiff/ocr"] == 1
    assert methods["pdf/text_layer"] == 5
    assert methods["pdf/ocr"] == 8
    confidence = _query(
        demo["db"], "select min(mean_confidence) from ocr.page_texts where method='ocr'"
    )[0][0]
    assert confidence > 80


def test_demo_codes_match_the_answer_key(demo: dict) -> None:
    coded = {
        name: sorted(codes)
        for name, codes in _query(
            demo["db"],
            "select d.file_name, list(c.cpt_code) from coding.encounter_codes c "
            "join intake.documents d using (document_id) group by 1",
        )
    }
    expected = {
        item["file"]: sorted(code["cpt_code"] for code in item["expected_codes"])
        for item in demo["answers"]["documents"]
        if item["expected_status"] == "processed"
    }
    wrong = {
        f: (coded.get(f, []), codes)
        for f, codes in expected.items()
        if coded.get(f, []) != codes
    }
    assert not wrong


def test_demo_posts_remittances_to_claim_lines(demo: dict) -> None:
    lines = _query(
        demo["db"],
        "select count(*), count(*) filter (where match_method = 'unmatched') "
        "from intermediate.int_remittance_lines__matched",
    )[0]
    assert lines[0] > 0
    assert lines[1] == 0
    paid_dates = _query(
        demo["db"],
        "select distinct partition_date from remits.remittance_lines order by 1",
    )
    # Each received Monday is paid on the Friday of the next week: 10-30, 11-06,
    # 11-13 and 11-20.
    plan = load_history_plan()
    lag = timedelta(days=plan["payment_lag_days"])
    received = sorted(
        [*(week["received_date"] for week in plan["weeks"]), DEMO_RECEIVED]
    )
    assert paid_dates == [(day + lag,) for day in received]
    assert (DEMO_PAYMENT,) in paid_dates


def test_demo_history_notes_are_coded_as_their_key_says(demo: dict) -> None:
    key = json.loads((demo["home"] / "demo" / "history_answers.json").read_text())
    coded = dict(
        _query(
            demo["db"],
            "select d.file_name, list(c.cpt_code order by c.cpt_code)"
            " from coding.encounter_codes c join intake.documents d using (document_id)"
            " where d.file_name like 'history_%' group by 1",
        )
    )
    expected = {
        item["file"]: sorted(code["cpt_code"] for code in item["expected_codes"])
        for item in key["documents"]
    }

    assert len(expected) == 49
    assert coded == expected


def test_demo_reversal_takes_back_the_old_rate_payment(demo: dict) -> None:
    # Prairie (SX141) paid 99213 at 70.00 until 2026-11-12; on 2026-11-13 it reverses
    # those payments and pays them again at 92.00.
    reversed_lines = _query(
        demo["db"],
        "select original.payment_date, reversal.payment_date,"
        " original.paid_amount + original.patient_responsibility_amount,"
        " -reversal.paid_amount = original.paid_amount"
        " from marts.fct_remittance_lines as reversal"
        " join marts.fct_remittance_lines as original"
        " on reversal.reverses_remittance_line_id = original.remittance_line_id"
        " where reversal.is_reversal",
    )
    posted = _query(
        demo["db"],
        "select distinct allowed_amount, reversal_count, is_underpaid"
        " from marts.fct_claim_lines where reversal_count > 0",
    )

    assert reversed_lines
    assert {row[1] for row in reversed_lines} == {date(2026, 11, 13)}
    assert all(row[0] < date(2026, 11, 13) for row in reversed_lines)
    assert {(row[2], row[3]) for row in reversed_lines} == {(70.0, True)}
    assert posted == [(92.0, 1, False)]


def test_demo_flags_chest_xray_underpayments(demo: dict) -> None:
    # Prairie allows 30.00 for 71046; the fee schedule expects 36.00.
    rows = _query(
        demo["db"],
        "select cpt_code, payer_id, allowed_amount, underpaid_amount, count(*)"
        " from marts.fct_claim_lines where is_underpaid group by all",
    )

    assert rows
    assert {row[:4] for row in rows} == {("71046", "SX141", 30.0, 6.0)}


def test_demo_report_flags_the_provider_hit_by_the_new_policy(demo: dict) -> None:
    internal_medicine = _query(
        demo["db"],
        "select distinct rendering_npi from marts.fct_claim_lines"
        " where cpt_code like '992%' and rendering_npi is not null",
    )
    with DagsterInstance.from_config(str(demo["dagster_home"])) as instance:
        event = instance.get_latest_materialization_event(
            AssetKey(["reporting", "denial_pattern_report"])
        )
    metadata = event.asset_materialization.metadata

    assert metadata["week_start_date"].value == "2026-11-16"
    assert metadata["spikes"].value == [npi for (npi,) in internal_medicine]
    assert (demo["home"] / "reports" / "denial_patterns_2026-11-16.html").exists()


def test_demo_builds_denial_marts(demo: dict) -> None:
    denied = _query(demo["db"], "select count(*) from marts.fct_denials")[0][0]
    by_code = _query(
        demo["db"], "select sum(denied_line_count) from marts.denials_by_cpt_code"
    )[0][0]
    assert denied > 0
    assert by_code == denied


def test_rerunning_a_partition_leaves_row_counts_unchanged(
    demo: dict, tmp_path: Path
) -> None:
    # Work on a copy: the session's demo database is shared read-only.
    db = tmp_path / "rerun.duckdb"
    shutil.copy(demo["db"], db)

    def counts() -> dict[str, int]:
        tables = _query(
            db,
            "select table_schema, table_name from information_schema.tables "
            "where table_type = 'BASE TABLE' order by 1, 2",
        )
        return {
            f"{s}.{t}": _query(db, f'select count(*) from "{s}"."{t}"')[0][0]
            for s, t in tables
        }

    before = counts()
    arguments = ["run", "--inbox", str(demo["inbox"]), "--db", str(db)]
    arguments += ["--partition", DEMO_RECEIVED.isoformat()]
    result = runner.invoke(app, arguments, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert counts() == before
