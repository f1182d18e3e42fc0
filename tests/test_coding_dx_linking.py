"""The first-listed diagnosis of a coded document, against the CMS table."""

from __future__ import annotations

import datetime as dt

import pytest
from shared_inputs import shared_path

from cptflow.transforms.coding import (
    code_document,
    default_icd10_table,
    load_icd10_table,
)
from cptflow.transforms.coding.icd10 import Icd10Table, is_diagnosis_item, link_items
from cptflow.transforms.nlp import find_mentions

DOS = dt.date(2026, 5, 1)
CESAREAN = (
    "PREOPERATIVE DIAGNOSIS:\n1. Intrauterine pregnancy at 40 weeks.\n2. {second}\n"
    "3. Breech presentation.\nPOSTOPERATIVE DIAGNOSIS:\nSame.\nPROCEDURE:\n"
    "Primary low transverse cesarean section.\n"
)


@pytest.fixture(scope="module")
def table() -> Icd10Table:
    return load_icd10_table(
        shared_path("data", "reference", "icd10cm_2026_april_codes.csv")
    )


def _code(text: str, table: Icd10Table):  # noqa: ANN202 - a CodingResult
    pages = [(1, text)]
    return code_document(pages, find_mentions(pages), date_of_service=DOS, icd10=table)


def test_is_diagnosis_item_condition_by_history() -> None:
    assert not is_diagnosis_item("Hepatitis B carrier, known by history.")
    assert is_diagnosis_item("Hepatitis B carrier.")


def test_code_document_history_item_is_not_first_listed(table: Icd10Table) -> None:
    result = _code(CESAREAN.format(second="Hepatitis C, positive by history."), table)

    assert [line.cpt_code for line in result.codes] == ["59514"]
    # Breech presentation is the reason for the operation, so it leads.
    assert result.codes[0].icd10cm_codes == ["O32.1XX0", "B19.20"]
    assert not result.needs_review


def test_code_document_uncoded_first_diagnosis_goes_to_review(
    table: Icd10Table,
) -> None:
    result = _code(CESAREAN.format(second="Frobnicated placenta."), table)

    assert result.codes[0].icd10cm_codes == ["O32.1XX0"]
    assert (
        "first listed diagnosis not coded: only secondary codes linked"
        in result.review_reasons
    )


def test_link_items_adjective_form_of_keratosis(table: Icd10Table) -> None:
    links = link_items(
        "1. Seborrheic keratotic neoplasm of the right cheek.\n"
        "2. Keratotic neoplasm of the chin.\n3. Dark lesion of the ear.\n",
        DOS,
        table,
    )

    assert [link.code for link in links] == ["L82.1", "D49.2", None]


def test_code_document_no_diagnosis_stated_goes_to_review(table: Icd10Table) -> None:
    result = _code(
        "PROCEDURE:\nRight knee joint injection.\nThe knee was prepped and 40 mg "
        "of Kenalog was injected into the joint.\n",
        table,
    )

    assert [line.cpt_code for line in result.codes] == ["20610"]
    assert result.codes[0].icd10cm_codes == []
    assert "no billable diagnosis code linked" in result.review_reasons


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ("Bilateral knee degenerative joint disease.", "M17.0"),
        ("Right elbow olecranon bursitis.", "M70.21"),
        ("Sigmoid colon polyps, small.", "K63.5"),
        ("Degenerative changes of the knee.", None),
        ("Osteoarthritis of the right knee.", "M17.11"),
        ("Chronic cholecystitis without cholelithiasis.", "K81.1"),
        ("Abdominal pain, left lower quadrant.", "R10.32"),
    ],
    ids=[
        "site_first_bilateral",
        "site_first_right",
        "plural_reordered",
        "word_missing",
        "fuller_phrase_out_of_order_wins",
        "without_is_not_with",
        "side_inside_a_phrase",
    ],
)
def test_link_items_phrase_words_in_any_order(
    item: str, expected: str | None, table: Icd10Table
) -> None:
    assert [link.code for link in link_items(item, DOS, table)] == [expected]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Left renal mass. Renal cell carcinoma cannot be excluded.", ["N28.89"]),
        ("Right lower lobe pneumonia is suspected.", [None]),
        ("Lung mass; malignancy is not excluded.", ["R91.8"]),
    ],
    ids=["cannot_be_excluded", "is_suspected", "not_excluded"],
)
def test_link_items_doubt_after_a_diagnosis_drops_its_sentence(
    text: str, expected: list[str | None], table: Icd10Table
) -> None:
    assert [link.code for link in link_items(text, DOS, table)] == expected


@pytest.mark.parametrize(
    "item",
    ["Thrombosed left forearm loop AV graft.", "Clotted right arm dialysis fistula."],
)
def test_link_items_thrombosed_access_is_a_graft_complication(
    item: str, table: Icd10Table
) -> None:
    assert [link.code for link in link_items(item, DOS, table)] == ["T82.868A"]


def test_bundled_table_links_by_its_cms_description() -> None:
    # No phrase names this defect: the full code set's own wording does.
    links = link_items("Patent ductus arteriosus.", DOS, default_icd10_table())

    assert [(link.code, link.how) for link in links] == [("Q25.0", "description")]


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ("Right otorrhea.", "H92.11"),
        ("Aphakia.", "H27.00"),
        ("Left hemothorax.", "J94.2"),
        ("Displaced left subtrochanteric femur fracture.", None),
    ],
    ids=["side_named", "no_side_is_unspecified", "code_without_side", "no_sequela"],
)
def test_link_items_description_match_keeps_the_items_side_and_encounter(
    item: str, expected: str | None, table: Icd10Table
) -> None:
    assert [link.code for link in link_items(item, DOS, table)] == [expected]


VISIT = (
    "HISTORY OF PRESENT ILLNESS:\nFollow-up visit.\nASSESSMENT:\n1. {first}\n"
    "2. Hypertension.\nPLAN:\nContinue lisinopril 10 mg daily.\n"
)


@pytest.mark.parametrize(
    "first",
    ["Status post kidney transplant, stable.", "Probable sleep apnea."],
    ids=["history", "doubt"],
)
def test_code_document_history_or_doubt_is_not_first_listed(
    first: str, table: Icd10Table
) -> None:
    result = _code(VISIT.format(first=first), table)

    assert result.codes[0].icd10cm_codes == ["I10"]
    assert not result.needs_review


def test_code_document_stated_uncoded_first_diagnosis_is_reviewed(
    table: Icd10Table,
) -> None:
    result = _code(VISIT.format(first="Glomerular frobnication."), table)

    assert result.codes[0].icd10cm_codes == ["I10"]
    assert result.needs_review


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ("Tinnitus, left ear.", "H93.12"),
        ("Viral gastroenteritis.", "A08.4"),
        ("Gastroenteritis.", "K52.9"),
        ("Innocent heart murmur, stable.", "R01.0"),
        # No bare "diabetes" phrase reads this as type 2; the CMS description
        # match finds it.
        ("Diabetes insipidus.", "E23.2"),
    ],
    ids=["sided", "longer_first", "shorter", "qualified", "not_guessed"],
)
def test_link_items_common_outpatient_phrases(
    item: str, expected: str, table: Icd10Table
) -> None:
    assert [link.code for link in link_items(item, DOS, table)] == [expected]
