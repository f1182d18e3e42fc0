"""When a coded document goes straight through, and why it goes to a coder."""

from __future__ import annotations

import datetime as dt

from cptflow.transforms.coding import CodingResult, code_document
from cptflow.transforms.coding.components import (
    is_included,
    is_reported,
    names_a_service,
)
from cptflow.transforms.nlp import find_mentions

DOS = dt.date(2025, 3, 10)


def _code(text: str) -> CodingResult:
    pages = [(1, text)]
    return code_document(pages, find_mentions(pages), date_of_service=DOS)


def _uncoded(result: CodingResult) -> list[str]:
    return [r for r in result.review_reasons if "documented but" in r]


def test_is_included_by_code_range() -> None:
    assert is_included("dilation", ["59409"])
    assert is_included("dilation", ["66984"])
    assert is_included("layered_closure", ["44950"])
    assert is_included("biopsy", ["22513", "22515"])
    assert not is_included("dilation", ["45378"])
    assert not is_included("layered_closure", ["11442"])
    assert not is_included("biopsy", ["74150", "77012"])


def test_is_reported_by_rule_or_group() -> None:
    # The lumpectomy group reports intraoperative ultrasound from either wording.
    assert is_reported(
        "ultrasound_guidance", ["partial_mastectomy.intraoperative_ultrasound"]
    )
    assert not is_reported("ultrasound_guidance", ["partial_mastectomy.lumpectomy"])
    assert not is_reported("immunization", ["foreign_body_removal.subcutaneous"])


def test_code_document_cervical_dilation_in_evacuation_goes_straight_through() -> None:
    result = _code(
        "PREOPERATIVE DIAGNOSIS:\nIncomplete abortion.\nPOSTOPERATIVE DIAGNOSIS:\n"
        "Incomplete abortion.\nPROCEDURE:\nSuction dilation and curettage.\n"
        "DESCRIPTION OF PROCEDURE:\nThe cervix was found dilated to about 1 cm. A "
        "suction curette was passed and the uterus was evacuated of retained "
        "tissue.\n"
    )

    assert [line.cpt_code for line in result.codes] == ["59812"]
    assert result.codes[0].icd10cm_codes == ["O03.4"]
    assert not result.needs_review


def test_code_document_closure_of_own_incision_is_not_a_separate_service() -> None:
    result = _code(
        "PREOPERATIVE DIAGNOSIS:\nAcute appendicitis.\nPOSTOPERATIVE DIAGNOSIS:\n"
        "Acute appendicitis.\nPROCEDURE:\nOpen appendectomy.\nDESCRIPTION OF "
        "PROCEDURE:\nA right lower quadrant incision was made. The appendix was "
        "removed. The wound was closed in layers with absorbable suture.\n"
    )

    assert [line.cpt_code for line in result.codes] == ["44950"]
    assert _uncoded(result) == []
    assert not result.needs_review


def test_code_document_bone_biopsy_of_kyphoplasty_is_included() -> None:
    result = _code(
        "POSTOPERATIVE DIAGNOSIS:\nOsteoporotic compression fracture of T12.\n"
        "PROCEDURE:\n1. Kyphoplasty at T12.\n2. Bone biopsy of T12.\nDESCRIPTION OF "
        "PROCEDURE:\nUnder fluoroscopy a balloon was inflated in the T12 body and "
        "cement was placed.\n"
    )

    assert [line.cpt_code for line in result.codes] == ["22513"]
    assert _uncoded(result) == []


def test_code_document_biopsy_beside_ct_still_goes_to_review() -> None:
    # A CT code does not include the needle biopsy it guided: never dropped.
    # No rule codes an adrenal needle biopsy yet, so the CT alone is coded.
    result = _code(
        "EXAM:\nCT abdomen without contrast. CT-guided needle biopsy of the left "
        "adrenal gland.\nIMPRESSION:\nAdrenal mass.\n"
    )

    assert result.needs_review
    assert "procedure 'biopsy' documented but not coded" in result.review_reasons


FOREIGN_BODY = (
    "POSTOPERATIVE DIAGNOSIS:\nForeign body of the left forearm.\nPROCEDURE:\n"
    "Removal of foreign body of the left forearm.\nDESCRIPTION OF PROCEDURE:\nA "
    "small incision was made and a glass splinter was removed from the "
    "subcutaneous tissue. {shot}\n"
)


def test_code_document_vaccine_given_is_coded_and_its_product_queried() -> None:
    result = _code(
        FOREIGN_BODY.format(
            shot="The patient was then given a tetanus toxoid injection."
        )
    )

    # Administration and the tetanus-diphtheria product; "tetanus toxoid" alone
    # does not say which product, so the author is asked.
    assert [line.cpt_code for line in result.codes] == ["10120", "90471", "90714"]
    assert result.needs_review
    assert "documentation gap: vaccine_product" in result.review_reasons


def test_code_document_spinal_epidural_hematoma_is_not_a_cranial_drainage() -> None:
    result = _code(
        "POSTOPERATIVE DIAGNOSIS:\nSpinal epidural hematoma.\nPROCEDURE:\nC4-C6 "
        "laminectomy and evacuation of epidural hematoma.\n"
    )

    # 63265 includes its laminectomy; the cranial family reading the same
    # words codes nothing and raises no reason of its own.
    assert [line.cpt_code for line in result.codes] == ["63265"]
    assert not any("hematoma_evacuation" in r for r in result.review_reasons)
    assert not any("laminectomy" in r for r in result.review_reasons)


