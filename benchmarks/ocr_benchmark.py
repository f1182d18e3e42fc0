"""Print OCR and end-to-end speed figures of cptflow, measured side by side.

Run from the repository root:

    .venv/bin/python benchmarks/ocr_benchmark.py            # the full set
    .venv/bin/python benchmarks/ocr_benchmark.py --quick    # a few minutes

Every figure uses the same pages: the scanned and born-digital PDFs of the demo
inbox (`cptflow.transforms.demo`), generated afresh in a temporary folder.
"""

from __future__ import annotations

import argparse
import csv
import logging
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import ocrmypdf

from cptflow.transforms.demo import write_demo_inbox
from cptflow.transforms.errors import DocumentError
from cptflow.transforms.ocr import extract_documents, extract_pages
from cptflow.transforms.ocr.readers import count_pdf_pages
from cptflow.transforms.ocr.tesseract import ROTATE_PAGES_THRESHOLD

RECEIVED = date(2026, 11, 2)
CPTFLOW = Path(sys.executable).parent / "cptflow"
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
SCAN = re.compile(r"scan_\d{4}\.pdf")


@dataclass(frozen=True)
class Figure:
    """One row of the printed table."""

    name: str
    value: str
    target: str = ""


def main() -> None:
    """Measure every figure and print the table."""
    args = _arguments()
    os.environ.pop("OMP_THREAD_LIMIT", None)
    # Tesseract's per-page remarks would bury the table.
    logging.getLogger("ocrmypdf").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="cptflow-bench-") as folder:
        work = Path(folder)
        demo = _demo_inbox(work / "demo", seed=2026)
        # The demo's scans are one page each; the resent copy and the corrupt
        # file are left out.
        scans = sorted(p for p in demo.glob("scan_*.pdf") if SCAN.fullmatch(p.name))
        digital = _digital_pdfs(demo)

        figures = _ocr_versus_ocrmypdf(scans[: args.pages], work)
        figures += _workers_versus_threads(scans[: args.batch])
        figures += _text_layer_versus_ocr(digital, figures)
        figures += _end_to_end(work, args.documents)
    _print_table(figures)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=8, help="scanned pages to OCR")
    parser.add_argument("--batch", type=int, default=8, help="documents per batch")
    parser.add_argument(
        "--documents", type=int, default=100, help="documents end to end"
    )
    parser.add_argument("--quick", action="store_true", help="small sizes")
    args = parser.parse_args()
    if args.quick:
        args.pages, args.batch, args.documents = 3, 4, 22
    return args


def _demo_inbox(folder: Path, *, seed: int) -> Path:
    write_demo_inbox(
        folder / "inbox",
        answers_path=folder / "answers.json",
        received_date=RECEIVED,
        seed=seed,
    )
    return folder / "inbox"


def _digital_pdfs(inbox: Path) -> list[Path]:
    """The inbox's PDFs that have a text layer on every page."""
    found = []
    for path in sorted(inbox.glob("*.pdf")):
        try:
            pages = extract_pages(path, "pdf").pages
        except DocumentError:
            continue
        if pages and all(page.method == "text_layer" for page in pages):
            found.append(path)
    return found


def _pages(paths: list[Path]) -> int:
    return sum(count_pdf_pages(path) for path in paths)


def _ocr_versus_ocrmypdf(scans: list[Path], work: Path) -> list[Figure]:
    """Pages per second through cptflow's OCR and through plain ocrmypdf."""
    pages = _pages(scans)
    started = time.perf_counter()
    for path in scans:
        extract_pages(path, "pdf")
    ours = pages / (time.perf_counter() - started)

    started = time.perf_counter()
    for path in scans:
        # The settings cptflow uses: forced OCR, page rotation at our threshold,
        # one job, no deskew, no optimization of the output.
        ocrmypdf.ocr(
            path,
            work / f"plain_{path.name}",
            force_ocr=True,
            rotate_pages=True,
            rotate_pages_threshold=ROTATE_PAGES_THRESHOLD,
            jobs=1,
            optimize=0,
            output_type="pdf",
            progress_bar=False,
        )
    plain = pages / (time.perf_counter() - started)
    return [
        Figure(f"OCR, cptflow ({pages} pages)", f"{ours:.2f} pages/s"),
        Figure(f"OCR, plain ocrmypdf ({pages} pages)", f"{plain:.2f} pages/s"),
        Figure("OCR, cptflow / ocrmypdf", f"{ours / plain:.2f}x", ">= 0.9x"),
    ]


