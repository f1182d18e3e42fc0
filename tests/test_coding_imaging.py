"""Radiology reports in the usual layouts, coded through find_mentions."""

from __future__ import annotations

import datetime as dt

import pytest

from cptflow.transforms.coding import CodingResult, code_document
from cptflow.transforms.nlp import find_mentions

DOS = dt.date(2025, 6, 2)


def result_of(text: str) -> CodingResult:
    pages = [(1, text)]
    return code_document(pages, find_mentions(pages), date_of_service=DOS)


def codes(text: str) -> list[str]:
    return sorted(line.cpt_code for line in result_of(text).codes)


REPORTS = {
    "examination_header_chest": (
        "Mercy Imaging\nDIAGNOSTIC IMAGING REPORT\n\n"
        "EXAMINATION: Chest radiographs, two views.\n"
        "INDICATION: Fever.\nFINDINGS: The lungs are clear.\n"
        "IMPRESSION: Normal chest.\n",
        ["71046"],
    ),
    "title_line_ct": (
        "CT ABDOMEN AND PELVIS WITHOUT CONTRAST\n\n"
        "CLINICAL HISTORY: Flank pain.\nTECHNIQUE: Helical images without "
        "intravenous contrast.\nFINDINGS: A 4 mm stone in the left ureter.\n"
        "IMPRESSION: Obstructing left ureteral stone.\n",
        ["74176"],
    ),
    "exam_header_ct_head": (
        "EXAM: CT head without contrast.\nREASON FOR EXAM: Fall.\n"
        "FINDINGS: No hemorrhage.\nIMPRESSION: No acute intracranial process.\n",
        ["70450"],
    ),
    "technique_mri_brain": (
        "RADIOLOGY REPORT\n\nEXAMINATION: MRI of the brain with and without "
        "contrast.\nTECHNIQUE: Sagittal and axial images before and after "
        "gadolinium.\nIMPRESSION: Small vessel ischemic change.\n",
        ["70553"],
    ),
    "knee_three_views": (
        "EXAM: Right knee x-ray, three views.\nFINDINGS: Joint space narrowing.\n"
        "IMPRESSION: Osteoarthritis.\n",
        ["73562"],
    ),
    "examination_ultrasound_complete": (
        "EXAMINATION: Ultrasound of the abdomen, complete.\n"
        "TECHNIQUE: Grayscale images of the liver, gallbladder and kidneys.\n"
        "IMPRESSION: Fatty liver.\n",
        ["76700"],
    ),
}


@pytest.mark.parametrize(
    ("text", "expected"), list(REPORTS.values()), ids=list(REPORTS)
)
def test_code_document_radiology_reports(text: str, expected: list[str]) -> None:
    assert codes(text) == expected


def test_code_document_examination_header_in_visit_is_physical_exam() -> None:
    text = (
        "CHIEF COMPLAINT: Cough.\nHISTORY OF PRESENT ILLNESS: Two weeks of cough.\n"
        "EXAMINATION: Lungs clear. A chest x-ray was ordered.\n"
        "ASSESSMENT: Bronchitis.\nPLAN: Fluids.\n"
    )

    assert "71046" not in codes(text)
    assert "71045" not in codes(text)


def test_code_document_comparison_study_is_not_coded() -> None:
    text = (
        "EXAM: CT chest with contrast.\nCOMPARISON: CT abdomen and pelvis from "
        "last year.\nIMPRESSION: No pulmonary embolism.\n"
    )

    assert codes(text) == ["71260"]


def test_code_document_ct_without_contrast_statement_queries() -> None:
    result = result_of("EXAM: CT of the head.\nIMPRESSION: Normal.\n")

    assert [line.cpt_code for line in result.codes] == ["70450"]
    assert [q.missing for q in result.queries] == ["contrast_use"]
    assert result.needs_review


def test_code_document_oral_contrast_does_not_decide_the_ct_code() -> None:
    # CPT's contrast is intravascular: "no oral contrast" beside IV contrast
    # is a CT with contrast, not with and without.
    pages = [
        (
            1,
            "EXAM:\nCT abdomen and pelvis with IV contrast.\nTECHNIQUE:\nAxial "
            "images after 100 mL of intravenous contrast; no oral contrast.\n"
            "IMPRESSION:\nSigmoid diverticulitis.\n",
        )
    ]

    result = code_document(pages, find_mentions(pages), date_of_service=DOS)

    assert [line.cpt_code for line in result.codes] == ["74177"]

