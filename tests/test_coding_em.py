"""E/M codes by setting and level from short notes written for these tests."""

from __future__ import annotations

import datetime as dt

import pytest

from cptflow.transforms.coding import code_document
from cptflow.transforms.nlp import find_mentions

DOS = dt.date(2025, 3, 10)

# Each note's level is worked out by hand: problems, data, risk (two of three),
# or total time when it gives more.
NOTES = {
    # Office, new. One problem (low), no data, home stretching (minimal risk):
    # straightforward.
    "office_new_straightforward": (
        "CHIEF COMPLAINT:\nSore heel.\n"
        "HISTORY OF PRESENT ILLNESS:\nNew patient, a 40-year-old runner with heel "
        "pain for a week.\nASSESSMENT:\nPlantar fasciitis.\nPLAN:\nStretching at "
        "home.\n",
        "99202",
    ),
    # One acute uncomplicated problem (low) and an over-the-counter drug (low).
    "office_new_low": (
        "HISTORY OF PRESENT ILLNESS:\nNew patient with a sore wrist after a fall "
        "yesterday.\nASSESSMENT:\nWrist pain.\nPLAN:\nIbuprofen over the counter "
        "and a splint.\n",
        "99203",
    ),
    # Two chronic problems (moderate) and a new prescription (moderate).
    "office_new_moderate": (
        "HISTORY OF PRESENT ILLNESS:\nNew patient referred by her dentist for "
        "high readings.\nASSESSMENT:\n1. Hypertension.\n2. Type 2 diabetes.\n"
        "PLAN:\nStart lisinopril 10 mg daily.\n",
        "99204",
    ),
    # Sepsis (high) and a decision for emergency surgery (high).
    "office_new_high": (
        "HISTORY OF PRESENT ILLNESS:\nNew patient with right upper quadrant pain "
        "and fever since this morning.\nASSESSMENT:\nAcute cholecystitis with "
        "sepsis.\nPLAN:\nDecision for emergency surgery; the surgeon will see "
        "her today.\n",
        "99205",
    ),
    # A stable chronic problem (low), a continued prescription (moderate), no
    # data: two of three reach low only.
    "office_established_low": (
        "HISTORY OF PRESENT ILLNESS:\nFollow-up of blood pressure.\n"
        "ASSESSMENT:\nHypertension, well controlled.\nPLAN:\nContinue lisinopril "
        "10 mg daily.\n",
        "99213",
    ),
    # Two chronic problems, a dose change and three labs ordered: moderate.
    "office_established_moderate": (
        "HISTORY OF PRESENT ILLNESS:\nReturn visit for hypothyroidism and "
        "type 2 diabetes; last visit three months ago.\n"
        "ASSESSMENT:\n1. Hypothyroidism.\n2. Type 2 diabetes.\n"
        "PLAN:\nIncrease levothyroxine to 100 mcg daily. Check TSH, free T4 and "
        "A1c.\n",
        "99214",
    ),
    # Total time documented outranks a straightforward MDM.
    "office_established_by_time": (
        "HISTORY OF PRESENT ILLNESS:\nFollow-up of low back pain.\n"
        "ASSESSMENT:\nLow back pain.\nPLAN:\nHome exercises.\n"
        "Total time spent on the date of the visit was 42 minutes.\n",
        "99215",
    ),
    # Time below the MDM's level does not lower it: 25 minutes, moderate MDM.
    "office_time_below_mdm": (
        "HISTORY OF PRESENT ILLNESS:\nFollow-up of hypertension and diabetes.\n"
        "ASSESSMENT:\n1. Hypertension.\n2. Type 2 diabetes.\nPLAN:\nIncrease "
        "metformin to 1000 mg twice daily.\nI spent 25 minutes with the patient.\n",
        "99214",
    ),
    # Thirty minutes reaches the new-patient low level exactly.
    "office_new_time_boundary": (
        "HISTORY OF PRESENT ILLNESS:\nNew patient with a heel spur.\n"
        "ASSESSMENT:\nPlantar fasciitis.\nPLAN:\nStretching at home.\n"
        "Total time on the date of the encounter: 30 minutes.\n",
        "99203",
    ),
    "office_nurse_visit": (
        "HISTORY OF PRESENT ILLNESS:\nEstablished patient here for a blood "
        "pressure check with the nurse.\nASSESSMENT:\nHypertension.\nPLAN:\n"
        "Recheck in one month.\n",
        "99211",
    ),
    # Admission H&P: unstable angina (high), admission and a heparin drip (high).
    "hospital_initial_high": (
        "HISTORY OF PRESENT ILLNESS:\nChest pressure at rest for two hours.\n"
        "PHYSICAL EXAMINATION:\nDiaphoretic.\nASSESSMENT:\n1. Unstable angina.\n"
        "2. Hypertension.\nPLAN:\nAdmit to telemetry. Heparin drip, serial "
        "troponin and EKG in the morning.\n",
        "99223",
    ),
    # Admission for a low-complexity problem: 99221 by MDM, 99222 by 55 minutes.
    "hospital_initial_by_time": (
        "HISTORY OF PRESENT ILLNESS:\nUnable to manage at home after a fall.\n"
        "ASSESSMENT:\nGeneralized weakness.\nPLAN:\nAdmit to the medicine "
        "service for physical therapy.\nTotal time spent was 55 minutes.\n",
        "99222",
    ),
    # Progress note: pneumonia (moderate), a continued IV antibiotic (moderate).
    "hospital_subsequent_moderate": (
        "PROGRESS NOTE\nSUBJECTIVE:\nHospital day 3, breathing easier.\n"
        "ASSESSMENT:\nCommunity-acquired pneumonia, improving.\nPLAN:\nContinue "
        "ceftriaxone 1000 mg IV daily.\n",
        "99232",
    ),
    "discharge_short": (
        "DISCHARGE SUMMARY\nHOSPITAL COURSE:\nAdmitted with cellulitis of the leg, "
        "treated with IV antibiotics and improved.\nDISCHARGE DIAGNOSIS:\n"
        "Cellulitis.\nPLAN:\nHome on oral antibiotics.\n",
        "99238",
    ),
    "discharge_over_30_minutes": (
        "DISCHARGE SUMMARY\nHOSPITAL COURSE:\nAdmitted with cellulitis of the leg "
        "and improved.\nDISCHARGE DIAGNOSIS:\nCellulitis.\nPLAN:\nHome.\n"
        "More than 30 minutes were spent on the discharge.\n",
        "99239",
    ),
    # ED: ankle sprain (low), one x-ray, ibuprofen over the counter (low).
    "ed_low": (
        "HISTORY OF PRESENT ILLNESS:\nThe patient presented to the emergency "
        "department after rolling the right ankle.\nASSESSMENT:\nAnkle sprain.\n"
        "PLAN:\nX-ray of the ankle was negative. Ibuprofen over the counter.\n",
        "99283",
    ),
    # ED: chest pain (moderate), three tests (moderate), aspirin dose (moderate).
    "ed_moderate": (
        "HISTORY OF PRESENT ILLNESS:\nThe patient arrived at the emergency room with "
        "chest pain.\nASSESSMENT:\nChest pain.\nPLAN:\nEKG, troponin and chest "
        "x-ray reviewed. Aspirin 325 mg given.\n",
        "99284",
    ),
    # Office consult: a new problem of uncertain course (moderate), an MRI and
    # outside records (limited data), a prescription (moderate).
    "office_consult_moderate": (
        "REASON FOR CONSULTATION:\nNeck mass.\nHISTORY OF PRESENT ILLNESS:\n"
        "Thank you for the referral of this 50-year-old man.\nASSESSMENT:\n"
        "Neck mass, rule out lymphoma.\nPLAN:\nMRI of the neck. Outside records "
        "were reviewed. Amoxicillin 500 mg three times daily.\n",
        "99244",
    ),
    # Inpatient consult asked for on the floor: the same MDM, inpatient table.
    "inpatient_consult_moderate": (
        "REASON FOR CONSULTATION:\nNeck mass.\nHISTORY OF PRESENT ILLNESS:\n"
        "Admitted yesterday; asked by the hospitalist to see him.\nASSESSMENT:\n"
        "Neck mass, rule out lymphoma.\nPLAN:\nMRI of the neck. Amoxicillin "
        "500 mg three times daily.\n",
        "99254",
    ),
}


