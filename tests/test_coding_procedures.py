"""Procedure families coded from short notes written for these tests."""

from __future__ import annotations

import datetime as dt

import pytest

from cptflow.transforms.coding import code_document, code_frames
from cptflow.transforms.nlp import find_mentions

DOS = dt.date(2025, 6, 2)


def coded(text: str, on: dt.date = DOS) -> list[tuple[str, list[str]]]:
    pages = [(1, text)]
    result = code_document(pages, find_mentions(pages), date_of_service=on)
    return [(line.cpt_code, line.modifiers) for line in result.codes]


def base_codes(text: str, on: dt.date = DOS) -> list[str]:
    return sorted(code for code, _ in coded(text, on))


GI_NOTES = {
    "colonoscopy_diagnostic": (
        "PROCEDURE PERFORMED:\nColonoscopy.\n"
        "DESCRIPTION OF PROCEDURE:\nThe colonoscope was advanced to the cecum. "
        "The mucosa looked healthy throughout. No biopsies were taken.\n"
        "IMPRESSION:\nDiverticulosis of the sigmoid colon.\n",
        ["45378"],
    ),
    "colonoscopy_snare": (
        "PROCEDURE:\nColonoscopy with snare polypectomy.\n"
        "FINDINGS:\nThe scope reached the cecum. A 9 mm polyp in the transverse "
        "colon was removed with a hot snare.\n"
        "POSTOPERATIVE DIAGNOSIS:\nColon polyp.\n",
        ["45385"],
    ),
    "colonoscopy_biopsy": (
        "PROCEDURE:\nColonoscopy with cold biopsy.\n"
        "FINDINGS:\nPatchy erythema of the rectum; cold biopsies were obtained.\n"
        "IMPRESSION:\nColitis to be confirmed by pathology.\n",
        ["45380"],
    ),
    "colonoscopy_two_lesions": (
        "PROCEDURE:\nColonoscopy.\n"
        "FINDINGS:\nA 12 mm polyp of the sigmoid colon was removed with a cold "
        "snare. A small flat lesion in the cecum was sampled with forceps "
        "biopsy.\nIMPRESSION:\nColon polyp.\n",
        ["45380", "45385"],
    ),
    "egd_biopsy": (
        "PROCEDURE:\nEGD with biopsy.\n"
        "FINDINGS:\nThe esophagus looked normal. Gastric antrum erythema was "
        "sampled with biopsies for H. pylori.\nIMPRESSION:\nGastritis.\n",
        ["43239"],
    ),
    "egd_diagnostic": (
        "PROCEDURE:\nEsophagogastroduodenoscopy.\n"
        "FINDINGS:\nNormal esophagus, stomach and duodenum. No biopsy was "
        "taken.\nIMPRESSION:\nDyspepsia.\n",
        ["43235"],
    ),
}


@pytest.mark.parametrize(
    ("text", "expected"), list(GI_NOTES.values()), ids=list(GI_NOTES)
)
def test_code_document_gi_endoscopy(text: str, expected: list[str]) -> None:
    assert base_codes(text) == expected


def test_code_document_separate_lesions_get_59() -> None:
    lines = dict(coded(GI_NOTES["colonoscopy_two_lesions"][0]))

    assert lines["45385"] == []
    assert lines["45380"] == ["59"]


def test_code_document_incomplete_colonoscopy_takes_53() -> None:
    text = (
        "PROCEDURE:\nColonoscopy, incomplete.\n"
        "FINDINGS:\nThe scope could not be advanced beyond the splenic flexure "
        "because of a fixed angulation.\nIMPRESSION:\nDiverticulosis.\n"
    )

    assert coded(text) == [("45378", ["53"])]


