"""The evaluator's tally of why codable documents went to review."""

from __future__ import annotations

from cptflow.transforms.evaluation import evaluate


def _gold(row: int, cpt: str, *, codable: bool = True) -> dict:
    codes = [{"cpt": cpt, "required": True}] if codable else []
    return {"row": row, "doc_type": "operative", "codable": codable, "codes": codes}


def test_evaluate_counts_review_reasons_of_codable_documents_by_kind() -> None:
    gold = [_gold(1, "44950"), _gold(2, "44970"), _gold(3, "99213"), _gold(4, "")]
    gold[3]["codable"] = False
    line = {"cpt": "44950", "confidence": 0.65}
    predictions = {
        1: {
            "codes": [line],
            "needs_review": True,
            "review_reasons": ["confidence 0.65 below 0.7", "documentation gap: x"],
        },
        2: {
            "codes": [line],
            "needs_review": True,
            "review_reasons": ["confidence 0.6 below 0.7"],
        },
        3: {"codes": [], "needs_review": False, "review_reasons": []},
        4: {"codes": [], "needs_review": True, "review_reasons": ["letter"]},
    }

    result = evaluate(gold, predictions)

    # Figures are folded so one kind counts once per document; a straight-through
    # document and a non-codable one add nothing.
    assert result.review_reasons == {
        "confidence N below N": 2,
        "documentation gap: x": 1,
    }
    assert result.straight_through == 1
