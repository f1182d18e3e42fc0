"""Mentions, sections and context from the medspacy pipeline."""

from __future__ import annotations

import datetime as dt

import pytest

from cptflow.transforms.nlp import build_pipeline, find_mentions, mention_frame
from cptflow.transforms.nlp.pipeline import pattern_phrases


def only(text: str, concept: str):
    found = [m for m in find_mentions([(1, text)]) if m.concept == concept]
    assert len(found) == 1, found
    return found[0]


def test_build_pipeline_is_built_once_without_pyrush() -> None:
    nlp = build_pipeline()

    assert build_pipeline() is nlp
    assert "medspacy_pyrush" not in nlp.pipe_names
    assert nlp.pipe_names[0] == "sentencizer"


CONTEXTS = {
    "negated": ("FINDINGS:\nNo biopsies were taken.\n", "biopsy", "is_negated"),
    "historical": (
        "HISTORY OF PRESENT ILLNESS:\nShe is status post appendectomy in 2015.\n",
        "appendectomy",
        "is_historical",
    ),
    "planned": (
        "IMPRESSION:\nAnemia. Will schedule colonoscopy next month.\n",
        "colonoscopy",
        "is_hypothetical",
    ),
    "recommended": (
        "IMPRESSION:\nReflux. We recommend an EGD.\n",
        "egd",
        "is_hypothetical",
    ),
    "family": (
        "HISTORY OF PRESENT ILLNESS:\nHis mother had colon cancer found at "
        "colonoscopy.\n",
        "colonoscopy",
        "is_family",
    ),
    "other_provider": (
        "HISTORY OF PRESENT ILLNESS:\nAn EGD was performed by Dr. Lee.\n",
        "egd",
        "is_other_provider",
    ),
    "could_be_performed": (
        "IMPRESSION:\nRenal cyst; a renal ultrasound could be performed.\n",
        "us_renal",
        "is_hypothetical",
    ),
    "was_offered": (
        "PROCEDURE:\nTotal knee arthroplasty was offered; he chose an injection.\n",
        "total_knee",
        "is_hypothetical",
    ),
    "family_section": (
        "FAMILY HISTORY:\nColon cancer; colonoscopy at 50.\n",
        "colonoscopy",
        "is_family",
    ),
    "past_surgical_section": (
        "PAST SURGICAL HISTORY:\nCholecystectomy.\n",
        "cholecystectomy",
        "is_historical",
    ),
}


@pytest.mark.parametrize(
    ("text", "concept", "flag"), list(CONTEXTS.values()), ids=list(CONTEXTS)
)
def test_find_mentions_context_flags(text: str, concept: str, flag: str) -> None:
    mention = only(text, concept)

    assert getattr(mention, flag)
    assert not mention.is_performed


def test_find_mentions_performed_procedure_has_no_flag() -> None:
    mention = only("PROCEDURE PERFORMED:\nColonoscopy.\n", "colonoscopy")

    assert mention.is_performed
    assert mention.section == "procedure"


SECTIONS = {
    "procedures": ("PROCEDURES:\nEGD.\n", "procedure"),
    "operation": ("OPERATION:\nAppendectomy.\n", "procedure"),
    "description": (
        "DESCRIPTION OF PROCEDURE:\nThe colonoscope was passed.\n",
        "procedure",
    ),
    "findings": ("FINDINGS:\nBiopsies were taken.\n", "findings"),
    "postoperative": (
        "POSTOPERATIVE DIAGNOSIS:\nBiopsy proven colitis.\n",
        "impression",
    ),
    "plan": ("PLAN:\nColonoscopy in five years.\n", "plan"),
    "past_surgical": ("PAST SURGICAL HISTORY:\nAppendectomy.\n", "past_history"),
}


@pytest.mark.parametrize(
    ("text", "section"), list(SECTIONS.values()), ids=list(SECTIONS)
)
def test_find_mentions_section_category(text: str, section: str) -> None:
    assert find_mentions([(1, text)])[0].section == section


def test_find_mentions_offsets_are_page_offsets() -> None:
    pages = [(1, "PROCEDURE:\nEGD.\n"), (2, "FINDINGS:\nA snare was used.\n")]

    mentions = find_mentions(pages)

    snare = [m for m in mentions if m.concept == "snare_polypectomy"][0]
    assert snare.page_number == 2
    assert pages[1][1][snare.start : snare.end] == "snare"


def test_find_mentions_reads_flattened_line_breaks() -> None:
    text = "POSTOPERATIVE DIAGNOSIS:  ,Polyp.,PROCEDURE:  ,Colonoscopy."

    mention = only(text, "colonoscopy")

    assert mention.section == "procedure"
    assert text[mention.start : mention.end] == "Colonoscopy"


def test_mention_frame_columns() -> None:
    mentions = find_mentions([(3, "PROCEDURE:\nEGD.\n")])

    frame = mention_frame("ab" * 32, dt.date(2025, 1, 2), mentions)

    assert frame.columns[:4] == [
        "mention_id",
        "document_id",
        "partition_date",
        "page_number",
    ]
    assert frame.row(0, named=True)["mention_id"] == "abababababab:3:11"
    assert frame.row(0, named=True)["concept"] == "egd"


def test_pattern_phrases_expands_plain_token_patterns() -> None:
    pattern = [
        {"LOWER": {"IN": ["two", "2"]}},
        {"LOWER": "-", "OP": "?"},
        {"LOWER": "views"},
    ]

    assert pattern_phrases(pattern) == [
        ["2", "-", "views"],
        ["2", "views"],
        ["two", "-", "views"],
        ["two", "views"],
    ]
    assert pattern_phrases([{"LIKE_NUM": True}]) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "EXAMINATION: CT head without contrast.\nIMPRESSION: Normal.\n",
            "exam_title",
            id="report-exam-line",
        ),
        pytest.param(
            "EXAMINATION:\nMRI of the brain.\nIMPRESSION: Normal.\n",
            "exam_title",
            id="report-exam-next-line",
        ),
        pytest.param(
            "HPI: Cough.\nEXAMINATION: Lungs clear. Chest x-ray was ordered.\n",
            "physical_exam",
            id="visit-exam",
        ),
    ],
)
def test_find_mentions_examination_header_by_its_line(text: str, expected: str) -> None:
    study = [m for m in find_mentions([(1, text)]) if m.concept != "contrast_without"]

    assert study[0].section == expected