SURGERY_NOTES = {
    "open_appendectomy": (
        "POSTOPERATIVE DIAGNOSIS:\nAcute appendicitis.\n"
        "PROCEDURE:\nAppendectomy.\n"
        "DESCRIPTION OF PROCEDURE:\nThrough a right lower quadrant incision the "
        "inflamed appendix was delivered, its base ligated and divided.\n",
        ["44950"],
    ),
    "laparoscopic_appendectomy": (
        "POSTOPERATIVE DIAGNOSIS:\nAcute appendicitis.\n"
        "PROCEDURE:\nLaparoscopic appendectomy.\n"
        "DESCRIPTION OF PROCEDURE:\nThree trocars were placed and the appendix "
        "was stapled across its base.\n",
        ["44970"],
    ),
    "ruptured_appendix": (
        "POSTOPERATIVE DIAGNOSIS:\nPerforated appendicitis with abscess.\n"
        "PROCEDURE:\nOpen appendectomy.\n"
        "FINDINGS:\nThe appendix was perforated with a pelvic abscess, which was "
        "drained.\n",
        ["44960"],
    ),
    "laparoscopic_cholecystectomy": (
        "POSTOPERATIVE DIAGNOSIS:\nChronic cholecystitis.\n"
        "PROCEDURE:\nLaparoscopic cholecystectomy.\n",
        ["47562"],
    ),
    "cholecystectomy_with_cholangiogram": (
        "POSTOPERATIVE DIAGNOSIS:\nCholelithiasis.\n"
        "PROCEDURE:\nLaparoscopic cholecystectomy with intraoperative "
        "cholangiogram.\n",
        ["47563"],
    ),
    "converted_cholecystectomy": (
        "POSTOPERATIVE DIAGNOSIS:\nAcute cholecystitis.\n"
        "PROCEDURE:\nCholecystectomy.\n"
        "DESCRIPTION OF PROCEDURE:\nThe laparoscopic approach was converted to "
        "open because of dense adhesions.\n",
        ["47600"],
    ),
}


@pytest.mark.parametrize(
    ("text", "expected"), list(SURGERY_NOTES.values()), ids=list(SURGERY_NOTES)
)
def test_code_document_abdominal_surgery(text: str, expected: list[str]) -> None:
    assert base_codes(text) == expected


IMAGING_NOTES = {
    "chest_two_views": (
        "EXAM:\nChest x-ray, PA and lateral.\nFINDINGS:\nClear lungs.\n"
        "IMPRESSION:\nNo acute disease; pneumonia not seen.\n",
        ["71046"],
    ),
    "chest_single_view": (
        "EXAM:\nChest, single view.\nIMPRESSION:\nAtelectasis.\n",
        ["71045"],
    ),
    "ct_without": (
        "EXAM:\nCT abdomen and pelvis without contrast.\nIMPRESSION:\nKidney stone.\n",
        ["74176"],
    ),
    "ct_with": (
        "EXAM:\nCT of the abdomen and pelvis with IV contrast.\nIMPRESSION:\n"
        "Diverticulitis.\n",
        ["74177"],
    ),
    "ct_both": (
        "EXAM:\nCT abdomen and pelvis with and without contrast.\nIMPRESSION:\n"
        "Hepatomegaly.\n",
        ["74178"],
    ),
    "ct_abdomen_only": (
        "EXAM:\nCT of the abdomen with contrast.\nIMPRESSION:\nSplenomegaly.\n",
        ["74160"],
    ),
    "ruq_ultrasound": (
        "EXAM:\nRight upper quadrant ultrasound.\nIMPRESSION:\nCholelithiasis.\n",
        ["76705"],
    ),
    "scrotal_ultrasound": (
        "EXAM:\nScrotal ultrasound.\nIMPRESSION:\nHydrocele.\n",
        ["76870"],
    ),
}


@pytest.mark.parametrize(
    ("text", "expected"), list(IMAGING_NOTES.values()), ids=list(IMAGING_NOTES)
)
def test_code_document_imaging(text: str, expected: list[str]) -> None:
    assert base_codes(text) == expected


def test_code_document_deleted_code_gives_way_to_replacement() -> None:
    text = "EXAM:\nChest, two views.\nIMPRESSION:\nPneumonia.\n"

    assert base_codes(text, on=dt.date(2016, 5, 1)) == ["71020"]
    assert base_codes(text, on=dt.date(2025, 5, 1)) == ["71046"]


