"""The demo end to end: a real Dagster run over generated documents into DuckDB."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest
from dagster import (
    AssetCheckSeverity,
    DagsterEventType,
    DagsterInstance,
    DagsterRunStatus,
)
from typer.testing import CliRunner

from cptflow.orchestration.cli import DEMO_PAYMENT, DEMO_RECEIVED, app

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
        assert len(runs) == 2
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
    assert rows == {"processed": 20, "duplicate": 1, "quarantined": 1}
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
    assert methods["text/plain_text"] == 6
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
        demo["db"], "select distinct partition_date from remits.remittance_lines"
    )
    assert paid_dates == [(DEMO_PAYMENT,)]


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
