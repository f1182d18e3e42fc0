"""Evidence spans, confidence and review routing of coded documents."""

from __future__ import annotations

import datetime as dt

import pytest

from cptflow.transforms.coding import CodingResult, code_document
from cptflow.transforms.nlp import find_mentions

DOS = dt.date(2025, 3, 10)

# One short note per family; the second page checks offsets are page-local.
FAMILY_NOTES = {
    "office_visit": [
        "HISTORY OF PRESENT ILLNESS:\nFollow-up of hypertension.\n",
        "ASSESSMENT:\nHypertension.\nPLAN:\nContinue lisinopril 10 mg daily.\n",
    ],
    "discharge": [
        "DISCHARGE SUMMARY\nHOSPITAL COURSE:\nAdmitted with cellulitis and "
        "improved.\nDISCHARGE DIAGNOSIS:\nCellulitis.\n"
    ],
    "ed_visit": [
        "HISTORY OF PRESENT ILLNESS:\nThe patient presented to the emergency "
        "department with chest pain.\nASSESSMENT:\nChest pain.\nPLAN:\nEKG and "
        "troponin reviewed. Aspirin 325 mg given.\n"
    ],
    "endoscopy": [
        "PROCEDURE PERFORMED:\nColonoscopy.\nFINDINGS:\nThe colonoscope was "
        "advanced to the cecum. Normal mucosa.\nIMPRESSION:\nHemorrhoids.\n"
    ],
    "surgery": [
        "PREOPERATIVE DIAGNOSIS:\nAcute appendicitis.\nPOSTOPERATIVE DIAGNOSIS:\n"
        "Acute appendicitis.\nPROCEDURE:\nLaparoscopic appendectomy.\n"
    ],
    "imaging": [
        "EXAM:\nCT abdomen and pelvis with contrast.\nIMPRESSION:\nDiverticulosis.\n"
    ],
}


def _code(pages_text: list[str]) -> tuple[list[tuple[int, str]], CodingResult]:
    pages = list(enumerate(pages_text, start=1))
    return pages, code_document(pages, find_mentions(pages), date_of_service=DOS)


@pytest.mark.parametrize("texts", list(FAMILY_NOTES.values()), ids=list(FAMILY_NOTES))
def test_code_document_every_line_quotes_its_page(texts: list[str]) -> None:
    pages, result = _code(texts)
    page_text = dict(pages)

    assert result.codes
    for line in result.codes:
        assert line.evidence, line.cpt_code
        for span in line.evidence:
            assert page_text[span.page][span.start : span.end] == span.text


def test_code_document_em_evidence_names_time_when_time_decides() -> None:
    text = (
        "HISTORY OF PRESENT ILLNESS:\nFollow-up of low back pain.\nASSESSMENT:\n"
        "Low back pain.\nPLAN:\nHome exercises.\nTotal time spent on the date of "
        "the visit was 42 minutes.\n"
    )
    _, result = _code([text])

    assert [line.cpt_code for line in result.codes] == ["99215"]
    assert any("42 minutes" in span.text for span in result.codes[0].evidence)


def test_code_document_straight_through_office_visit() -> None:
    _, result = _code(FAMILY_NOTES["office_visit"])

    assert [line.cpt_code for line in result.codes] == ["99213"]
    assert not result.needs_review
    assert result.codes[0].confidence >= 0.8


def test_code_document_no_service_goes_to_review() -> None:
    _, result = _code(["Dear Dr. Smith,\nThank you for your letter.\n"])

    assert result.codes == []
    assert result.needs_review
    assert result.review_reasons == ["no codable service found in the document"]


def test_code_document_no_billable_diagnosis_goes_to_review() -> None:
    text = "PROCEDURE PERFORMED:\nColonoscopy.\nFINDINGS:\nAdvanced to the cecum.\n"
    _, result = _code([text])

    assert [line.cpt_code for line in result.codes] == ["45378"]
    assert "no billable diagnosis code linked" in result.review_reasons


def test_code_document_first_listed_diagnosis_uncoded_goes_to_review() -> None:
    text = (
        "HISTORY OF PRESENT ILLNESS:\nFollow-up visit.\nASSESSMENT:\n"
        "1. Frobnication of the elbow.\n2. Hypertension.\nPLAN:\nContinue "
        "lisinopril 10 mg daily.\n"
    )
    _, result = _code([text])

    assert result.codes[0].icd10cm_codes == ["I10"]
    assert result.needs_review


def test_code_document_uncoded_service_is_never_dropped() -> None:
    # The note's service section shows a biopsy beside the coded CT: the CT is
    # kept and the document goes to a coder for the biopsy.
    text = (
        "EXAM:\nCT-guided biopsy of the left adrenal; CT abdomen without "
        "contrast.\nIMPRESSION:\nAdrenal mass.\n"
    )
    _, result = _code([text])

    assert result.needs_review
    assert any("'biopsy'" in reason for reason in result.review_reasons)


def test_code_document_samples_of_a_needle_biopsy_are_its_service() -> None:
    # The cores are what the coded kidney biopsy took, not a second service.
    text = (
        "PROCEDURE:\nCT-guided percutaneous needle biopsy of the left kidney "
        "mass.\nThree core biopsies were obtained with an 18-gauge needle.\n"
        "IMPRESSION:\nLeft renal mass.\n"
    )
    _, result = _code([text])

    assert sorted(line.cpt_code for line in result.codes) == ["50200", "77012"]
    assert result.review_reasons == []


def test_code_document_staging_laparotomy_includes_omentum_and_biopsies() -> None:
    text = (
        "POSTOPERATIVE DIAGNOSIS:\nOvarian carcinoma.\nPROCEDURE:\nExploratory "
        "laparotomy for restaging of ovarian carcinoma with omentectomy, "
        "peritoneal biopsies and pelvic and para-aortic lymphadenectomy.\n"
    )
    _, result = _code([text])

    assert [line.cpt_code for line in result.codes] == ["58960"]
    assert result.review_reasons == []


def test_code_document_visit_with_procedure_lowers_em_confidence() -> None:
    visit = FAMILY_NOTES["office_visit"]
    _, alone = _code(visit)
    _, with_procedure = _code(
        [
            visit[0] + "PHYSICAL EXAMINATION:\nEffusion of the right knee.\n",
            visit[1] + "PROCEDURE:\nThe right knee joint was injected with 40 mg "
            "of triamcinolone.\n",
        ]
    )

    em = [line for line in with_procedure.codes if line.cpt_code == "99213"]
    assert em and em[0].modifiers == ["25"]
    assert em[0].confidence < alone.codes[0].confidence