def test_code_document_cranial_epidural_hematoma_keeps_its_craniotomy_code() -> None:
    result = _code(
        "PROCEDURE:\nRight craniotomy and evacuation of epidural hematoma.\n"
    )

    assert [line.cpt_code for line in result.codes] == ["61312"]
    assert not any("epidural_lesion" in r for r in result.review_reasons)


def test_code_document_vaccine_up_to_date_is_no_service() -> None:
    result = _code(
        FOREIGN_BODY.format(
            shot="Her tetanus immunization is up to date; no tetanus toxoid was given."
        )
    )

    assert [line.cpt_code for line in result.codes] == ["10120"]
    assert not result.needs_review


def test_code_document_procedure_details_header_gives_the_region() -> None:
    result = _code(
        "PROCEDURE:\nEpidural steroid injection.\nANESTHESIA:\nLocal.\nPROCEDURE "
        "DETAILS:\nThe patient was prone. A needle was passed through the sacral "
        "hiatus into the caudal epidural space and 80 mg of Depo-Medrol was "
        "injected.\nIMPRESSION:\nLumbar radiculopathy.\n"
    )

    assert [line.cpt_code for line in result.codes] == ["62322"]
    assert result.queries == []
    assert not result.needs_review


def test_code_document_epidural_without_region_raises_query() -> None:
    result = _code(
        "PROCEDURE:\nEpidural steroid injection.\nANESTHESIA:\nLocal.\nPROCEDURE "
        "DETAILS:\nThe patient was prone. A needle was placed into the epidural "
        "space and 80 mg of Depo-Medrol was injected.\nIMPRESSION:\n"
        "Radiculopathy.\n"
    )

    assert [q.missing for q in result.queries] == ["spinal_region"]
    assert result.needs_review


BLOCK = (
    "PROCEDURE:\nIntercostal nerve block, right T8.\nPROCEDURE DETAILS:\nThe right "
    "T8 intercostal nerve was blocked with bupivacaine. {film}\nIMPRESSION:\n"
    "Chest wall pain.\n"
)


def test_code_document_study_ordered_for_later_is_not_uncoded() -> None:
    result = _code(BLOCK.format(film="Chest x-ray was ordered for the next morning."))

    assert [line.cpt_code for line in result.codes] == ["64420"]
    assert _uncoded(result) == []


def test_code_document_study_done_in_the_procedure_is_uncoded() -> None:
    result = _code(BLOCK.format(film="A chest x-ray was taken after the block."))

    assert "procedure 'chest_xray' documented but not coded" in result.review_reasons


CATARACT = (
    "PROCEDURE:\nPhacoemulsification with posterior chamber intraocular lens{eye}.\n"
    "DESCRIPTION OF PROCEDURE:\nThe pupil of the operative eye was dilated with "
    "drops. The lens was removed by phacoemulsification and the implant placed.\n"
)


def test_code_document_cataract_with_eye_stated_goes_straight_through() -> None:
    result = _code(
        "POSTOPERATIVE DIAGNOSIS:\nNuclear sclerotic cataract, right eye.\n"
        + CATARACT.format(eye=", right eye")
    )

    assert [(line.cpt_code, line.modifiers) for line in result.codes] == [
        ("66984", ["RT"])
    ]
    assert result.codes[0].icd10cm_codes == ["H25.11"]
    assert not result.needs_review


def test_code_document_cataract_without_eye_asks_which() -> None:
    result = _code(CATARACT.format(eye=""))

    assert [q.missing for q in result.queries] == ["laterality"]
    # Pupil dilation is part of the cataract operation, never a missed service.
    assert _uncoded(result) == []


def test_names_a_service_step_word_needs_its_companion() -> None:
    assert names_a_service("skin_excision", {"skin_lesion", "site_face"})
    assert not names_a_service("skin_excision", set())
    assert not names_a_service("coronary_vessel", {"coronary_angiography"})
    assert names_a_service("coronary_vessel", {"coronary_stent"})
    # Concepts that are no step word stand alone, as before.
    assert names_a_service("fusion", set())


HERNIA = (
    "POSTOPERATIVE DIAGNOSIS:\nReducible right inguinal hernia.\nPROCEDURE:\nOpen "
    "right inguinal hernia repair.\nDESCRIPTION OF PROCEDURE:\n{body}\n"
)


def test_code_document_excised_hernia_sac_is_a_step_of_the_repair() -> None:
    result = _code(
        HERNIA.format(
            body="The hernia sac was dissected free and excised. The floor was "
            "repaired."
        )
    )

    assert [line.cpt_code for line in result.codes] == ["49505"]
    assert not result.needs_review


def test_code_document_excised_skin_lesion_beside_repair_is_a_service() -> None:
    result = _code(
        HERNIA.format(
            body="The hernia sac was reduced and the floor repaired. A nevus of "
            "the right thigh was then excised."
        )
    )

    # The lesion is coded, and reviewed for its missing size.
    assert [line.cpt_code for line in result.codes] == ["49505", "11400"]
    assert result.needs_review
