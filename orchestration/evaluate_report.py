"""`cptflow evaluate`: code the gold notes and print precision, recall and more."""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from cptflow.transforms.evaluation import (
    Evaluation,
    evaluate,
    load_gold,
    load_transcriptions,
    mtsamples_note,
)

out = Console()


def run_evaluation(
    gold_path: Path,
    mtsamples_path: Path,
    *,
    predictions_path: Path | None = None,
    verbose: bool = False,
) -> Evaluation:
    """Write each gold row's note as row<N>.txt, code it, score it and print."""
    from cptflow.transforms.code_files import code_file
    from cptflow.transforms.coding import default_icd10_table

    gold = load_gold(gold_path)
    texts = load_transcriptions(mtsamples_path, [row["row"] for row in gold])
    notes = {row: mtsamples_note(text) for row, text in texts.items()}
    icd10 = default_icd10_table()

    predictions: dict[int, dict[str, Any]] = {}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        for row, note in notes.items():
            path = Path(folder) / f"row{row}.txt"
            path.write_text(note)
            predictions[row] = code_file(path, icd10=icd10)
    seconds = time.perf_counter() - started

    if predictions_path:
        with predictions_path.open("w") as handle:
            for row in sorted(predictions):
                handle.write(json.dumps(predictions[row]) + "\n")

    result = evaluate(gold, predictions, notes)
    _print(result, seconds, verbose=verbose)
    return result


def _print(result: Evaluation, seconds: float, *, verbose: bool) -> None:
    """The headline figures, per-family errors and the calibration table."""
    headline = Table(title="cptflow evaluate: base CPT codes")
    for column in (
        "documents",
        "precision",
        "recall",
        "F1",
        "straight-through",
        "exact when straight-through",
        "codes from excluded mentions",
    ):
        headline.add_column(column, justify="right")
    headline.add_row(
        str(result.documents),
        f"{result.precision:.3f}",
        f"{result.recall:.3f}",
        f"{result.f1:.3f}",
        f"{result.straight_through_rate:.2f} ({result.straight_through}/"
        f"{result.codable})",
        f"{result.straight_through_exactness:.2f}",
        str(result.excluded_mention_codes),
    )
    out.print(headline)
    out.print(
        f"tp={result.tp} fp={result.fp} fn={result.fn} "
        f"missing_predictions={result.missing} "
        f"modifiers agree {result.modifier_agreement[0]}/"
        f"{result.modifier_agreement[1]}, units agree {result.unit_agreement[0]}/"
        f"{result.unit_agreement[1]}; {seconds:.1f} s"
    )

    families = Table(title="Errors by document family")
    for column in ("family", "documents", "tp", "fp", "fn", "wrong codes"):
        families.add_column(column)
    for name, tally in sorted(result.families.items()):
        wrong = ", ".join(f"{k} x{v}" for k, v in tally.wrong_codes.most_common(6))
        families.add_row(
            name,
            str(tally.documents),
            str(tally.tp),
            str(tally.fp),
            str(tally.fn),
            wrong,
        )
    out.print(families)

    bands = Table(title="Calibration: observed accuracy per confidence band")
    for column in ("confidence", "codes", "right", "observed accuracy"):
        bands.add_column(column, justify="right")
    for label, total, right in result.bands:
        accuracy = f"{right / total:.2f}" if total else "-"
        bands.add_row(label, str(total), str(right), accuracy)
    out.print(bands)

    if verbose:
        reasons = Table(title="Why codable documents went to review")
        for column in ("documents", "review reason"):
            reasons.add_column(column)
        for reason, count in result.review_reasons.most_common(15):
            reasons.add_row(str(count), reason)
        out.print(reasons)
        for row, kind, fp, fn in result.per_document:
            if fp or fn:
                out.print(f"row {row} {kind}: fp={fp} fn={fn}")
