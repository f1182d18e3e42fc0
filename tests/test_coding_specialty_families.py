"""Specialty families (neurosurgery, urology, vascular, cardiology, biopsy,
immunization) coded from short notes written for these tests."""

from __future__ import annotations

import datetime as dt

import pytest

from cptflow.transforms.coding import code_document
from cptflow.transforms.nlp import find_mentions

DOS = dt.date(2025, 6, 2)


def coded(text: str, on: dt.date = DOS):
    pages = [(1, text)]
    return code_document(pages, find_mentions(pages), date_of_service=on)


def lines(text: str, on: dt.date = DOS) -> list[tuple[str, list[str], int]]:
    return sorted((c.cpt_code, c.modifiers, c.units) for c in coded(text, on).codes)


NOTES = {
    # A new peritoneal shunt; taking out the old reservoir has no code of its
    # own and must not turn into a reservoir placement.
    "vp_shunt_with_reservoir_removal": (
        "TITLE OF OPERATION:\nPlacement of a right ventriculoperitoneal shunt "
        "and removal of the right frontal Ommaya reservoir.\n"
        "POSTOPERATIVE DIAGNOSIS:\nHydrocephalus.\n",
        [("62223", [], 1)],
    ),
    "va_shunt": (
        "PROCEDURE:\nRight ventriculoatrial shunt.\n"
        "POSTOPERATIVE DIAGNOSIS:\nCommunicating hydrocephalus.\n",
        [("62220", [], 1)],
    ),
    "shunt_revision": (
        "PROCEDURE:\nRevision of the ventriculoperitoneal shunt; the distal "
        "catheter was replaced.\nPOSTOPERATIVE DIAGNOSIS:\nShunt malfunction.\n",
        [("62230", [], 1)],
    ),
    "ommaya_placement": (
        "TITLE OF OPERATION:\nRight frontal Ommaya reservoir.\n"
        "POSTOPERATIVE DIAGNOSIS:\nLeptomeningeal carcinomatosis.\n",
        [("61215", [], 1)],
    ),
    "subdural_burr_holes_bilateral": (
        "PROCEDURE:\nBilateral burr holes and evacuation of chronic subdural "
        "hematomas.\nPOSTOPERATIVE DIAGNOSIS:\nBilateral subdural hematomas.\n",
        [("61154", ["50"], 1)],
    ),
    # Flap urethroplasty plus a plication for chordee is the extensive
    # one-stage distal repair.
    "hypospadias_flap_and_chordee": (
        "PROCEDURE:\nDistal hypospadias repair with dartos flap and chordee "
        "release.\nPOSTOPERATIVE DIAGNOSIS:\nDistal hypospadias with chordee.\n",
        [("54328", [], 1)],
    ),
    "hypospadias_meatal_advancement": (
        "PROCEDURE:\nHypospadias repair by meatal advancement and "
        "glanuloplasty.\nPOSTOPERATIVE DIAGNOSIS:\nGlanular hypospadias.\n",
        [("54322", [], 1)],
    ),
    "hypospadias_fistula_closure": (
        "PROCEDURE:\nUrethrocutaneous fistula repair.\n"
        "POSTOPERATIVE DIAGNOSIS:\nFistula after hypospadias repair.\n",
        [("54340", [], 1)],
    ),
    "temporal_artery_biopsy_left": (
        "PROCEDURE:\nLeft temporal artery biopsy.\n"
        "POSTOPERATIVE DIAGNOSIS:\nGiant cell arteritis suspected.\n",
        [("37609", ["LT"], 1)],
    ),
    "open_graft_thrombectomy": (
        "PROCEDURE PERFORMED:\nThrombectomy of the right upper arm AV graft.\n"
        "POSTOPERATIVE DIAGNOSIS:\nClotted dialysis graft.\n",
        [("36831", ["RT"], 1)],
    ),
    "pda_coil_closure": (
        "PROCEDURE:\nA coil was placed across the patent ductus arteriosus and "
        "the device was released.\nIMPRESSION:\nPatent ductus arteriosus.\n",
        [("93582", [], 1)],
    ),
    "renal_biopsy_with_ct_guidance": (
        "EXAM:\nCT-guided biopsy.\n"
        "PROCEDURE:\nUnder CT guidance, core needle biopsy of the left renal "
        "mass was performed.\nIMPRESSION:\nLeft renal mass.\n",
        [("50200", [], 1), ("77012", [], 1)],
    ),
    # The 2019 lung code includes the guidance: no 77012 beside it.
    "lung_biopsy_bundles_guidance": (
        "EXAM:\nCT-guided lung biopsy.\n"
        "PROCEDURE:\nUnder CT guidance, percutaneous biopsy of the right upper "
        "lobe nodule.\nIMPRESSION:\nLung nodule.\n",
        [("32408", [], 1)],
    ),
    "tdap_after_laceration": (
        "PROCEDURE:\nRemoval of foreign body from the left thigh.\n"
        "The patient was given Tdap 0.5 mL IM.\n"
        "POSTOPERATIVE DIAGNOSIS:\nForeign body of the left thigh.\n",
        [("10120", [], 1), ("90471", [], 1), ("90715", [], 1)],
    ),
    "two_vaccines_one_visit": (
        "PROCEDURE:\nThe patient was given Tdap and was given Shingrix.\n"
        "DIAGNOSIS:\nEncounter for immunization.\n",
        [("90471", [], 1), ("90472", [], 1), ("90715", [], 1), ("90750", [], 1)],
    ),
}


