"""ICD-10-CM diagnosis linking against the full CMS table from ../shared."""

from __future__ import annotations

import datetime as dt

import pytest
from shared_inputs import shared_path

from cptflow.transforms.coding import code_document, load_icd10_table
from cptflow.transforms.coding.icd10 import Icd10Table, link_diagnoses, link_items
from cptflow.transforms.nlp import find_mentions

DOS = dt.date(2026, 5, 1)


@pytest.fixture(scope="module")
def table() -> Icd10Table:
    return load_icd10_table(
        shared_path("data", "reference", "icd10cm_2026_april_codes.csv")
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Osteoarthritis, M17.11 per the referral.", ["M17.11"]),
        ("1. Hypertension.\n2. Type 2 diabetes.\n", ["I10", "E11.9"]),
        ("Right carpal tunnel syndrome.", ["G56.01"]),
        ("Carpal tunnel syndrome, both hands, bilateral.", ["G56.03"]),
        ("Knee pain.", ["M25.569"]),
        ("Headaches, question of temporal arteritis.", ["R51.9"]),
        ("Chest pain, rule out myocardial infarction.", ["R07.9"]),
        ("Patent ductus arteriosus.", ["Q25.0"]),
        ("Category K35 alone is a header.", []),
        ("Normal study.", []),
    ],
    ids=[
        "explicit_code",
        "phrases_in_order",
        "side_right",
        "side_bilateral",
        "side_unspecified",
        "uncertain_cut",
        "rule_out_cut",
        "description_match",
        "header_code_rejected",
        "nothing",
    ],
)
def test_link_diagnoses_full_table(
    text: str, expected: list[str], table: Icd10Table
) -> None:
    assert link_diagnoses(text, DOS, table) == expected


def test_link_diagnoses_explicit_code_wins_over_phrase(table: Icd10Table) -> None:
    links = link_items("Hypertension (I11.9).", DOS, table)

    assert [(link.code, link.how) for link in links] == [("I11.9", "explicit")]


def test_link_diagnoses_phrase_code_by_date(table: Icd10Table) -> None:
    # Supraventricular tachycardia was split into I47.10-I47.19 in October 2022;
    # the 2021 code I47.1 is no longer billable in this table, so a 2021 note
    # falls back to the next phrase that is.
    assert link_diagnoses("Supraventricular tachycardia.", DOS, table) == ["I47.10"]
    old = link_diagnoses("Supraventricular tachycardia.", dt.date(2021, 5, 1), table)
    assert old == ["R00.0"]


def test_link_diagnoses_every_current_phrase_code_billable(
    table: Icd10Table,
) -> None:
    from cptflow.transforms.coding.icd10 import load_phrases

    current = [p for p in load_phrases() if p.is_effective(DOS)]
    codes = {p.code_for(side) for p in current for side in (0, 1, 2, None)}

    assert sorted(c for c in codes if not table.is_billable(c)) == []


def test_bundled_table_is_the_cms_table(table: Icd10Table) -> None:
    from cptflow.transforms.coding.icd10 import BUNDLED_FILE, load_icd10_table

    bundled = load_icd10_table(BUNDLED_FILE)

    assert bundled.billable == table.billable
    assert bundled.descriptions["Q25.0"] == "Patent ductus arteriosus"


def test_code_document_postoperative_same_uses_preoperative(
    table: Icd10Table,
) -> None:
    text = (
        "PREOPERATIVE DIAGNOSIS:\nUmbilical hernia.\nPOSTOPERATIVE DIAGNOSIS:\n"
        "Same.\nPROCEDURE:\nOpen umbilical hernia repair.\n"
    )
    pages = [(1, text)]

    result = code_document(
        pages, find_mentions(pages), date_of_service=DOS, icd10=table
    )

    assert {code for line in result.codes for code in line.icd10cm_codes} == {"K42.9"}


def test_code_document_discharge_diagnosis_is_primary(table: Icd10Table) -> None:
    text = (
        "DISCHARGE SUMMARY\nDISCHARGE DIAGNOSES:\n1. Acute pancreatitis.\n"
        "2. Hypokalemia.\nHOSPITAL COURSE:\nAdmitted, treated with fluids and "
        "improved.\n"
    )
    pages = [(1, text)]

    result = code_document(
        pages, find_mentions(pages), date_of_service=DOS, icd10=table
    )

    assert [line.icd10cm_codes for line in result.codes] == [["K85.90", "E87.6"]]
