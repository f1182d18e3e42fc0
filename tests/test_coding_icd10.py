"""ICD-10-CM table loading, the bundled extract and diagnosis linking."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest

from cptflow.transforms.coding import default_icd10_table, load_icd10_table
from cptflow.transforms.coding.icd10 import link_diagnoses, load_phrases
from cptflow.transforms.coding.rules import RULES_DIR, rules_version

SHARED_TABLE = (
    Path(__file__).resolve().parents[1].parent
    / "shared"
    / "data"
    / "reference"
    / "icd10cm_2026_april_codes.csv"
)
DOS = dt.date(2025, 6, 1)


def test_default_icd10_table_covers_every_phrase_code() -> None:
    table = default_icd10_table()
    with (RULES_DIR / "icd10cm_phrases.csv").open(encoding="utf-8") as handle:
        current = [row for row in csv.DictReader(handle) if not row["effective_to"]]

    assert all(table.is_billable(row["icd10cm_code"]) for row in current)


@pytest.mark.skipif(not SHARED_TABLE.exists(), reason="../shared table absent")
def test_load_icd10_table_reads_shared_file() -> None:
    table = load_icd10_table(SHARED_TABLE)

    assert table.is_billable("K35.80")
    assert not table.is_billable("K35")
    assert not table.is_billable("Z86.010")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1. Acute appendicitis.\n2. Hemorrhoids.\n", ["K35.80", "K64.9"]),
        ("Diverticulosis of the sigmoid colon.", ["K57.30"]),
        ("Gastritis (K29.70) and GERD.", ["K29.70"]),
        ("Pain, code K35 written without its digits.", []),
    ],
    ids=["numbered_items", "longest_phrase", "explicit_code", "not_billable"],
)
def test_link_diagnoses(text: str, expected: list[str]) -> None:
    assert link_diagnoses(text, DOS, default_icd10_table()) == expected


def test_link_diagnoses_uses_dated_phrase_code() -> None:
    table = load_icd10_table(SHARED_TABLE) if SHARED_TABLE.exists() else None
    if table is None:
        pytest.skip("../shared table absent")

    assert link_diagnoses("History of colon polyps.", DOS, table) == ["Z86.0100"]


def test_load_phrases_longest_first() -> None:
    lengths = [phrase.length for phrase in load_phrases()]

    assert lengths == sorted(lengths, reverse=True)


def test_rules_version_names_version_and_digest() -> None:
    version, digest = rules_version().split("+")

    assert version == "2025.1"
    assert len(digest) == 8