@pytest.mark.parametrize("note,expected", NOTES.values(), ids=NOTES.keys())
def test_code_document_specialty_note(note: str, expected: list) -> None:
    assert lines(note) == sorted(expected)


DECOYS = {
    "shunt_in_history_only": (
        "PAST SURGICAL HISTORY:\nVentriculoperitoneal shunt at age 2.\n"
        "PROCEDURE:\nLeft temporal artery biopsy.\n",
        {"37609"},
    ),
    "hypospadias_repair_planned": (
        "ASSESSMENT:\nCoronal hypospadias.\n"
        "PLAN:\nWe will schedule hypospadias repair in the spring.\n",
        set(),
    ),
    "vaccine_declined": (
        "PROCEDURE:\nRemoval of foreign body from the right thigh.\n"
        "The patient declined the Tdap vaccine.\n"
        "POSTOPERATIVE DIAGNOSIS:\nForeign body of the right thigh.\n",
        {"10120"},
    ),
    "vaccine_not_given": (
        "PROCEDURE:\nRemoval of foreign body from the right thigh.\n"
        "She was not given a tetanus toxoid shot, as it is up to date.\n",
        {"10120"},
    ),
    "pda_found_on_old_echo": (
        "HISTORY:\nAn echocardiogram last year showed a patent ductus "
        "arteriosus; device closure is recommended.\n"
        "PROCEDURE:\nLeft temporal artery biopsy.\n",
        {"37609"},
    ),
    "renal_biopsy_recommended": (
        "EXAM:\nCT abdomen without contrast.\n"
        "IMPRESSION:\nLeft renal mass. Recommend biopsy of the left renal mass.\n",
        {"74150"},
    ),
}


@pytest.mark.parametrize("note,expected", DECOYS.values(), ids=DECOYS.keys())
def test_code_document_specialty_decoy_not_coded(note: str, expected: set) -> None:
    assert {c[0] for c in lines(note)} == expected


def test_code_document_tetanus_product_unstated_raises_query() -> None:
    result = coded(
        "PROCEDURE:\nRemoval of foreign body from the left thigh.\n"
        "The patient was given a tetanus toxoid shot.\n"
    )

    products = [c for c in result.codes if c.cpt_code == "90714"]
    assert len(products) == 1 and products[0].needs_review
    assert [q.missing for q in result.queries] == ["vaccine_product"]


