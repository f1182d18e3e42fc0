"""Surgical, pain, cardiology, OB/GYN, ENT and eye families from short notes."""

from __future__ import annotations

import datetime as dt

import pytest

from cptflow.transforms.coding import code_document
from cptflow.transforms.nlp import find_mentions

DOS = dt.date(2025, 6, 2)


def lines(text: str, on: dt.date = DOS) -> list[tuple[str, list[str], int]]:
    pages = [(1, text)]
    result = code_document(pages, find_mentions(pages), date_of_service=on)
    return sorted((c.cpt_code, c.modifiers, c.units) for c in result.codes)


NOTES = {
    "carpal_tunnel_right": (
        "POSTOPERATIVE DIAGNOSIS:\nRight carpal tunnel syndrome.\n"
        "PROCEDURE PERFORMED:\nRight carpal tunnel release.\n",
        [("64721", ["RT"], 1)],
    ),
    "breast_localized_biopsy": (
        "POSTOPERATIVE DIAGNOSIS:\nLeft breast mass.\n"
        "PROCEDURE:\nLeft breast excisional biopsy with wire localization.\n",
        [("19125", ["LT"], 1)],
    ),
    "kyphoplasty_two_levels": (
        "POSTOPERATIVE DIAGNOSIS:\nCompression fractures.\n"
        "PROCEDURE:\nBalloon kyphoplasty at T11 and T12.\n",
        [("22513", [], 1), ("22515", [], 1)],
    ),
    "intercostal_five_levels": (
        "PROCEDURE:\nIntercostal nerve block from the sixth to the tenth "
        "intercostal spaces, right.\n",
        [("64420", ["RT"], 1), ("64421", ["RT"], 4)],
    ),
    "lumbar_epidural_fluoroscopy": (
        "PROCEDURE:\nLumbar epidural steroid injection at L4-L5 under "
        "fluoroscopic guidance.\n",
        [("62323", [], 1)],
    ),
    "hysteroscopic_polypectomy_with_dc": (
        "POSTOPERATIVE DIAGNOSIS:\nEndometrial polyp.\nPROCEDURE:\nHysteroscopy "
        "with polypectomy, dilation and curettage.\n",
        [("58558", [], 1)],
    ),
    "diagnostic_hysteroscopy": (
        "POSTOPERATIVE DIAGNOSIS:\nPostmenopausal bleeding.\nPROCEDURE:\n"
        "Diagnostic hysteroscopy.\nFINDINGS:\nThin endometrium, no lesion.\n",
        [("58555", [], 1)],
    ),
    "cesarean_with_tubal": (
        "POSTOPERATIVE DIAGNOSIS:\nTerm pregnancy, desires sterilization.\n"
        "PROCEDURE:\nRepeat low transverse cesarean section and bilateral "
        "tubal ligation.\n",
        [("58611", [], 1), ("59514", [], 1)],
    ),
    "missed_abortion_evacuation": (
        "POSTOPERATIVE DIAGNOSIS:\nMissed abortion at 9 weeks.\n"
        "PROCEDURE:\nSuction dilation and curettage.\n",
        [("59812", [], 1)],
    ),
    "child_adenotonsillectomy": (
        "HISTORY:\nA 6-year-old boy with snoring.\n"
        "PROCEDURE:\nTonsillectomy and adenoidectomy.\n",
        [("42820", [], 1)],
    ),
    "adult_tonsillectomy": (
        "INDICATION:\nA 34-year-old woman with recurrent tonsillitis.\n"
        "PROCEDURE:\nTonsillectomy.\n",
        [("42826", [], 1)],
    ),
    "cataract_left": (
        "POSTOPERATIVE DIAGNOSIS:\nCataract, left eye.\n"
        "PROCEDURE:\nPhacoemulsification with posterior chamber intraocular "
        "lens, left eye.\n",
        [("66984", ["LT"], 1)],
    ),
    "port_with_fluoroscopy": (
        "PROCEDURE:\nPort-A-Cath insertion through the right subclavian vein "
        "under fluoroscopy.\n",
        [("36561", [], 1), ("77001", [], 1)],
    ),
    "dual_chamber_pacemaker": (
        "PROCEDURE:\nPermanent pacemaker implantation, dual chamber.\n",
        [("33208", [], 1)],
    ),
    "incarcerated_umbilical_hernia": (
        "POSTOPERATIVE DIAGNOSIS:\nIncarcerated umbilical hernia.\n"
        "PROCEDURE:\nRepair of umbilical hernia.\n",
        [("49592", [], 1)],
    ),
    "ct_guided_renal_biopsy": (
        "PROCEDURE:\nCT-guided percutaneous renal biopsy of the left kidney.\n",
        [("50200", [], 1), ("77012", [], 1)],
    ),
    "shoulder_decompression_with_debridement": (
        "PROCEDURE:\nLeft shoulder arthroscopy with limited debridement and "
        "subacromial decompression.\n",
        [("29822", ["LT"], 1), ("29826", ["LT"], 1)],
    ),
}


