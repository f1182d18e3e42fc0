"""Skin lesion excisions by site and size, and repairs by class and length."""

from __future__ import annotations

import datetime as dt

import pytest

from cptflow.transforms.coding import code_document
from cptflow.transforms.nlp import find_mentions

DOS = dt.date(2025, 6, 2)


def lines(text: str) -> list[tuple[str, list[str], int]]:
    pages = [(1, text)]
    result = code_document(pages, find_mentions(pages), date_of_service=DOS)
    return sorted((c.cpt_code, c.modifiers, c.units) for c in result.codes)


NOTES = {
    # Benign, trunk, 1.2 cm excised: 11402 (1.1 to 2.0 cm); simple closure is
    # part of the excision.
    "benign_trunk": (
        "PROCEDURE:\nExcision of a seborrheic keratosis of the back, excised "
        "diameter 1.2 cm, simple closure.\n",
        [("11402", [], 1)],
    ),
    # Malignant, nose, 0.8 cm: 11641; a 1.5 cm layered closure on the face is
    # the intermediate repair 12051 (up to 2.5 cm).
    "malignant_face_with_layered_repair": (
        "POSTOPERATIVE DIAGNOSIS:\nBasal cell carcinoma of the nose.\n"
        "PROCEDURE:\nExcision of basal cell carcinoma of the nose, excised "
        "diameter 0.8 cm, with layered closure of 1.5 cm.\n",
        [("11641", [], 1), ("12051", [], 1)],
    ),
    # Two benign arm lesions of 0.4 cm (11400 x 2) and one of 2.5 cm on the
    # thigh (11403), a separate lesion: 59.
    "three_lesions": (
        "PROCEDURES:\n1. Excision of nevus of the left arm, 0.4 cm.\n"
        "2. Excision of nevus of the right forearm, 0.4 cm.\n"
        "3. Excision of dysplastic nevus of the right thigh, 2.5 cm.\n",
        [("11400", [], 2), ("11403", ["59"], 1)],
    ),
    # A 4 cm laceration of the forearm closed in layers: 12032 (2.6-7.5 cm).
    "layered_laceration": (
        "PROCEDURE:\nRepair of laceration of the forearm, 4 cm, layered closure.\n",
        [("12032", [], 1)],
    ),
}


@pytest.mark.parametrize(("text", "expected"), list(NOTES.values()), ids=list(NOTES))
def test_code_document_skin(
    text: str, expected: list[tuple[str, list[str], int]]
) -> None:
    assert lines(text) == expected


def test_code_document_lesion_without_size_queries() -> None:
    pages = [(1, "PROCEDURE:\nExcision of a nevus of the back.\n")]

    result = code_document(pages, find_mentions(pages), date_of_service=DOS)

    assert [q.missing for q in result.queries] == ["lesion_size"]
    assert result.needs_review


def test_code_document_incision_closed_in_layers_is_not_a_repair() -> None:
    text = (
        "PROCEDURE:\nLaparoscopic appendectomy.\nThe fascia and skin were "
        "closed in layers.\n"
    )

    assert [code for code, _, _ in lines(text)] == ["44970"]