def test_code_document_tetanus_toxoid_before_2013_uses_deleted_code() -> None:
    note = (
        "PROCEDURE:\nRemoval of foreign body from the left thigh.\n"
        "The patient was given a tetanus toxoid shot.\n"
    )

    assert "90703" in {c[0] for c in lines(note, dt.date(2012, 6, 1))}
    assert "90703" not in {c[0] for c in lines(note)}


def test_code_document_pda_closure_bundles_heart_catheterization() -> None:
    note = (
        "PROCEDURE:\nRight heart catheterization and left heart "
        "catheterization. A nit-occlude coil was placed in the patent ductus "
        "arteriosus and the device was released.\n"
    )

    assert {c[0] for c in lines(note)} == {"93582"}


def test_code_document_lung_biopsy_before_2019_uses_deleted_code() -> None:
    note = (
        "PROCEDURE:\nPercutaneous biopsy of the right upper lobe nodule.\n"
        "IMPRESSION:\nLung nodule.\n"
    )

    assert {c[0] for c in lines(note, dt.date(2018, 3, 1))} == {"32405"}


EYELIDS = {
    # Two lids, two techniques: each line carries its own eyelid modifier and
    # no 59, since the eyelid modifiers already tell the sites apart.
    "two_lids_two_techniques": (
        "PROCEDURE:\n1. Repair of entropion, right upper lid, with lateral "
        "tarsal strip.\n2. Repair of trichiasis and entropion, left lower lid, "
        "with mucous membrane graft.\n",
        [("67835", ["E2"], 1), ("67924", ["E3"], 1)],
    ),
    "gray_line_split": (
        "PROCEDURE:\nRepair of entropion, left upper lid, by gray line split.\n",
        [("67830", ["E1"], 1)],
    ),
    "ectropion_tarsal_strip": (
        "PROCEDURE:\nRepair of ectropion, right lower eyelid, with lateral "
        "tarsal strip.\n",
        [("67917", ["E4"], 1)],
    ),
    "upper_blepharoplasty_functional": (
        "PROCEDURE:\nBilateral upper lid blepharoplasty for excess skin "
        "obstructing the visual field.\n",
        [("15823", ["50"], 1)],
    ),
}


@pytest.mark.parametrize("note,expected", EYELIDS.values(), ids=EYELIDS.keys())
def test_code_document_eyelid_repair_per_lid(note: str, expected: list) -> None:
    assert lines(note) == sorted(expected)


STUDIES = {
    "treadmill_with_perfusion": (
        "PROCEDURE DONE:\nTreadmill stress test with Cardiolite myocardial "
        "perfusion imaging.\nIMPRESSION:\nNo ischemia.\n",
        [("78452", [], 1), ("93015", [], 1)],
    ),
    # The stress echo code includes the stress ECG.
    "dobutamine_stress_echo": (
        "EXAM:\nDobutamine stress echocardiogram.\nIMPRESSION:\nNo ischemia.\n",
        [("93351", [], 1)],
    ),
    "tee_with_doppler_and_color": (
        "PROCEDURE:\nTransesophageal echocardiogram.\nFINDINGS:\nColor flow "
        "and spectral Doppler show mild mitral regurgitation.\n",
        [("93312", [], 1), ("93320", [], 1), ("93325", [], 1)],
    ),
    "transthoracic_complete": (
        "EXAM:\nTransthoracic echocardiogram.\nFINDINGS:\nDoppler shows "
        "trace tricuspid regurgitation.\n",
        [("93306", [], 1)],
    ),
    "carotid_duplex": (
        "EXAM:\nBilateral carotid duplex ultrasound.\nIMPRESSION:\nMild plaque.\n",
        [("93880", [], 1)],
    ),
    "venous_duplex_one_leg": (
        "EXAM:\nLeft lower extremity venous duplex ultrasound.\n"
        "IMPRESSION:\nNo deep venous thrombosis.\n",
        [("93971", [], 1)],
    ),
    "venous_duplex_both_legs": (
        "EXAM:\nVenous duplex of both lower extremities.\n"
        "IMPRESSION:\nNo deep venous thrombosis.\n",
        [("93970", [], 1)],
    ),
    "ankle_brachial_with_segmental_pressures": (
        "EXAM:\nAnkle-brachial indices with segmental pressures.\n"
        "IMPRESSION:\nModerate arterial disease.\n",
        [("93923", [], 1)],
    ),
    "external_cardioversion": (
        "PROCEDURE:\nDirect current cardioversion.\n"
        "POSTOPERATIVE DIAGNOSIS:\nAtrial fibrillation.\n",
        [("92960", [], 1)],
    ),
}


