"""Spinal fusion, instrumentation, bone graft and decompression; GI endoscopy.

Notes are short and written for the test. Expected lines are worked out by
hand: fusion add-ons count the further interspaces (L4-L5 and L5-S1 are two),
instrumentation is banded by the vertebrae spanned (L4 to S1 is three).
"""

from __future__ import annotations

import datetime as dt

import pytest

from cptflow.transforms.coding import code_document
from cptflow.transforms.nlp import find_mentions

DOS = dt.date(2025, 9, 9)


def lines(text: str, on: dt.date = DOS) -> list[tuple[str, list[str], int]]:
    pages = [(1, text)]
    result = code_document(pages, find_mentions(pages), date_of_service=on)
    return sorted((c.cpt_code, c.modifiers, c.units) for c in result.codes)


NOTES = {
    "posterolateral_two_interspaces": (
        "PROCEDURE:\nPosterolateral fusion L4-L5 and L5-S1 with pedicle screw "
        "instrumentation and local bone graft.\n",
        [("20936", [], 1), ("22612", [], 1), ("22614", [], 1), ("22842", [], 1)],
    ),
    # TLIF plus posterolateral fusion at one interspace is the combined code;
    # the cage is reported per interspace, graft from the hip is 20937.
    "tlif_with_posterolateral": (
        "PROCEDURE:\nL5-S1 transforaminal lumbar interbody fusion and "
        "posterolateral fusion with pedicle screws, interbody cage and "
        "iliac crest bone graft.\n",
        [("20937", [], 1), ("22633", [], 1), ("22842", [], 1), ("22853", [], 1)],
    ),
    "plif_two_levels": (
        "PROCEDURE:\nPosterior lumbar interbody fusion L3-L4, L4-L5.\n",
        [("22630", [], 1), ("22632", [], 1)],
    ),
    # Seven vertebrae (T4 to T10) move instrumentation to the 7-12 band.
    "thoracic_long_construct": (
        "PROCEDURE:\nPosterior spinal fusion T4-T10 with segmental "
        "instrumentation and morselized allograft.\n",
        [("20930", [], 1), ("22610", [], 1), ("22614", [], 5), ("22843", [], 1)],
    ),
    # Four vertebrae (C4 to C7) put the plate in the 4-7 segment band.
    "acdf_three_levels_plate": (
        "PROCEDURE:\nAnterior cervical discectomy and fusion C4-C5, C5-C6 and "
        "C6-C7 with anterior cervical plate and structural allograft.\n",
        [("20931", [], 1), ("22551", [], 1), ("22552", [], 2), ("22846", [], 1)],
    ),
    # Scoliosis fusion T4 to L1 spans 10 vertebrae: the 7-12 deformity code
    # and the 7-12 instrumentation band; no per-level add-on goes with it.
    "scoliosis_fusion": (
        "POSTOPERATIVE DIAGNOSIS:\nAdolescent idiopathic scoliosis.\n"
        "PROCEDURE:\nPosterior spinal fusion T4-L1 with pedicle screws.\n",
        [("22802", [], 1), ("22843", [], 1)],
    ),
    # Worded without "and fusion" on the procedure line, still an ACDF.
    "acdf_other_wording": (
        "PROCEDURE:\nC5-C6 anterior cervical discectomy, allograft fusion and "
        "anterior plating.\n",
        [("20930", [], 1), ("22551", [], 1), ("22845", [], 1)],
    ),
    "thoracic_epidural_no_imaging": (
        "PROCEDURE:\nThoracic epidural steroid injection at T7-T8.\n",
        [("62320", [], 1)],
    ),
    # The laminectomy done to drain the hematoma is part of the drainage code.
    "cervical_epidural_hematoma_evacuation": (
        "PROCEDURE:\nC4-C6 laminectomy and evacuation of epidural hematoma.\n",
        [("63265", [], 1)],
    ),
    "lumbar_laminectomy_two_segments": (
        "PROCEDURE:\nDecompressive laminectomy L3-L4 and L4-L5 for stenosis.\n",
        [("63047", [], 1), ("63048", [], 1)],
    ),
    "spinal_hardware_removal_no_side": (
        "PROCEDURE:\nRemoval of hardware from L4 and L5.\n",
        [("20680", [], 1)],
    ),
    # Each ERCP technique is its own code and includes the diagnostic study.
    "ercp_sphincterotomy_stones_stent": (
        "PROCEDURE:\nERCP with biliary sphincterotomy.\nFINDINGS:\nBalloon "
        "sweeps were done and the stones were extracted. A plastic biliary "
        "stent was placed.\n",
        [("43262", [], 1), ("43264", [], 1), ("43274", [], 1)],
    ),
    # An exchange is one code, not a removal plus a placement.
    "ercp_stent_exchange": (
        "PROCEDURE:\nERCP with stent exchange.\nFINDINGS:\nThe indwelling "
        "biliary stent was removed and a new plastic stent was placed.\n",
        [("43276", [], 1)],
    ),
    # The snare that catches the guide wire of a pull PEG removes no polyp.
    "peg_pull_technique": (
        "PROCEDURE:\nPercutaneous endoscopic gastrostomy tube placement.\n"
        "FINDINGS:\nThe gastroscope was passed. The guide wire was grasped with "
        "a snare and the PEG tube was pulled into place.\n",
        [("43246", [], 1)],
    ),
    "egd_bleeding_ulcer_clips": (
        "PROCEDURE:\nEGD.\nFINDINGS:\nA gastric ulcer with a visible vessel "
        "was actively oozing. Two hemoclips were placed.\n",
        [("43255", [], 1)],
    ),
    "sigmoidoscopy_bleeding_control": (
        "PROCEDURE:\nFlexible sigmoidoscopy with control of bleeding.\n"
        "FINDINGS:\nActive bleeding from a rectal ulcer was treated with "
        "bipolar cautery.\n",
        [("45334", [], 1)],
    ),
    "open_stamm_gastrostomy": (
        "PROCEDURE:\nStamm gastrostomy tube.\n",
        [("43830", [], 1)],
    ),
}