def _codes(text: str, on: dt.date = DOS) -> list[str]:
    pages = [(1, text)]
    result = code_document(pages, find_mentions(pages), date_of_service=on)
    return [line.cpt_code for line in result.codes]


@pytest.mark.parametrize(("text", "expected"), list(NOTES.values()), ids=list(NOTES))
def test_code_document_em_level(text: str, expected: str) -> None:
    assert _codes(text) == [expected]


def test_code_document_em_new_versus_established() -> None:
    new = NOTES["office_new_low"][0]
    established = new.replace("New patient with", "Follow-up visit for")

    assert (_codes(new), _codes(established)) == (["99203"], ["99213"])


def test_code_document_em_deleted_code_before_2021() -> None:
    assert _codes(NOTES["office_new_straightforward"][0], dt.date(2019, 6, 1)) == [
        "99201"
    ]


def test_code_document_em_hospital_rules_not_modelled_before_2023() -> None:
    pages = [(1, NOTES["hospital_subsequent_moderate"][0])]

    result = code_document(
        pages, find_mentions(pages), date_of_service=dt.date(2022, 6, 1)
    )

    assert result.codes == []
    assert result.needs_review


def test_code_document_em_nutrition_units_by_time() -> None:
    text = (
        "SUBJECTIVE:\nComes for dietary consultation for weight reduction.\n"
        "ASSESSMENT:\nDiet history reviewed.\nPLAN:\n1200-calorie meal plan. "
        "This was a one-hour consultation.\n"
    )
    pages = [(1, text)]

    result = code_document(pages, find_mentions(pages), date_of_service=DOS)

    assert [(line.cpt_code, line.units) for line in result.codes] == [("97802", 4)]