@pytest.mark.parametrize("note,expected", STUDIES.values(), ids=STUDIES.keys())
def test_code_document_cardiac_and_vascular_study(note: str, expected: list) -> None:
    assert lines(note) == sorted(expected)


STUDY_DECOYS = {
    "old_echo_in_history": (
        "HISTORY OF PRESENT ILLNESS:\nAn echocardiogram last year showed "
        "normal function. A stress test was negative in 2019.\n",
        set(),
    ),
    "stress_test_planned": (
        "PLAN:\nWe will schedule a treadmill stress test and carotid duplex "
        "ultrasound.\n",
        set(),
    ),
    "no_doppler_done": (
        "EXAM:\nBilateral carotid duplex ultrasound.\n"
        "PLAN:\nNo venous duplex of the legs is needed.\n",
        {"93880"},
    ),
}


@pytest.mark.parametrize(
    "note,expected", STUDY_DECOYS.values(), ids=STUDY_DECOYS.keys()
)
def test_code_document_study_decoy_not_coded(note: str, expected: set) -> None:
    assert {c[0] for c in lines(note)} == expected


ACCESS = {
    "triple_lumen_with_ultrasound": (
        "PROCEDURE:\nRight internal jugular triple lumen catheter placement "
        "under ultrasound guidance.\n",
        [("36556", [], 1), ("76937", [], 1)],
    ),
    "tunneled_dialysis_catheter": (
        "PROCEDURE:\nInsertion of a tunneled hemodialysis catheter under "
        "fluoroscopy.\nPOSTOPERATIVE DIAGNOSIS:\nEnd-stage renal disease.\n",
        [("36558", [], 1), ("77001", [], 1)],
    ),
    # A 3-month-old: the under-5 codes, read from an age in months.
    "broviac_in_infant": (
        "HISTORY:\nA 3-month-old boy with short gut.\n"
        "PROCEDURE:\nBroviac catheter placement.\n",
        [("36557", [], 1)],
    ),
    # Since 2019 the PICC code with imaging guidance includes it.
    "picc_with_ultrasound": (
        "PROCEDURE:\nPICC line insertion under ultrasound guidance.\n",
        [("36573", [], 1)],
    ),
    "radial_arterial_line": (
        "PROCEDURE:\nRadial arterial line placement.\n",
        [("36620", [], 1)],
    ),
}


@pytest.mark.parametrize("note,expected", ACCESS.values(), ids=ACCESS.keys())
def test_code_document_vascular_access_line(note: str, expected: list) -> None:
    assert lines(note) == sorted(expected)


def test_code_document_old_central_line_not_coded() -> None:
    note = (
        "HISTORY OF PRESENT ILLNESS:\nA temporary hemodialysis catheter was "
        "placed last week.\nPROCEDURE:\nLeft temporal artery biopsy.\n"
    )

    assert {c[0] for c in lines(note)} == {"37609"}


