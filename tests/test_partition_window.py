"""Dates outside the daily partitions: a usage error or a named, skipped file."""

from __future__ import annotations

import os
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cptflow.orchestration.cli import app
from cptflow.orchestration.partitions import outside_window, partition_window

runner = CliRunner()


def test_partition_window_runs_from_2015_to_today() -> None:
    first, last = partition_window()

    assert first == date(2015, 1, 1)
    assert date.today() - timedelta(days=1) <= last <= date.today() + timedelta(days=1)


@pytest.mark.parametrize(
    ("day", "is_outside"),
    [(date(2014, 12, 31), True), (date(2015, 1, 1), False), (date(2099, 1, 1), True)],
    ids=["day-before-first", "first-day", "far-future"],
)
def test_outside_window_names_days_no_partition_holds(
    day: date, is_outside: bool
) -> None:
    reason = outside_window(day)

    assert (reason is not None) == is_outside
    if reason:
        assert reason.startswith(f"{day} is outside the daily partitions (2015-01-01")


def test_run_rejects_a_partition_before_the_first(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["run", "--inbox", str(tmp_path), "--partition", "2010-01-01"]
    )

    assert result.exit_code == 2
    assert "outside the daily partitions" in result.output
    assert "Traceback" not in result.output


def test_backfill_rejects_a_range_starting_before_the_first_partition(
    tmp_path: Path,
) -> None:
    result = runner.invoke(
        app,
        ["backfill", "--from", "2014-12-30", "--to", "2015-01-01",
         "--inbox", str(tmp_path)],
    )  # fmt: skip

    assert result.exit_code == 2
    assert "2014-12-30 is outside the daily partitions" in result.output


def test_run_names_and_skips_a_file_dated_before_the_partitions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CPTFLOW_HOME", str(tmp_path / "home"))
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    old = inbox / "old_note.txt"
    old.write_text("Office visit, established patient.\n")
    noon = datetime(2010, 1, 1, 12).timestamp()
    os.utime(old, (noon, noon))

    result = runner.invoke(
        app, ["run", "--inbox", str(inbox), "--db", str(tmp_path / "w.duckdb")]
    )

    assert result.exit_code == 0, result.output
    assert "old_note.txt: skipped: 2010-01-01 is outside" in result.output
    assert "Nothing to do" in result.output
