"""Office E/M levels from short visit notes written for these tests."""

from __future__ import annotations

import datetime as dt

import pytest

from cptflow.transforms.coding import code_document
from cptflow.transforms.nlp import find_mentions

DOS = dt.date(2025, 3, 10)

VISITS = {
    # One acute uncomplicated problem, no data, no drug: straightforward.
    "new_straightforward": (
        "CHIEF COMPLAINT:\nSore heel.\n"
        "HISTORY OF PRESENT ILLNESS:\nA 40-year-old runner with heel pain for a "
        "week.\nASSESSMENT:\nPlantar fasciitis.\nPLAN:\nStretching at home.\n",
        "99202",
    ),
    # Two problems, a drug dose change and three labs ordered: moderate.
    "established_moderate": (
        "HISTORY OF PRESENT ILLNESS:\nReturn visit for hypothyroidism and "
        "type 2 diabetes; last visit three months ago.\n"
        "ASSESSMENT:\n1. Hypothyroidism.\n2. Type 2 diabetes.\n"
        "PLAN:\nIncrease levothyroxine to 100 mcg daily. Check TSH, free T4 and "
        "A1c.\n",
        "99214",
    ),
    # One problem, an MRI ordered and a parent giving the history: low.
    "new_low": (
        "HISTORY OF PRESENT ILLNESS:\nA 15-year-old brought in by her mother "
        "after twisting the left ankle.\n"
        "IMPRESSION:\nLeft ankle sprain.\nPLAN:\nMRI of the ankle; crutches.\n",
        "99203",
    ),
    # Total time documented outranks a low MDM.
    "established_by_time": (
        "HISTORY OF PRESENT ILLNESS:\nFollow-up of low back pain.\n"
        "ASSESSMENT:\nLow back pain.\nPLAN:\nHome exercises.\n"
        "Total time spent on the date of the visit was 42 minutes.\n",
        "99215",
    ),
}


@pytest.mark.parametrize(("text", "expected"), list(VISITS.values()), ids=list(VISITS))
def test_code_document_office_visit_level(text: str, expected: str) -> None:
    pages = [(1, text)]

    result = code_document(pages, find_mentions(pages), date_of_service=DOS)

    assert [line.cpt_code for line in result.codes] == [expected]


def test_code_document_deleted_visit_code_before_2021() -> None:
    text = VISITS["new_straightforward"][0]
    pages = [(1, text)]

    result = code_document(
        pages, find_mentions(pages), date_of_service=dt.date(2019, 6, 1)
    )

    assert [line.cpt_code for line in result.codes] == ["99201"]


def test_code_document_emergency_visit_goes_to_review() -> None:
    text = (
        "HISTORY OF PRESENT ILLNESS:\nSeen in the emergency department after a "
        "fall.\nIMPRESSION:\nSyncope.\nPLAN:\nAdmit for telemetry.\n"
    )
    pages = [(1, text)]

    result = code_document(pages, find_mentions(pages), date_of_service=DOS)

    assert result.codes == []
    assert result.needs_review


def test_code_document_links_primary_diagnosis() -> None:
    text = VISITS["established_moderate"][0]
    pages = [(1, text)]

    result = code_document(pages, find_mentions(pages), date_of_service=DOS)

    assert result.codes[0].icd10cm_codes == ["E03.9", "E11.9"]
