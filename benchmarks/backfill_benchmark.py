"""Benchmark a backfill of synthetic text notes, then the cost of one more day.

    .venv/bin/python benchmarks/backfill_benchmark.py --days 30 --per-day 200

Prints wall time, time per stage and peak memory of the backfill (one run), then
the run of one more day after it beside the run of a day of the same size on the
empty database: the day's cost should follow its documents, not the history.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
import threading
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from cptflow.transforms.demo.cast import make_cast
from cptflow.transforms.demo.inbox import MANIFEST_COLUMNS
from cptflow.transforms.demo.notes import NoteContext, load_kinds, render_note

if TYPE_CHECKING:
    from cptflow.orchestration.backfills import BackfillReport

# Kinds whose templates need no per-document facts, from E/M visits to imaging.
KINDS = (
    "office_established_low",
    "office_established_time",
    "chest_xray_two_views",
    "egd_diagnostic",
    "colonoscopy_screening_normal",
    "us_abdomen_complete",
)


def write_text_inbox(
    inbox: Path, *, first_day: date, days: int, per_day: int, seed: int = 7
) -> int:
    """Write `per_day` text notes received on each of `days` days, with a manifest.

    Every note is a different patient on its day, so no two files share bytes;
    the manifest gives each file its received date (its partition).

    Returns:
        The number of notes written.
    """
    inbox.mkdir(parents=True, exist_ok=True)
    cast = make_cast(per_day, seed=seed, today=first_day)
    kinds = load_kinds()
    rows = _read_manifest_rows(inbox / "manifest.csv")
    for offset in range(days):
        received = first_day + timedelta(days=offset)
        for number in range(1, per_day + 1):
            rows.append(_write_note(inbox, cast, kinds, received, number))
    with (inbox / "manifest.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=MANIFEST_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return days * per_day


def _write_note(inbox, cast, kinds, received: date, number: int) -> dict[str, str]:
    """One note, seen the day before it was received, and its manifest row."""
    kind = kinds[KINDS[number % len(KINDS)]]
    patient = cast.patients[number]
    service = received - timedelta(days=1)
    context = NoteContext.for_visit(kind, patient, cast, service)
    name = f"note_{received:%Y%m%d}_{number:04d}.txt"
    (inbox / name).write_text(render_note(kind, context), encoding="utf-8")
    return {
        "file": name,
        "encounter_id": f"ENC-{received:%Y%m%d}-{number:04d}",
        "patient_id": patient.patient_id,
        "patient_name": patient.name,
        "patient_birth_date": patient.birth_date.isoformat(),
        "patient_sex": patient.sex,
        "date_of_service": service.isoformat(),
        "rendering_npi": context.provider.npi,
        "billing_npi": cast.billing_npi,
        "payer_id": patient.payer.payer_id,
        "place_of_service": kind.place_of_service,
        "received_date": received.isoformat(),
    }


def _read_manifest_rows(path: Path) -> list[dict[str, str]]:
    """The rows already in a manifest, so a later day adds to it."""
    if not path.exists():
        return []
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


class TreeMemory:
    """Samples the resident memory of this process and all its descendants.

    Step processes are forked by the executor's forkserver, not by this process,
    so getrusage's children figure misses them; /proc sees the whole tree.
    """

    def __init__(self, interval: float = 0.5) -> None:
        self.peak_mb = 0.0
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.peak_mb = max(self.peak_mb, _tree_rss_mb(os.getpid()))


def _tree_rss_mb(root: int) -> float:
    """Resident memory of `root` and its descendants, in MB."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        pid = int(entry.name)
        parents[pid] = int(fields.get("PPid", "0"))
        rss[pid] = int(fields.get("VmRSS", "0 kB").split()[0])
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [p for p, pp in parents.items() if pp == parent]
        tree.update(children)
        frontier.extend(children)
    return sum(rss.get(pid, 0) for pid in tree) / 1024


def _stage_rows(step_seconds: dict[str, float], days: int) -> list[tuple[str, str]]:
    """Per-stage seconds, total and per day."""
    return [
        (f"  {step}", f"{seconds:8.1f} s  ({seconds / days:5.2f} s/day)")
        for step, seconds in sorted(step_seconds.items(), key=lambda kv: -kv[1])
    ]


def _day_rows(first: BackfillReport, more: BackfillReport) -> list[tuple[str, str]]:
    """Per-stage seconds of a day on the empty database and one more day after."""
    steps = sorted(more.step_seconds, key=lambda step: -more.step_seconds[step])
    return [
        (
            f"  {step}",
            f"{first.step_seconds.get(step, 0.0):8.1f} s  "
            f"{more.step_seconds[step]:8.1f} s",
        )
        for step in steps
    ]


def main() -> None:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--per-day", type=int, default=200)
    parser.add_argument("--executor", default="multiprocess")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="cptflow-bench-"))
    os.environ["CPTFLOW_HOME"] = str(work)
    os.environ["DAGSTER_HOME"] = str(work / "dagster")
    from cptflow.orchestration.backfills import run_backfill
    from cptflow.orchestration.settings import Paths

    first = date(2026, 10, 1)
    inbox = work / "inbox"
    paths = Paths.from_env(db=work / "cptflow.duckdb")
    paths = Paths(**{**paths.__dict__, "inbox": inbox, "remits": work / "remits"})

    # A day of the same size on the empty database: the cost without history.
    empty_day = first - timedelta(days=1)
    write_text_inbox(inbox, first_day=empty_day, days=1, per_day=args.per_day, seed=9)
    alone = run_backfill(paths, [empty_day], executor=args.executor, with_marts=False)

    notes = write_text_inbox(
        inbox, first_day=first, days=args.days, per_day=args.per_day
    )
    days = [first + timedelta(days=n) for n in range(args.days)]
    with TreeMemory() as memory:
        report = run_backfill(paths, days, executor=args.executor)
    marts = report.step_seconds.pop("dbt_marts", 0.0)

    extra = first + timedelta(days=args.days)
    write_text_inbox(inbox, first_day=extra, days=1, per_day=args.per_day, seed=8)
    one_more = run_backfill(paths, [extra], executor=args.executor, with_marts=False)

    python_stages = sum(report.step_seconds.values())
    runs = [alone, report, one_more]
    rows = [
        ("notes", f"{notes} ({args.days} days x {args.per_day}), {args.executor}"),
        ("backfill wall time (1 run + marts)", f"{report.seconds:8.1f} s"),
        ("  Python stages, summed", f"{python_stages:8.1f} s"),
        *_stage_rows(report.step_seconds, args.days),
        ("  dbt marts, once at the end", f"{marts:8.1f} s"),
        ("peak memory, all processes", f"{memory.peak_mb:.0f} MB"),
        (
            f"a day of {args.per_day}: empty db / after",
            f"{alone.seconds:8.1f} s  {one_more.seconds:8.1f} s  (wall)",
        ),
        *_day_rows(alone, one_more),
        ("all runs succeeded", str(all(run.success for run in runs))),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        sys.stdout.write(f"{name:<{width}}  {value}\n")


if __name__ == "__main__":
    main()