def test_code_document_missing_views_raise_query() -> None:
    text = "EXAM:\nChest x-ray.\nIMPRESSION:\nPneumonia.\n"
    pages = [(1, text)]

    result = code_document(pages, find_mentions(pages), date_of_service=DOS)

    assert [q.missing for q in result.queries] == ["view_count"]
    assert result.needs_review


DECOYS = {
    "negated_biopsy": (
        "PROCEDURE:\nColonoscopy.\nFINDINGS:\nNormal to the cecum. No biopsies "
        "were taken.\n",
        ["45378"],
    ),
    "historical_appendectomy": (
        "HISTORY OF PRESENT ILLNESS:\nSeen for knee pain; status post "
        "appendectomy in 2015.\nIMPRESSION:\nKnee pain.\nPLAN:\nIce.\n",
        ["99202"],
    ),
    "planned_colonoscopy": (
        "PROCEDURE:\nEGD.\nFINDINGS:\nNormal stomach.\nThe patient is due for "
        "screening; will schedule colonoscopy next month.\n",
        ["43235"],
    ),
    "family_colonoscopy": (
        "PROCEDURE:\nEGD.\nFINDINGS:\nNormal duodenum. His mother had colon "
        "cancer found on colonoscopy.\n",
        ["43235"],
    ),
    "other_provider": (
        "PROCEDURE:\nLaparoscopic appendectomy.\nANESTHESIA:\nGeneral.\n"
        "The patient had an EGD performed by Dr. Smith last week.\n",
        ["44970"],
    ),
}


@pytest.mark.parametrize(("text", "expected"), list(DECOYS.values()), ids=list(DECOYS))
def test_code_document_ignores_decoys(text: str, expected: list[str]) -> None:
    assert base_codes(text) == expected


def test_code_document_recommendation_alone_is_not_coded() -> None:
    text = (
        "HISTORY OF PRESENT ILLNESS:\nFollow-up for reflux.\n"
        "ASSESSMENT:\nGERD.\nRECOMMENDATIONS:\nRecommend colonoscopy; "
        "consider EGD if symptoms persist.\n"
    )

    assert "45378" not in base_codes(text)
    assert "43235" not in base_codes(text)


def test_code_document_unmapped_procedure_goes_to_review() -> None:
    # No rule codes a colectomy yet (ERCP, the earlier example, now has rules).
    text = "PROCEDURE:\nRight colectomy.\nFINDINGS:\nCecal mass.\n"
    pages = [(1, text)]

    result = code_document(pages, find_mentions(pages), date_of_service=DOS)

    assert result.codes == []
    assert result.needs_review
    assert any("colectomy" in reason for reason in result.review_reasons)


def test_code_document_flexible_sigmoidoscopy_with_biopsy() -> None:
    text = (
        "PROCEDURE:\nFlexible sigmoidoscopy.\nFINDINGS:\nProctitis; biopsies of "
        "the rectum were taken.\n"
    )

    assert base_codes(text) == ["45331"]


def test_code_frames_rows() -> None:
    pages = [(1, "EXAM:\nChest x-ray.\nIMPRESSION:\nPneumonia.\n")]
    result = code_document(pages, find_mentions(pages))

    codes, queries = code_frames("enc-1", "cd" * 32, dt.date(2025, 2, 3), result)

    assert codes.row(0, named=True)["cpt_code"] == "71045"
    assert codes.row(0, named=True)["evidence"][0]["text"] == "Chest x-ray"
    assert codes.row(0, named=True)["icd10cm_codes"] == ["J18.9"]
    assert queries.row(0, named=True)["missing"] == "view_count"
    assert queries.row(0, named=True)["status"] == "open"


def test_code_frames_empty_without_result() -> None:
    codes, queries = code_frames("", "", dt.date(2025, 2, 3), None)

    assert codes.height == 0
    assert "evidence" in codes.columns
    assert queries.columns[-1] == "status"