@pytest.mark.parametrize(("text", "expected"), list(NOTES.values()), ids=list(NOTES))
def test_code_document_spine_gi_notes(
    text: str, expected: list[tuple[str, list[str], int]]
) -> None:
    assert lines(text) == expected


DECOYS = {
    "historical_fusion": (
        "PAST SURGICAL HISTORY:\nPosterior lumbar fusion L4-S1 with pedicle "
        "screws.\nPROCEDURE:\nDecompressive laminectomy L2-L3.\n",
        [("63047", [], 1)],
    ),
    "planned_fusion": (
        "PROCEDURE:\nDecompressive laminectomy L4-L5.\nPLAN:\nPosterolateral "
        "fusion with pedicle screws if instability develops.\n",
        [("63047", [], 1)],
    ),
    # The epidural space named during a discectomy is a landmark, not an
    # injection.
    "epidural_space_in_discectomy": (
        "PROCEDURE:\nL4-L5 microdiscectomy.\nDESCRIPTION OF PROCEDURE:\nThe "
        "epidural space was entered and the disc fragment removed.\n",
        [("63030", [], 1)],
    ),
    # A clip placed to prevent bleeding after a polypectomy is part of it.
    "prophylactic_clip_after_snare": (
        "PROCEDURE:\nColonoscopy.\nFINDINGS:\nA 9 mm polyp in the sigmoid "
        "colon was removed with a hot snare. A hemoclip was placed to prevent "
        "bleeding.\n",
        [("45385", [], 1)],
    ),
    "failed_peg_then_open": (
        "PROCEDURE:\n1. Failed percutaneous endoscopic gastrostomy tube "
        "placement.\n2. Open Stamm gastrostomy.\n",
        [("43830", [], 1)],
    ),
    "historical_ercp": (
        "PAST SURGICAL HISTORY:\nERCP with sphincterotomy in 2019.\n"
        "PROCEDURE:\nEGD with biopsy.\n",
        [("43239", [], 1)],
    ),
}


@pytest.mark.parametrize(("text", "expected"), list(DECOYS.values()), ids=list(DECOYS))
def test_code_document_spine_gi_decoys_not_coded(
    text: str, expected: list[tuple[str, list[str], int]]
) -> None:
    assert lines(text) == expected


def test_code_document_interbody_fusion_includes_laminectomy() -> None:
    # The laminectomy done to reach the disc is part of the PLIF code.
    text = "PROCEDURE:\nLaminectomy and posterior lumbar interbody fusion at L4-L5.\n"
    assert lines(text) == [("22630", [], 1)]


def test_code_document_fusion_without_levels_asks_the_author() -> None:
    pages = [(1, "PROCEDURE:\nPosterolateral fusion.\n")]
    result = code_document(pages, find_mentions(pages), date_of_service=DOS)
    assert [c.cpt_code for c in result.codes] == ["22612"]
    assert {q.missing for q in result.queries} >= {"spinal_level"}
    assert result.needs_review


def test_code_document_ercp_without_technique_is_diagnostic() -> None:
    pages = [(1, "PROCEDURE:\nERCP.\nFINDINGS:\nNormal bile duct.\n")]
    result = code_document(pages, find_mentions(pages), date_of_service=DOS)
    assert [c.cpt_code for c in result.codes] == ["43260"]


SCREENING = (
    "INDICATION:\n{indication}\nPROCEDURE PERFORMED:\nColonoscopy with snare "
    "polypectomy.\nFINDINGS:\nThe scope reached the cecum. A 7 mm polyp of the "
    "descending colon was taken with a cold snare.\nIMPRESSION:\nColon polyp.\n"
)


def test_code_document_screening_turned_therapeutic_keeps_33_and_z12_11() -> None:
    text = SCREENING.format(indication="Average-risk colorectal cancer screening.")
    pages = [(1, text)]

    result = code_document(pages, find_mentions(pages), date_of_service=DOS)

    assert [(c.cpt_code, c.modifiers) for c in result.codes] == [("45385", ["33"])]
    assert result.codes[0].icd10cm_codes == ["Z12.11", "K63.5"]


def test_code_document_earlier_screening_is_no_preventive_visit() -> None:
    text = SCREENING.format(
        indication="Rectal bleeding. Her last screening colonoscopy was in 2015."
    )
    pages = [(1, text)]

    result = code_document(pages, find_mentions(pages), date_of_service=DOS)

    assert [(c.cpt_code, c.modifiers) for c in result.codes] == [("45385", [])]
    assert "Z12.11" not in result.codes[0].icd10cm_codes
