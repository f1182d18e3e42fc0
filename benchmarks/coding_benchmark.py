"""Coding throughput: notes per second through NLP and coding on one core.

Usage: .venv/bin/python benchmarks/coding_benchmark.py [--notes 300] [--words 500]

Notes of about --words words come from the MTSamples CSV in ../shared when it is
there (the benchmark is not part of the product), else from the demo's text notes.
Prints notes/s (by wall time and by the process's CPU time) for the medspaCy
pass alone, for the coding pass alone, for both, and the peak resident memory.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

# One core: keep every numeric library on a single thread.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

SHARED_CSV = (
    Path(__file__).resolve().parents[1].parent / "shared/data/mtsamples/mtsamples.csv"
)


def mtsamples_notes(count: int, words: int) -> list[str]:
    """Transcriptions within 20% of the wanted length, in a fixed random order."""
    from cptflow.transforms.evaluation import mtsamples_note

    csv.field_size_limit(sys.maxsize)
    with SHARED_CSV.open(newline="") as handle:
        texts = {row["transcription"] for row in csv.DictReader(handle)}
    fitting = sorted(t for t in texts if 0.8 * words <= len(t.split()) <= 1.2 * words)
    random.Random(7).shuffle(fitting)
    return [mtsamples_note(text) for text in fitting[:count]]


def demo_notes(count: int) -> list[str]:
    """The demo inbox's text notes, repeated to the wanted count."""
    from cptflow.transforms.demo import write_demo_inbox

    with tempfile.TemporaryDirectory() as folder:
        inbox = Path(folder) / "inbox"
        inbox.mkdir()
        write_demo_inbox(
            inbox, answers_path=Path(folder) / "a.json", received_date=date(2026, 11, 2)
        )
        texts = [p.read_text() for p in sorted(inbox.glob("*.txt"))]
    return [texts[i % len(texts)] for i in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notes", type=int, default=300)
    parser.add_argument("--words", type=int, default=500)
    args = parser.parse_args()

    from cptflow.transforms.coding import code_document, default_icd10_table
    from cptflow.transforms.coding.icd10 import build_description_index
    from cptflow.transforms.nlp import build_pipeline, find_mentions

    source = "MTSamples" if SHARED_CSV.exists() else "demo notes"
    notes = (
        mtsamples_notes(args.notes, args.words)
        if SHARED_CSV.exists()
        else demo_notes(args.notes)
    )
    build_pipeline()
    started = time.perf_counter()
    icd10 = default_icd10_table()
    build_description_index(icd10)
    table_seconds = time.perf_counter() - started
    code_document([(1, notes[0])], find_mentions([(1, notes[0])]), icd10=icd10)

    started, cpu = time.perf_counter(), time.process_time()
    mentions = [find_mentions([(1, note)]) for note in notes]
    nlp_seconds = time.perf_counter() - started
    nlp_cpu = time.process_time() - cpu

    started, cpu = time.perf_counter(), time.process_time()
    for note, found in zip(notes, mentions, strict=True):
        code_document([(1, note)], found, icd10=icd10)
    coding_seconds = time.perf_counter() - started
    coding_cpu = time.process_time() - cpu

    words = sum(len(n.split()) for n in notes) / len(notes)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"notes: {len(notes)} from {source}, mean {words:.0f} words")

    # Wall time counts the other processes sharing the core; CPU time is the
    # process's own work, the steadier figure on a loaded machine.
    print(f"{'pass':<26}{'wall s':>8}{'notes/s':>9}{'CPU s':>8}{'notes/CPU s':>13}")
    passes = [
        ("medspaCy (find_mentions)", nlp_seconds, nlp_cpu),
        ("coding (code_document)", coding_seconds, coding_cpu),
        ("both", nlp_seconds + coding_seconds, nlp_cpu + coding_cpu),
    ]
    for name, wall, cpu_seconds in passes:
        print(
            f"{name:<26}{wall:>8.2f}{len(notes) / wall:>9.1f}"
            f"{cpu_seconds:>8.2f}{len(notes) / cpu_seconds:>13.1f}"
        )
    print(f"ICD-10-CM table load and word index, once: {table_seconds:.2f} s")
    print(f"peak resident memory: {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
