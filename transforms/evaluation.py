"""Scoring coded documents against gold CPT labels, the way the dev set is scored."""

from __future__ import annotations

import csv
import json
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Confidence bands the calibration table reports.
BANDS = ((0.0, 0.5), (0.5, 0.7), (0.7, 0.8), (0.8, 0.9), (0.9, 0.95), (0.95, 1.01))


def base_code(code: str) -> str:
    """The first five characters of a code: modifiers and suffixes do not count."""
    return str(code).strip().upper()[:5]


def mtsamples_note(transcription: str) -> str:
    """Restore the line breaks MTSamples flattened: ",  " and ":," become breaks."""
    return transcription.replace(",  ", "\n").replace(":,", ":\n")


def load_gold(path: Path) -> list[dict[str, Any]]:
    """The gold rows of a JSONL file, in file order."""
    with path.open() as handle:
        return [json.loads(line) for line in handle if line.strip()]


def load_transcriptions(path: Path, rows: Iterable[int]) -> dict[int, str]:
    """The `transcription` of the given rows of an MTSamples CSV (0-based index)."""
    wanted = set(rows)
    csv.field_size_limit(sys.maxsize)
    found = {}
    with path.open(newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        column = header.index("transcription")
        for record in reader:
            if record and record[0].isdigit() and int(record[0]) in wanted:
                found[int(record[0])] = record[column]
    return found


@dataclass
class FamilyTally:
    """True positives, false positives and misses for one document family."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    documents: int = 0
    wrong_codes: Counter[str] = field(default_factory=Counter)


@dataclass
class Evaluation:
    """Everything `cptflow evaluate` prints."""

    documents: int
    missing: int
    tp: int
    fp: int
    fn: int
    straight_through: int
    straight_through_exact: int
    codable: int
    excluded_mention_codes: int
    families: dict[str, FamilyTally]
    bands: list[tuple[str, int, int]]
    modifier_agreement: tuple[int, int]
    unit_agreement: tuple[int, int]
    per_document: list[tuple[int, str, int, int]]
    review_reasons: Counter[str] = field(default_factory=Counter)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def straight_through_rate(self) -> float:
        return self.straight_through / self.codable if self.codable else 0.0

    @property
    def straight_through_exactness(self) -> float:
        if not self.straight_through:
            return 0.0
        return self.straight_through_exact / self.straight_through


def evaluate(
    gold: list[dict[str, Any]],
    predictions: Mapping[int, dict[str, Any]],
    notes: Mapping[int, str] | None = None,
) -> Evaluation:
    """Score predictions (row -> `cptflow code` object) against gold rows.

    Scoring follows the dev set's rules: base codes only; a required code is found
    when it or an alternate is predicted; optional codes are neither required nor
    penalised; on a non-codable document every code counts as a false positive
    unless the document is flagged for review. With the notes' text, a code whose
    evidence lies inside a mention the gold excludes (negated, historical,
    planned, family, other provider) is counted as a context error.
    """
    tally = _Tally()
    for row in gold:
        prediction = predictions.get(row["row"])
        tally.add(row, prediction, (notes or {}).get(row["row"]))
    return tally.result(len(gold))


class _Tally:
    """Running counts while documents are scored."""

    def __init__(self) -> None:
        self.tp = self.fp = self.fn = 0
        self.missing = self.codable = 0
        self.stp = self.stp_exact = 0
        self.excluded = 0
        self.families: dict[str, FamilyTally] = defaultdict(FamilyTally)
        self.band_hits: dict[int, list[int]] = defaultdict(lambda: [0, 0])
        self.modifiers = [0, 0]
        self.units = [0, 0]
        self.per_document: list[tuple[int, str, int, int]] = []
        self.review_reasons: Counter[str] = Counter()

    def add(
        self,
        row: dict[str, Any],
        prediction: dict[str, Any] | None,
        note: str | None,
    ) -> None:
        if prediction is None or "error" in prediction:
            self.missing += prediction is None
            prediction = {"codes": [], "needs_review": True}
        codes = prediction.get("codes", [])
        predicted = Counter(base_code(c["cpt"]) for c in codes)
        review = bool(prediction.get("needs_review", False))
        family = self.families[row.get("doc_type", "other")]
        family.documents += 1
        if note is not None:
            self.excluded += _codes_from_excluded(row, codes, note)

        if not row.get("codable", True):
            extra = 0 if review else len(predicted)
            self.fp += extra
            family.fp += extra
            self.per_document.append((row["row"], "noncodable", extra, 0))
            return

        self.codable += 1
        d_tp, d_fp, d_fn, right = self._score_codable(row, set(predicted), family)
        self._calibrate(codes, right)
        self._agree(row, codes)
        if not review:
            self.stp += 1
            self.stp_exact += int(d_fp == 0 and d_fn == 0)
        else:
            self.review_reasons.update(_reason_kinds(prediction))
        self.per_document.append((row["row"], "codable", d_fp, d_fn))

    def _score_codable(
        self, row: dict[str, Any], predicted: set[str], family: FamilyTally
    ) -> tuple[int, int, int, set[str]]:
        required = [
            base_code(c["cpt"]) for c in row["codes"] if c.get("required", True)
        ]
        optional = {
            base_code(c["cpt"]) for c in row["codes"] if not c.get("required", True)
        }
        alternates = {
            base_code(k): {base_code(x) for x in v}
            for k, v in (row.get("alternates") or {}).items()
        }
        remaining = set(predicted)
        right: set[str] = set()
        d_tp = d_fn = 0
        for code in dict.fromkeys(required):
            hit = ({code} | alternates.get(code, set())) & remaining
            if hit:
                d_tp += 1
                remaining -= hit
                right |= hit
            else:
                d_fn += 1
                family.wrong_codes[f"missed {code}"] += 1
        right |= remaining & optional
        d_fp = 0
        for code in remaining - optional:
            d_fp += 1
            family.wrong_codes[f"extra {code}"] += 1
        self.tp += d_tp
        self.fp += d_fp
        self.fn += d_fn
        family.tp += d_tp
        family.fp += d_fp
        family.fn += d_fn
        return d_tp, d_fp, d_fn, right

    def _calibrate(self, codes: list[dict[str, Any]], right: set[str]) -> None:
        for code in codes:
            band = _band_of(float(code.get("confidence", 0.0)))
            self.band_hits[band][0] += 1
            self.band_hits[band][1] += base_code(code["cpt"]) in right

    def _agree(self, row: dict[str, Any], codes: list[dict[str, Any]]) -> None:
        by_code = {base_code(c["cpt"]): c for c in codes}
        for gold_code in row["codes"]:
            predicted = by_code.get(base_code(gold_code["cpt"]))
            if predicted is None:
                continue
            self.modifiers[1] += 1
            self.modifiers[0] += sorted(predicted.get("modifiers", [])) == sorted(
                gold_code.get("modifiers", [])
            )
            self.units[1] += 1
            self.units[0] += int(predicted.get("units", 1)) == int(
                gold_code.get("units", 1)
            )

    def result(self, documents: int) -> Evaluation:
        bands = []
        for index, (low, high) in enumerate(BANDS):
            total, right = self.band_hits.get(index, [0, 0])
            bands.append((f"{low:.2f}-{min(high, 1.0):.2f}", total, right))
        return Evaluation(
            documents=documents,
            missing=self.missing,
            tp=self.tp,
            fp=self.fp,
            fn=self.fn,
            straight_through=self.stp,
            straight_through_exact=self.stp_exact,
            codable=self.codable,
            excluded_mention_codes=self.excluded,
            families=dict(self.families),
            bands=bands,
            modifier_agreement=(self.modifiers[0], self.modifiers[1]),
            unit_agreement=(self.units[0], self.units[1]),
            per_document=self.per_document,
            review_reasons=self.review_reasons,
        )


def _reason_kinds(prediction: dict[str, Any]) -> set[str]:
    # Figures in a reason ("confidence 0.65 below 0.7") vary by document; the
    # kind of reason is what tells why codable documents miss straight-through.
    reasons = prediction.get("review_reasons") or []
    if not reasons and "error" in prediction:
        reasons = ["coding failed"]
    return {re.sub(r"\d+(?:[.-]\d+)*", "N", reason) for reason in reasons}


def _band_of(confidence: float) -> int:
    for index, (low, high) in enumerate(BANDS):
        if low <= confidence < high:
            return index
    return len(BANDS) - 1


def _codes_from_excluded(
    row: dict[str, Any], codes: list[dict[str, Any]], note: str
) -> int:
    """How many predicted codes rest on evidence inside an excluded mention."""
    lowered = note.lower()
    spans = []
    for mention in row.get("excluded_mentions") or []:
        needle = mention.get("text", "").lower()
        start = lowered.find(needle) if needle else -1
        while start >= 0:
            spans.append((start, start + len(needle)))
            start = lowered.find(needle, start + 1)
    count = 0
    for code in codes:
        evidence = code.get("evidence") or []
        if evidence and all(
            any(s <= e["start"] and e["end"] <= t for s, t in spans) for e in evidence
        ):
            count += 1
    return count
