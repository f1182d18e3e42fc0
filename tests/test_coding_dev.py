"""Dev-set rows of the coded families, read from ../shared at run time."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from cptflow.transforms.coding import code_document
from cptflow.transforms.nlp import find_mentions

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
MTSAMPLES = SHARED / "data" / "mtsamples" / "mtsamples.csv"
GOLD = SHARED / "eval" / "dev.jsonl"
FAMILY_ROWS = [876, 1011, 1018, 1224, 1230, 1231, 1716, 1725, 42, 137, 425, 1452, 2190]
# E/M settings beyond the office: emergency, discharge, dietitian consult.
FAMILY_ROWS += [3809, 3964, 4453]

pytestmark = pytest.mark.skipif(
    not (MTSAMPLES.exists() and GOLD.exists()),
    reason="../shared with MTSamples and the dev labels is not present",
)


def note_text(transcription: str) -> str:
    # eval/README.md: MTSamples flattened line breaks to ",  " and ":,".
    return transcription.replace(",  ", "\n").replace(":,", ":\n")


@pytest.fixture(scope="module")
def transcriptions() -> dict[int, str]:
    csv.field_size_limit(1 << 30)
    with MTSAMPLES.open(encoding="utf-8", newline="") as handle:
        rows = csv.DictReader(handle)
        return {int(row[""]): row["transcription"] for row in rows if row[""]}


@pytest.fixture(scope="module")
def gold() -> dict[int, dict]:
    with GOLD.open(encoding="utf-8") as handle:
        return {entry["row"]: entry for entry in map(json.loads, handle)}


def predicted(text: str) -> set[str]:
    pages = [(1, text)]
    result = code_document(pages, find_mentions(pages))
    return {line.cpt_code[:5] for line in result.codes}


@pytest.mark.parametrize("row", FAMILY_ROWS, ids=[f"row{r}" for r in FAMILY_ROWS])
def test_code_document_dev_row_matches_gold(
    row: int, transcriptions: dict[int, str], gold: dict[int, dict]
) -> None:
    entry = gold[row]
    codes = predicted(note_text(transcriptions[row]))

    required = [c["cpt"] for c in entry["codes"] if c["required"]]
    accepted = {c["cpt"] for c in entry["codes"]}
    for code in required:
        choices = {code, *entry["alternates"].get(code, [])}
        assert codes & choices, f"missing {code}"
        accepted |= choices
    assert codes <= accepted