CRANIAL = {
    "craniotomy_for_subdural_with_icp_monitor": (
        "OPERATION PERFORMED:\nRight frontotemporal craniotomy and evacuation "
        "of acute subdural hematoma. An ICP monitor was placed.\n",
        [("61312", ["RT"], 1)],
    ),
    "burr_hole_craniotomy_is_burr_hole": (
        "OPERATION PERFORMED:\nLeft burr hole craniotomy for evacuation of "
        "chronic subdural hematoma.\n",
        [("61154", ["LT"], 1)],
    ),
    "supratentorial_tumor": (
        "PROCEDURE:\nLeft frontal craniotomy and resection of tumor.\n"
        "POSTOPERATIVE DIAGNOSIS:\nGlioblastoma.\n",
        [("61510", [], 1)],
    ),
    "acoustic_neuroma": (
        "PROCEDURE PERFORMED:\nLeft retrosigmoid craniotomy and excision of "
        "acoustic neuroma.\n",
        [("61520", [], 1)],
    ),
    "ventricular_catheter_only": (
        "PROCEDURE:\nReplacement of the ventricular catheter of the "
        "ventriculoperitoneal shunt.\n",
        [("62225", [], 1)],
    ),
}


@pytest.mark.parametrize("note,expected", CRANIAL.values(), ids=CRANIAL.keys())
def test_code_document_cranial_procedure(note: str, expected: list) -> None:
    assert lines(note) == sorted(expected)


def test_code_document_spinal_epidural_hematoma_is_not_cranial() -> None:
    note = (
        "PROCEDURE PERFORMED:\nEvacuation of epidural hematoma.\n"
        "POSTOPERATIVE DIAGNOSIS:\nEpidural hematoma, cervical spine.\n"
    )

    assert not {"61154", "61312"} & {c[0] for c in lines(note)}


def test_code_document_lines_set_up_for_anesthesia_not_coded() -> None:
    # Monitoring lines listed in a surgeon's narrative are not the surgeon's
    # line placements.
    note = (
        "PROCEDURE:\nLeft temporal artery biopsy.\nDESCRIPTION OF PROCEDURE:\n"
        "After induction, an arterial line and a central line were placed.\n"
    )

    assert {c[0] for c in lines(note)} == {"37609"}


ECGS = {
    "ecg_read_by_author": (
        "EMERGENCY DEPARTMENT COURSE:\nThe EKG was interpreted by me and shows "
        "sinus rhythm without acute changes.\n",
        {"93010"},
    ),
    # An ECG cited as data counts toward the visit only.
    "ecg_cited_as_data": (
        "DIAGNOSTIC DATA:\nHer EKG shows sinus rhythm.\n",
        set(),
    ),
    "stress_ecg_is_part_of_stress_test": (
        "PROCEDURE DONE:\nTreadmill stress test.\nECG interpretation: no ST changes.\n",
        {"93015"},
    ),
}


@pytest.mark.parametrize("note,expected", ECGS.values(), ids=ECGS.keys())
def test_code_document_ecg_interpretation(note: str, expected: set) -> None:
    assert {c[0] for c in lines(note)} & {"93010", "93015"} == expected


def test_code_document_ureteroscopic_renal_biopsy_not_percutaneous() -> None:
    note = "PROCEDURES PERFORMED:\n1. Right ureteroscopy.\n2. Right renal biopsy.\n"

    assert "50200" not in {c[0] for c in lines(note)}


CATHS = {
    # The left heart code needs the catheter in the ventricle.
    "left_heart_with_lvedp": (
        "PROCEDURE:\nLeft heart catheterization and selective coronary "
        "angiography. The LVEDP was 12 mmHg.\n",
        ("93458", False),
    ),
    "left_heart_named_only": (
        "PROCEDURE:\nLeft heart catheterization and selective coronary angiography.\n",
        ("93454", True),
    ),
    "right_heart_and_coronaries": (
        "PROCEDURE:\nRight heart catheterization and selective coronary angiography.\n",
        ("93456", False),
    ),
}


@pytest.mark.parametrize("note,expected", CATHS.values(), ids=CATHS.keys())
def test_code_document_heart_catheterization_needs_ventricle_entry(
    note: str, expected: tuple[str, bool]
) -> None:
    result = coded(note)

    cath = [c for c in result.codes if c.cpt_code.startswith("934")]
    queried = any(q.missing == "left_ventricle_entry" for q in result.queries)
    assert ([c.cpt_code for c in cath], queried) == ([expected[0]], expected[1])