def test_code_document_em_modifier_25_with_same_day_procedure() -> None:
    text = (
        "HISTORY OF PRESENT ILLNESS:\nFollow-up of hypertension; also right knee "
        "pain for a month.\nPHYSICAL EXAMINATION:\nEffusion of the right knee.\n"
        "ASSESSMENT:\n1. Hypertension.\n2. Osteoarthritis of the right knee.\n"
        "PLAN:\nIncrease lisinopril to 20 mg daily.\nPROCEDURE:\nThe right knee "
        "joint was injected with 40 mg of triamcinolone.\n"
    )
    pages = [(1, text)]

    result = code_document(pages, find_mentions(pages), date_of_service=DOS)

    em = [line for line in result.codes if line.cpt_code.startswith("992")]
    assert [(line.cpt_code, line.modifiers) for line in em] == [("99214", ["25"])]
    assert any(line.cpt_code == "20610" for line in result.codes)
    assert not any("separately identifiable" in r for r in em[0].review_reasons)


def test_code_document_operative_note_gets_no_em() -> None:
    text = (
        "PREOPERATIVE DIAGNOSIS:\nAcute appendicitis.\nPOSTOPERATIVE DIAGNOSIS:\n"
        "Acute appendicitis.\nPROCEDURE:\nLaparoscopic appendectomy.\n"
        "ANESTHESIA:\nGeneral.\nHISTORY OF PRESENT ILLNESS:\nRight lower quadrant "
        "pain for a day.\nPHYSICAL EXAMINATION:\nTender at McBurney's point.\n"
        "DESCRIPTION OF PROCEDURE:\nThe appendix was removed laparoscopically.\n"
    )

    assert _codes(text) == ["44970"]


def test_code_document_em_visit_without_assessment_asks_physician() -> None:
    text = (
        "HISTORY OF PRESENT ILLNESS:\nCough for a week.\nPHYSICAL EXAMINATION:\n"
        "Lungs clear.\n"
    )
    pages = [(1, text)]

    result = code_document(pages, find_mentions(pages), date_of_service=DOS)

    assert result.codes == []
    assert [query.missing for query in result.queries] == ["assessment and plan"]


def test_code_document_em_reads_title_case_headers_at_line_start() -> None:
    # EHR notes write "Assessment and plan:"; the same words inside a sentence
    # ("we went over the assessment: ...") open no section.
    text = (
        "History of present illness:\nFollow-up of hypertension. Home readings "
        "run 130s over 80s.\nAssessment and plan:\nEssential hypertension, "
        "controlled. Continue lisinopril 10 mg daily.\n"
    )
    pages = [(1, text)]

    result = code_document(pages, find_mentions(pages), date_of_service=DOS)

    assert [line.cpt_code for line in result.codes] == ["99213"]
    assert result.codes[0].icd10cm_codes == ["I10"]
    assert not result.needs_review


def test_split_sections_ignores_a_header_word_inside_prose() -> None:
    from cptflow.transforms.coding.sections import split_sections

    sections = split_sections(
        "IMPRESSION:\nNo acute disease; we went over the assessment: stable.\n"
    )

    assert [section.category for section in sections] == ["impression"]


def test_code_document_em_25_for_the_procedures_only_problem_is_reviewed() -> None:
    text = (
        "HISTORY OF PRESENT ILLNESS:\nRight knee pain for a month.\nPHYSICAL "
        "EXAMINATION:\nEffusion of the right knee.\nASSESSMENT:\nOsteoarthritis "
        "of the right knee.\nPLAN:\nInjection today.\nPROCEDURE:\nThe right knee "
        "joint was injected with 40 mg of triamcinolone.\n"
    )
    pages = [(1, text)]

    result = code_document(pages, find_mentions(pages), date_of_service=DOS)

    em = [line for line in result.codes if line.cpt_code.startswith("992")]
    assert [line.modifiers for line in em] == [["25"]]
    assert em[0].needs_review
    assert any("separately identifiable" in r for r in em[0].review_reasons)
    injection = [line for line in result.codes if line.cpt_code == "20610"]
    assert injection and not injection[0].needs_review


def test_code_document_em_exam_header_of_a_visit_is_its_physical_exam() -> None:
    text = (
        "CHIEF COMPLAINT:\nCough.\nHISTORY OF PRESENT ILLNESS:\nThree days of "
        "cough and low fever.\nEXAM:\nLungs clear. Throat red.\nASSESSMENT:\n"
        "Acute bronchitis.\nPLAN:\nFluids and rest; benzonatate 100 mg as needed.\n"
    )

    assert _codes(text)[0].startswith("992")


def test_code_document_em_imaging_report_exam_header_is_no_visit() -> None:
    # A report's own FINDINGS keep its EXAM: header the study's title.
    text = (
        "EXAM:\nChest x-ray, two views.\nHISTORY OF PRESENT ILLNESS:\nCough.\n"
        "FINDINGS:\nClear lungs.\nIMPRESSION:\nNo acute disease.\n"
    )

    assert not [code for code in _codes(text) if code.startswith("992")]