def _workers_versus_threads(scans: list[Path]) -> list[Figure]:
    """A batch in 2 single-threaded workers versus 1 process, default threads."""
    items = [(path.name, path, "pdf") for path in scans]
    timings = {}
    for workers in (1, 2):
        started = time.perf_counter()
        for _, outcome in extract_documents(items, workers=workers):
            if isinstance(outcome, Exception):
                raise outcome
        timings[workers] = time.perf_counter() - started
    return [
        Figure(
            f"batch of {len(items)}: 1 process, default threads",
            f"{timings[1]:.1f} s",
        ),
        Figure(
            f"batch of {len(items)}: 2 workers, 1 thread each",
            f"{timings[2]:.1f} s",
        ),
        Figure(
            "batch speed-up, 2 workers", f"{timings[1] / timings[2]:.2f}x", ">= 1.3x"
        ),
    ]


def _text_layer_versus_ocr(digital: list[Path], figures: list[Figure]) -> list[Figure]:
    """Seconds per page read from the text layer, against OCR's seconds per page."""
    pages = _pages(digital)
    started = time.perf_counter()
    for path in digital:
        extract_pages(path, "pdf")
    per_page = (time.perf_counter() - started) / pages
    ocr_rate = float(figures[0].value.split()[0])
    return [
        Figure(f"text layer ({pages} pages)", f"{per_page * 1000:.1f} ms/page"),
        Figure("text layer / OCR speed", f"{1 / (per_page * ocr_rate):.0f}x", ">= 50x"),
    ]


def _end_to_end(work: Path, documents: int) -> list[Figure]:
    """Documents per hour and peak memory of `cptflow run` on a mixed batch."""
    inbox = _mixed_batch(work / "batch", documents)
    count = sum(1 for p in inbox.iterdir() if p.name != "manifest.csv")
    env = {
        **os.environ,
        "CPTFLOW_HOME": str(work / "home"),
        "DAGSTER_HOME": str(work / "home" / "dagster"),
    }
    command = [str(CPTFLOW), "run", "--inbox", str(inbox), "--db"]
    command += [str(work / "bench.duckdb"), "--partition", RECEIVED.isoformat()]

    started = time.perf_counter()
    run = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    sampler = _TreeMemory(run.pid)
    sampler.start()
    _, stderr = run.communicate()
    seconds = time.perf_counter() - started
    sampler.stop()
    if run.returncode != 0:
        raise SystemExit(f"cptflow run failed:\n{stderr.decode()[-2000:]}")

    largest = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return [
        Figure(f"end to end, {count} mixed documents", f"{seconds:.0f} s"),
        Figure("end to end, documents per hour", f"{count / seconds * 3600:.0f}"),
        Figure("peak memory, whole process tree", f"{sampler.peak_mb:.0f} MB"),
        Figure("peak memory, largest process", f"{largest:.0f} MB"),
    ]


def _mixed_batch(folder: Path, documents: int) -> Path:
    """Demo inboxes of several seeds merged into one inbox of `documents` files."""
    inbox = folder / "inbox"
    inbox.mkdir(parents=True)
    rows: list[dict[str, str]] = []
    seed = 0
    while len(rows) < documents:
        source = _demo_inbox(folder / f"seed{seed}", seed=seed)
        with (source / "manifest.csv").open(encoding="utf-8") as handle:
            listed = {row["file"]: row for row in csv.DictReader(handle)}
        for path in sorted(source.iterdir()):
            if path.name == "manifest.csv" or len(rows) >= documents:
                continue
            name = f"s{seed}_{path.name}"
            shutil.copyfile(path, inbox / name)
            row = dict(listed.get(path.name) or {"file": path.name})
            row["file"] = name
            if row.get("encounter_id"):
                row["encounter_id"] = f"S{seed}-{row['encounter_id']}"
            rows.append(row)
        seed += 1
    columns = sorted({key for row in rows for key in row}, key=_column_order)
    with (inbox / "manifest.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, restval="")
        writer.writeheader()
        writer.writerows(rows)
    return inbox


def _column_order(name: str) -> tuple[int, str]:
    return (0 if name == "file" else 1, name)


class _TreeMemory:
    """Samples the resident memory of a process and its descendants."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_mb = 0.0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._done.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._done.wait(0.25):
            self.peak_mb = max(self.peak_mb, _tree_rss(self.pid) / 2**20)


def _tree_rss(root: int) -> int:
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent]
        tree.update(children)
        frontier.extend(children)
    total = 0
    for pid in tree:
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_SIZE
        except OSError:
            continue
    return total


def _print_table(figures: list[Figure]) -> None:
    machine = f"{platform.node()}: {os.cpu_count()} cores, {platform.platform()}"
    width = max(len(f.name) for f in figures)
    print(f"cptflow benchmark on {machine}, {time.strftime('%Y-%m-%d')}")
    print(f"{'measure':<{width}}  {'value':>16}  target")
    for figure in figures:
        print(f"{figure.name:<{width}}  {figure.value:>16}  {figure.target}")


if __name__ == "__main__":
    main()
