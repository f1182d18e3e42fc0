"""Score the coder on the 40 tester notes: precision, recall, straight-through.

The notes in tests/fixtures/tester_notes were written for cptflow by a tester who
had not read its rules, with the codes worked out by hand in gold.jsonl. Some
rules were fixed after reading the first run's misses, so the set is a second
development set now, not a held-out one.

Gold fields read here: `codes` (cpt, modifiers, units), `acceptable_alternates`
(cpt -> accepted instead), `optional_codes` (neither required nor penalized),
`should_review`, `decoy_codes` (codes only an excluded mention would give) and
`required_modifiers` (cpt -> modifiers, "A|B" for either).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

NOTES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "tester_notes"


@dataclass
class Score:
    """Counts over the notes."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    decoy_codes: list[str] = field(default_factory=list)
    straight_through: int = 0
    straight_through_exact: int = 0
    should_review: int = 0
    flagged: int = 0
    wrong: list[str] = field(default_factory=list)


def score_note(gold: dict[str, Any], predicted: dict[str, Any], total: Score) -> None:
    """Match one note's codes to its gold and add them to the totals."""
    alternates = gold["acceptable_alternates"]
    unmatched = list(gold["codes"])
    extra: list[str] = []
    modifier_misses = 0
    for line in predicted.get("codes", []):
        match = next(
            (
                g
                for g in unmatched
                if line["cpt"] == g["cpt"]
                or line["cpt"] in alternates.get(g["cpt"], [])
            ),
            None,
        )
        if match is None:
            if line["cpt"] not in gold["optional_codes"]:
                extra.append(line["cpt"])
            continue
        unmatched.remove(match)
        for wanted in gold["required_modifiers"].get(match["cpt"], []):
            if not set(wanted.split("|")) & set(line["modifiers"]):
                modifier_misses += 1

    total.tp += len(predicted.get("codes", [])) - len(extra)
    total.fp += len(extra)
    total.fn += len(unmatched)
    total.decoy_codes += [code for code in extra if code in gold["decoy_codes"]]

    review = predicted.get("needs_review", True)
    exact = not extra and not unmatched and not modifier_misses
    if gold["should_review"]:
        total.should_review += 1
        total.flagged += review
    if not review:
        total.straight_through += 1
        total.straight_through_exact += exact and not gold["should_review"]
    if not exact:
        total.wrong.append(gold["file"])


def main() -> None:
    from cptflow.transforms.code_files import code_file

    with (NOTES / "gold.jsonl").open(encoding="utf-8") as handle:
        golds = [json.loads(line) for line in handle if line.strip()]
    total = Score()
    for gold in golds:
        score_note(gold, code_file(NOTES / gold["file"]), total)

    precision = total.tp / max(total.tp + total.fp, 1)
    recall = total.tp / max(total.tp + total.fn, 1)
    print(f"notes: {len(golds)}; base CPT tp={total.tp} fp={total.fp} fn={total.fn}")
    print(f"precision {precision:.3f}, recall {recall:.3f}")
    print(f"codes from decoy mentions: {len(total.decoy_codes)}")
    print(
        f"straight-through {total.straight_through}/{len(golds)}, exactly right "
        f"{total.straight_through_exact}/{total.straight_through}"
    )
    print(
        f"notes that should be reviewed and were: {total.flagged}/{total.should_review}"
    )
    print("notes not exactly right: " + ", ".join(total.wrong))


if __name__ == "__main__":
    main()
