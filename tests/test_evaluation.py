"""The evaluator scores like the dev set's score.py, plus calibration and context."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from shared_inputs import shared_path

from cptflow.transforms.evaluation import evaluate, mtsamples_note

GOLD = [
    {
        "row": 1,
        "doc_type": "endoscopy",
        "codable": True,
        "codes": [
            {"cpt": "45385", "modifiers": [], "units": 1, "required": True},
            {"cpt": "45380", "modifiers": ["XS"], "units": 1, "required": True},
        ],
        "alternates": {"45385": ["45384"]},
        "excluded_mentions": [{"text": "no biopsy of the rectum", "why": "negated"}],
    },
    {
        "row": 2,
        "doc_type": "office_visit",
        "codable": True,
        "codes": [
            {"cpt": "99214", "modifiers": [], "units": 1, "required": True},
            {"cpt": "36415", "modifiers": [], "units": 1, "required": False},
        ],
        "alternates": {"99214": ["99213"]},
    },
    {"row": 3, "doc_type": "letter", "codable": False, "codes": []},
    {
        "row": 4,
        "doc_type": "radiology",
        "codable": True,
        "codes": [{"cpt": "71046", "modifiers": [], "units": 1, "required": True}],
    },
]


def _code(cpt: str, confidence: float, start: int = 0, end: int = 5, **extra) -> dict:
    return {
        "cpt": cpt,
        "modifiers": extra.get("modifiers", []),
        "units": 1,
        "confidence": confidence,
        "evidence": [{"page": 1, "start": start, "end": end, "text": ""}],
    }


PREDICTIONS = {
    # 45384 stands in for 45385; 45380 found without its XS.
    1: {"codes": [_code("45384", 0.95), _code("45380", 0.92)], "needs_review": False},
    # 99213 is the accepted alternate; 36415 optional; 93000 a false positive.
    2: {
        "codes": [_code("99213", 0.85), _code("36415", 0.6), _code("93000", 0.55)],
        "needs_review": True,
    },
    # Not codable and not flagged: its one code is a false positive.
    3: {"codes": [_code("99203", 0.7)], "needs_review": False},
    # Row 4 has no prediction at all: a miss.
}


def test_evaluate_counts_like_the_dev_set_rules() -> None:
    result = evaluate(GOLD, PREDICTIONS)

    assert (result.tp, result.fp, result.fn) == (3, 2, 1)
    assert result.precision == pytest.approx(3 / 5)
    assert result.recall == pytest.approx(3 / 4)
    assert result.missing == 1
    # Straight-through: row 1 only (row 2 flagged, row 4 missing = review).
    assert (result.straight_through, result.codable) == (1, 3)
    assert result.straight_through_exact == 1


def test_evaluate_reports_modifier_and_unit_agreement() -> None:
    result = evaluate(GOLD, PREDICTIONS)
    # 45380 (XS expected, none given) and 36415 are the gold codes predicted as-is.
    assert result.modifier_agreement == (1, 2)
    assert result.unit_agreement == (2, 2)


def test_evaluate_bands_observed_accuracy_by_confidence() -> None:
    bands = {
        label: (total, right)
        for label, total, right in evaluate(GOLD, PREDICTIONS).bands
    }
    assert bands["0.95-1.00"] == (1, 1)
    assert bands["0.90-0.95"] == (1, 1)
    assert bands["0.50-0.70"] == (2, 1)


def test_evaluate_flags_codes_resting_on_an_excluded_mention() -> None:
    note = "Findings: polyp snared. There was no biopsy of the rectum today."
    start = note.index("biopsy")
    predictions = {
        1: {
            "codes": [
                _code("45385", 0.9, 10, 22),
                _code("45380", 0.9, start, start + 6),
            ],
            "needs_review": False,
        }
    }
    result = evaluate(GOLD[:1], predictions, {1: note})
    assert result.excluded_mention_codes == 1


def test_mtsamples_note_restores_flattened_line_breaks() -> None:
    assert mtsamples_note("PROCEDURE:,  Colonoscopy.,  Findings:, normal") == (
        "PROCEDURE:\nColonoscopy.\nFindings:\n normal"
    )


@pytest.mark.slow
def test_evaluate_agrees_with_the_dev_set_scorer(tmp_path) -> None:
    gold_path = tmp_path / "gold.jsonl"
    pred_path = tmp_path / "pred.jsonl"
    gold_path.write_text("".join(json.dumps(g) + "\n" for g in GOLD))
    pred_path.write_text(
        "".join(
            json.dumps({"document": f"row{row}.txt", **p}) + "\n"
            for row, p in PREDICTIONS.items()
        )
    )
    scorer = shared_path("eval", "score.py")
    output = subprocess.run(
        [sys.executable, str(scorer), str(gold_path), str(pred_path)],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    assert "tp=3 fp=2 fn=1" in output
