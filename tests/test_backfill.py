"""`cptflow backfill`: a month of text notes in one run through the multiprocess
executor and the real Dagster instance, with no DuckDB lock failure, and idempotent
re-runs."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest
from dagster import AssetKey, DagsterInstance, DagsterRunStatus
from typer.testing import CliRunner

from cptflow.orchestration.cli import app

REPO = Path(__file__).resolve().parents[1]
# The month of the issue, two text notes a day, in one single-run backfill;
# benchmarks/backfill_benchmark.py measures the larger backfill outside CI.
DAYS = int(os.environ.get("CPTFLOW_BACKFILL_TEST_DAYS", "30"))
PER_DAY = 2
FIRST_DAY = date(2026, 10, 1)

runner = CliRunner()


def _benchmark_module():
    """The benchmark script, whose text-note writer the test shares."""
    path = REPO / "benchmarks" / "backfill_benchmark.py"
    spec = importlib.util.spec_from_file_location("backfill_benchmark", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _rows_per_day(db: Path, table: str) -> dict[date, int]:
    """Rows of a stage table per partition date."""
    with duckdb.connect(str(db), read_only=True) as conn:
        rows = conn.execute(
            f"select partition_date, count(*) from {table} group by 1"
        ).fetchall()
    return dict(rows)


def _row_counts(db: Path) -> dict[str, int]:
    """Rows in every table of the DuckDB file, marts included."""
    with duckdb.connect(str(db), read_only=True) as conn:
        tables = conn.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_type = 'BASE TABLE' order by 1, 2"
        ).fetchall()
        return {
            f"{schema}.{name}": conn.execute(
                f'select count(*) from "{schema}"."{name}"'
            ).fetchone()[0]
            for schema, name in tables
        }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            ["--from", "2026-13-01", "--to", "2026-12-02"], "not a date", id="bad-date"
        ),
        pytest.param(
            ["--from", "2026-12-02", "--to", "2026-12-01"], "before", id="reversed"
        ),
        pytest.param(
            ["--from", "2026-12-01", "--to", "2026-12-02", "--executor", "dask"],
            "dask",
            id="unknown-executor",
        ),
        pytest.param(
            ["--from", "2026-12-01", "--to", "2026-12-02", "--inbox", "/nonexistent"],
            "not a folder",
            id="missing-inbox",
        ),
    ],
)
def test_backfill_rejects_bad_arguments(args: list[str], message: str) -> None:
    result = runner.invoke(app, ["backfill", *args])

    assert result.exit_code == 2
    assert message in result.output


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """A month of two text notes a day, backfilled once with multiprocess."""
    home = tmp_path_factory.mktemp("backfill-home")
    saved = {k: os.environ.get(k) for k in ("CPTFLOW_HOME", "DAGSTER_HOME")}
    os.environ["CPTFLOW_HOME"] = str(home)
    os.environ["DAGSTER_HOME"] = str(home / "dagster")
    inbox, db = home / "inbox", home / "cptflow.duckdb"
    _benchmark_module().write_text_inbox(
        inbox, first_day=FIRST_DAY, days=DAYS, per_day=PER_DAY
    )
    last = FIRST_DAY + timedelta(days=DAYS - 1)
    result = runner.invoke(
        app,
        [
            "backfill",
            "--from",
            FIRST_DAY.isoformat(),
            "--to",
            last.isoformat(),
            "--inbox",
            str(inbox),
            "--db",
            str(db),
            "--executor",
            "multiprocess",
        ],
        catch_exceptions=False,
    )
    yield {"result": result, "inbox": inbox, "db": db, "home": home}
    for key, value in saved.items():
        if value is not None:
            os.environ[key] = value


@pytest.mark.slow
def test_backfill_runs_the_month_in_one_run_without_a_lock_failure(
    month: dict,
) -> None:
    assert month["result"].exit_code == 0, month["result"].output
    with DagsterInstance.get() as instance:
        runs = instance.get_runs()
        materialized = instance.get_materialized_partitions(
            AssetKey(["claims", "claim_files"])
        )
    by_job: dict[str, list] = {}
    for run in runs:
        by_job.setdefault(run.job_name, []).append(run)
    days = [FIRST_DAY + timedelta(days=n) for n in range(DAYS)]

    (backfill,) = by_job["backfill_pipeline"]
    assert backfill.tags["dagster/asset_partition_range_start"] == "2026-10-01"
    assert backfill.tags["dagster/asset_partition_range_end"] == days[-1].isoformat()
    assert len(by_job["marts_refresh"]) == 1
    assert {r.status for r in runs} == {DagsterRunStatus.SUCCESS}
    assert materialized == {day.isoformat() for day in days}
    for table in ("intake.documents", "coding.encounters", "claims.claims"):
        assert _rows_per_day(month["db"], table) == dict.fromkeys(days, PER_DAY)
    assert _rows_per_day(month["db"], "claims.claim_files") == dict.fromkeys(days, 1)


@pytest.mark.slow
def test_backfill_rerun_leaves_every_table_row_count_unchanged(month: dict) -> None:
    assert month["result"].exit_code == 0, month["result"].output
    before = _row_counts(month["db"])

    result = runner.invoke(
        app,
        [
            "backfill",
            "--from",
            FIRST_DAY.isoformat(),
            "--to",
            (FIRST_DAY + timedelta(days=1)).isoformat(),
            "--inbox",
            str(month["inbox"]),
            "--db",
            str(month["db"]),
            "--executor",
            "in_process",
        ],
        catch_exceptions=False,
    )

    assert result.exit_code == 0, result.output
    assert _row_counts(month["db"]) == before
    assert not any(name.startswith("dagster") for name in before)
