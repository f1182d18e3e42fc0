"""The sectionizer that reads sections from the document, not from each token."""

from __future__ import annotations

from cptflow.transforms.nlp import build_pipeline, find_mentions


def test_sectionizer_token_reads_its_section() -> None:
    doc = build_pipeline()("Seen today.\nPROCEDURE:\nColonoscopy.\nPLAN:\nRepeat.\n")

    by_word = {token.text: token._.section for token in doc}
    # Text before the first header has a section with no category.
    assert by_word["Seen"].category is None
    assert by_word["Colonoscopy"].category == "procedure"
    assert by_word["Repeat"].category == "plan"
    assert [s.category for s in doc._.sections] == [None, "procedure", "plan"]


def test_sectionizer_no_header_gives_one_section() -> None:
    doc = build_pipeline()("Colonoscopy to the cecum without difficulty.")

    assert len(doc._.sections) == 1
    assert doc[0]._.section.category is None


def test_find_mentions_section_header_sets_context() -> None:
    mentions = find_mentions(
        [(1, "PROCEDURE:\nColonoscopy.\nFAMILY HISTORY:\nColonoscopy in father.\n")]
    )

    assert [(m.section, m.is_family) for m in mentions] == [
        ("procedure", False),
        ("family_history", True),
    ]
