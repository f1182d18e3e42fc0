"""Diagnoses are validated against the ICD-10-CM version loaded for the date."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest
from shared_inputs import shared_path

from cptflow.assets.coding import _Icd10Tables
from cptflow.orchestration.resources import WarehouseResource
from cptflow.transforms.coding import (
    default_icd10_table,
    icd10_table_from_rows,
    version_in_force,
)
from cptflow.transforms.reference.load import load_reference

VERSIONS = [
    ("fy2025", dt.date(2024, 10, 1), dt.date(2025, 9, 30)),
    ("fy2026", dt.date(2025, 10, 1), None),
]


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (dt.date(2025, 3, 1), "fy2025"),
        (dt.date(2025, 10, 1), "fy2026"),
        (dt.date(2030, 1, 1), "fy2026"),
        # Before every version: the nearest one, as scrubbing chooses it.
        (dt.date(2020, 1, 1), "fy2025"),
    ],
    ids=["inside-first", "first-day-of-second", "open-ended", "before-all"],
)
def test_version_in_force_picks_the_version_covering_the_date(
    day: dt.date, expected: str
) -> None:
    assert version_in_force(VERSIONS, day) == expected


def test_version_in_force_is_none_without_versions() -> None:
    assert version_in_force([], dt.date(2025, 1, 1)) is None


def test_icd10_table_from_rows_dots_codes_like_the_extract() -> None:
    table = icd10_table_from_rows(
        [("K3580", True, "appendicitis, unspecified"), ("K35", False, None)]
    )

    assert table.is_billable("K35.80")
    assert not table.is_billable("K35")
    assert table.descriptions["K35"] == ""


def test_coding_tables_fall_back_to_the_bundled_table(tmp_path: Path) -> None:
    warehouse = WarehouseResource(database=str(tmp_path / "empty.duckdb"))

    assert _Icd10Tables(warehouse).on(dt.date(2026, 5, 1)) is default_icd10_table()


def test_coding_tables_read_the_loaded_icd10cm_version(tmp_path: Path) -> None:
    # A version that lacks a code the bundled table has, so the answer shows
    # which table was read.
    source = shared_path("data", "reference", "icd10cm_2026_april_codes.csv")
    lines = source.read_text(encoding="utf-8").splitlines()
    kept = [line for line in lines if not line.startswith("Q6689,")]
    older = tmp_path / "icd10cm_older.csv"
    older.write_text("\n".join(kept) + "\n", encoding="utf-8")
    db = tmp_path / "ref.duckdb"
    with duckdb.connect(str(db)) as conn:
        load_reference(conn, older, version="older", effective_from=dt.date(2026, 4, 1))

    table = _Icd10Tables(WarehouseResource(database=str(db))).on(dt.date(2026, 5, 1))

    assert default_icd10_table().is_billable("Q66.89")
    assert not table.is_billable("Q66.89")
    assert table.is_billable("Q66.80")
    assert not table.is_billable("Q66.8")
