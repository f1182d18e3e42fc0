"""Score the coder on the 40 tester notes: precision, recall, straight-through.

The notes in tests/fixtures/tester_notes were written for cptflow by a tester who
had not read its rules, with the codes worked out by hand in gold.jsonl. Some
rules were fixed after reading the first run's misses, so the set is a second
development set now, not a held-out one.

The notes are scored by `cptflow evaluate`'s own rules: the tester's gold is
read into the dev set's schema (its `optional_codes` as codes not required, its
`acceptable_alternates` as alternates). Two figures only this set has are
counted here: codes among a note's `decoy_codes`, and notes marked
`should_review` that were flagged.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

NOTES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "tester_notes"


def dev_schema(index: int, gold: dict[str, Any]) -> dict[str, Any]:
    """One tester gold line as a dev-set gold row numbered `index`."""
    optional = [{"cpt": code, "required": False} for code in gold["optional_codes"]]
    return {
        "row": index,
        "doc_type": gold["file"].split("_", 1)[1].removesuffix(".txt"),
        "codable": True,
        "codes": [{**code, "required": True} for code in gold["codes"]] + optional,
        "alternates": gold["acceptable_alternates"],
    }


def main() -> None:
    from cptflow.transforms.code_files import code_file
    from cptflow.transforms.evaluation import evaluate

    with (NOTES / "gold.jsonl").open(encoding="utf-8") as handle:
        golds = [json.loads(line) for line in handle if line.strip()]
    predictions = {i: code_file(NOTES / g["file"]) for i, g in enumerate(golds)}
    result = evaluate([dev_schema(i, g) for i, g in enumerate(golds)], predictions)

    decoys = sum(
        code["cpt"] in gold["decoy_codes"]
        for i, gold in enumerate(golds)
        for code in predictions[i].get("codes", [])
    )
    should = [i for i, gold in enumerate(golds) if gold["should_review"]]
    flagged = sum(bool(predictions[i].get("needs_review", True)) for i in should)

    print(f"notes: {result.documents}; tp={result.tp} fp={result.fp} fn={result.fn}")
    print(f"precision {result.precision:.3f}, recall {result.recall:.3f}")
    print(f"codes from decoy mentions: {decoys}")
    print(
        f"straight-through {result.straight_through}/{result.codable}, exactly "
        f"right on base codes {result.straight_through_exact}/{result.straight_through}"
    )
    agree, compared = result.modifier_agreement
    print(f"modifiers agree {agree}/{compared}")
    print(f"notes that should be reviewed and were: {flagged}/{len(should)}")


if __name__ == "__main__":
    main()