@pytest.mark.parametrize(("text", "expected"), list(NOTES.values()), ids=list(NOTES))
def test_code_document_family_notes(
    text: str, expected: list[tuple[str, list[str], int]]
) -> None:
    assert lines(text) == expected


DECOYS = {
    "historical_carpal_tunnel": (
        "PAST SURGICAL HISTORY:\nCarpal tunnel release in 2019.\n"
        "PROCEDURE:\nRight knee arthroscopy with partial medial meniscectomy.\n",
        [("29881", ["RT"], 1)],
    ),
    "planned_cesarean": (
        "PROCEDURE:\nDilation and curettage.\nPLAN:\nCesarean section is "
        "planned at 39 weeks.\n",
        [("58120", [], 1)],
    ),
    "negated_tubal": (
        "PROCEDURE:\nPrimary low transverse cesarean section.\nThe patient "
        "declined tubal ligation; no tubal ligation was done.\n",
        [("59514", [], 1)],
    ),
    "discussed_arthroplasty": (
        "PROCEDURE:\nOptions including total knee arthroplasty were discussed; he "
        "does not want surgery now. The left knee joint was injected with 40 mg "
        "of triamcinolone.\n",
        [("20610", ["LT"], 1)],
    ),
    "recommended_hysteroscopy": (
        "PROCEDURE:\nDilation and curettage.\nPLAN:\nHysteroscopy is recommended "
        "if the bleeding recurs.\n",
        [("58120", [], 1)],
    ),
    "family_pacemaker": (
        "PROCEDURE:\nTrigger finger release, left ring finger.\n"
        "FAMILY HISTORY:\nHer father had a permanent pacemaker placement.\n",
        [("26055", [], 1)],
    ),
}


@pytest.mark.parametrize(("text", "expected"), list(DECOYS.values()), ids=list(DECOYS))
def test_code_document_family_decoys(
    text: str, expected: list[tuple[str, list[str], int]]
) -> None:
    assert lines(text) == expected


def test_code_document_missing_side_raises_query() -> None:
    pages = [(1, "PROCEDURE:\nCarpal tunnel release.\n")]

    result = code_document(pages, find_mentions(pages), date_of_service=DOS)

    assert [q.missing for q in result.queries] == ["laterality"]
    assert result.needs_review


def test_code_document_interbody_device_by_date() -> None:
    text = (
        "PROCEDURE:\nAnterior cervical discectomy and fusion at C5-C6 and C6-C7 "
        "with PEEK cage (22851).\n"
    )

    assert lines(text) == [("22551", [], 1), ("22552", [], 1), ("22853", [], 2)]
    assert ("22851", [], 2) in lines(text, on=dt.date(2016, 3, 1))


def test_code_document_fluoroscopy_bundled_into_injection() -> None:
    text = (
        "PROCEDURE:\nRight L5-S1 transforaminal epidural steroid injection with "
        "fluoroscopic guidance (76005).\n"
    )

    assert lines(text) == [("64483", ["RT"], 1)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "PROCEDURE:\nInterlaminar epidural steroid injection under "
            "fluoroscopic guidance.\n",
            "62323",
        ),
        ("PROCEDURE:\nRight transforaminal epidural steroid injection.\n", "64483"),
        ("PROCEDURE:\nLeft facet joint injection under fluoroscopy.\n", "64493"),
    ],
    ids=["interlaminar", "transforaminal", "facet"],
)
def test_code_document_spinal_injection_without_region_asks(
    text: str, expected: str
) -> None:
    pages = [(1, text)]

    result = code_document(pages, find_mentions(pages), date_of_service=DOS)

    assert [line.cpt_code for line in result.codes] == [expected]
    assert "spinal_region" in {q.missing for q in result.queries}
    assert result.needs_review


def test_code_document_cervical_epidural_with_imaging() -> None:
    text = (
        "PROCEDURE:\nC6-C7 interlaminar epidural steroid injection under "
        "fluoroscopic guidance.\n"
    )

    assert lines(text) == [("62321", [], 1)]
