"""Tests of the demo history: weekly folders of text notes with their manifests."""

from __future__ import annotations

import csv
import json
from datetime import date, timedelta
from pathlib import Path

from cptflow.transforms.demo import write_demo_inbox
from cptflow.transforms.demo.history import load_history_plan, write_demo_history

MAIN_RECEIVED = date(2026, 11, 2)


def _manifest(folder: Path) -> list[dict[str, str]]:
    with (folder / "manifest.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_write_demo_history_writes_each_planned_week(tmp_path: Path) -> None:
    plan = load_history_plan()

    weeks = write_demo_history(
        tmp_path / "history",
        answers_path=tmp_path / "history.json",
        main_received_date=MAIN_RECEIVED,
    )

    lag = timedelta(days=plan["payment_lag_days"])
    assert [(w.received_date, w.payment_date) for w in weeks] == [
        (week["received_date"], week["received_date"] + lag) for week in plan["weeks"]
    ]
    assert [len(w.paths) for w in weeks] == [
        sum(week["notes"].values()) for week in plan["weeks"]
    ]
    for week in weeks:
        rows = _manifest(week.folder)
        assert sorted(row["file"] for row in rows) == sorted(p.name for p in week.paths)
        assert {row["received_date"] for row in rows} == {
            week.received_date.isoformat()
        }
        assert all(
            0
            < (week.received_date - date.fromisoformat(row["date_of_service"])).days
            <= 5
            for row in rows
        )


def test_write_demo_history_signs_with_the_main_inbox_providers(tmp_path: Path) -> None:
    main = write_demo_inbox(
        tmp_path / "inbox",
        answers_path=tmp_path / "answers.json",
        received_date=MAIN_RECEIVED,
    )
    weeks = write_demo_history(
        tmp_path / "history",
        answers_path=tmp_path / "history.json",
        main_received_date=MAIN_RECEIVED,
    )

    main_rows = _manifest(main.inbox)
    history_rows = [row for week in weeks for row in _manifest(week.folder)]
    assert {row["billing_npi"] for row in history_rows} == {
        row["billing_npi"] for row in main_rows
    }
    assert {row["rendering_npi"] for row in history_rows} <= {
        row["rendering_npi"] for row in main_rows
    }
    main_encounters = {row["encounter_id"] for row in main_rows}
    assert not main_encounters & {row["encounter_id"] for row in history_rows}


def test_write_demo_history_is_reproducible_with_a_key_per_note(tmp_path: Path) -> None:
    first = write_demo_history(
        tmp_path / "a",
        answers_path=tmp_path / "a.json",
        main_received_date=MAIN_RECEIVED,
    )
    second = write_demo_history(
        tmp_path / "b",
        answers_path=tmp_path / "b.json",
        main_received_date=MAIN_RECEIVED,
    )

    texts = [[p.read_text() for p in week.paths] for week in first]
    assert texts == [[p.read_text() for p in week.paths] for week in second]
    key = json.loads((tmp_path / "a.json").read_text())
    assert [item["file"] for item in key["documents"]] == [
        p.name for week in first for p in week.paths
    ]
    assert all(item["expected_codes"] for item in key["documents"])
