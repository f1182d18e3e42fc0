"""The `cptflow` command line: demo, run, code, evaluate, remit and ui.

Further commands live one per module in `orchestration/commands/`; each registers
itself on the shared `app` from `cli_support` and is imported at the end here.
"""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import shutil
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cptflow.orchestration.cli_support import app, err, setup_logging
from cptflow.orchestration.settings import (
    Paths,
    prepare_dagster_home,
    quiet_environment,
)

# The demo's documents arrive on a fixed day (a Monday) so that its output is
# reproducible; the simulated payer pays on the Friday of the next week, as it does
# each history week (transforms/demo/history.yaml).
DEMO_RECEIVED = date(2026, 11, 2)
DEMO_PAYMENT = DEMO_RECEIVED + timedelta(days=11)

DbOption = Annotated[
    Path | None,
    typer.Option("--db", help="DuckDB file (default: $CPTFLOW_DB, else under home)."),
]


@app.command()
def run(
    inbox: Annotated[
        Path, typer.Option(help="Folder of clinical documents and optional manifest.")
    ],
    remits: Annotated[
        Path | None, typer.Option(help="Folder of 835 remittance files.")
    ] = None,
    db: DbOption = None,
    partition: Annotated[
        str | None,
        typer.Option(help="YYYY-MM-DD: assign every inbox file to this received date."),
    ] = None,
    verbose: Annotated[bool, typer.Option(help="Show stage logs.")] = False,
) -> None:
    """Materialize every stage for the documents in INBOX (and remittances)."""
    setup_logging(verbose)
    if not inbox.is_dir():
        raise typer.BadParameter(f"{inbox} is not a folder", param_hint="--inbox")
    if remits is not None and not remits.is_dir():
        raise typer.BadParameter(f"{remits} is not a folder", param_hint="--remits")
    chosen = _parse_partition(partition)

    paths = _paths(db, inbox=inbox, remits=remits)
    partitions = [chosen] if chosen else _partitions_present(paths)
    if not partitions:
        err.print(f"Nothing to do: {inbox} holds no documents or remittances.")
        raise typer.Exit(0)
    ok = _run_and_report(paths, partitions, assign=chosen is not None, verbose=verbose)
    raise typer.Exit(0 if ok else 1)


@app.command()
def demo(
    db: DbOption = None,
    verbose: Annotated[bool, typer.Option(help="Show stage logs.")] = False,
) -> None:
    """Write a demo inbox of fake patients' documents and a few weeks of history
    notes, run the pipeline on each week, let a simulated payer answer each week
    with 835s, and post them."""
    setup_logging(verbose)
    from cptflow.transforms.demo import write_demo_inbox
    from cptflow.transforms.demo.history import write_demo_history

    home = Path(os.environ.get("CPTFLOW_HOME", Path.home() / ".cptflow")) / "demo"
    inbox, remits, history = home / "inbox", home / "remits", home / "history"
    for folder in (inbox, remits, history):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    db_path = db or home / "cptflow.duckdb"
    written = write_demo_inbox(
        inbox, answers_path=home / "answers.json", received_date=DEMO_RECEIVED
    )
    weeks = write_demo_history(
        history,
        answers_path=home / "history_answers.json",
        main_received_date=DEMO_RECEIVED,
    )
    err.print(f"Demo inbox: {len(written.paths)} files in {inbox}")
    err.print(
        f"Demo history: {sum(len(w.paths) for w in weeks)} text notes in "
        f"{len(weeks)} weekly folders under {history}"
    )

    # Every week's documents, oldest first; the marts are built once, at the end.
    received = [(week.received_date, week.folder) for week in weeks]
    received.append((DEMO_RECEIVED, inbox))
    for day, folder in sorted(received):
        paths = _paths(db_path, inbox=folder, remits=remits)
        if not _run_and_report(
            paths, [day], assign=True, verbose=verbose, stages="documents"
        ):
            raise typer.Exit(1)

    paths = _paths(db_path, inbox=inbox, remits=remits)
    lag = {week.received_date: week.payment_date for week in weeks}
    lag[DEMO_RECEIVED] = DEMO_PAYMENT
    files = _simulate_payer(paths, lag)
    err.print(f"Payer simulator wrote {len(files)} remittance file(s) to {remits}")
    payment_dates = sorted(set(lag.values()))
    for day in payment_dates:
        stages = "remits" if day == payment_dates[-1] else "remits_only"
        if not _run_and_report(
            paths, [day], assign=False, verbose=verbose, stages=stages
        ):
            raise typer.Exit(1)
    err.print(f"Demo database: {db_path} (give the other commands --db to read it)")
    raise typer.Exit(0)


@app.command()
def code(
    files: Annotated[list[Path], typer.Argument(help="Documents to code.")],
    format: Annotated[str, typer.Option("--format", help="Output format.")] = "jsonl",
    verbose: Annotated[bool, typer.Option(help="Show logs.")] = False,
) -> None:
    """Code documents with the pipeline's own transforms; one JSON line per file."""
    setup_logging(verbose)
    if format != "jsonl":
        raise typer.BadParameter("only jsonl is supported", param_hint="--format")
    from cptflow.transforms.code_files import code_file

    failed = 0
    for path in files:
        coded = code_file(path)
        sys.stdout.write(json.dumps(coded) + "\n")
        sys.stdout.flush()
        if "error" in coded:
            err.print(f"{path}: not coded ({coded['error']})", highlight=False)
            failed += 1

    # The batch goes on past a bad file, but a script must see that one failed.
    if failed:
        err.print(f"{failed} of {len(files)} file(s) not coded", highlight=False)
        raise typer.Exit(1)


@app.command()
def remit(
    file: Annotated[Path, typer.Argument(help="An 835 remittance file.")],
    format: Annotated[str, typer.Option("--format", help="Output format.")] = "jsonl",
) -> None:
    """Print an 835's service-line payments, adjustments and denial categories."""
    setup_logging(False)
    if format != "jsonl":
        raise typer.BadParameter("only jsonl is supported", param_hint="--format")
    from cptflow.transforms.errors import X12Error
    from cptflow.transforms.remits import remit_json_objects
    from cptflow.transforms.x12.remit835 import parse_835

    try:
        data = file.read_bytes()
    except OSError as error:
        err.print(f"{file}: cannot be read ({error.strerror})")
        raise typer.Exit(2) from None
    try:
        objects = remit_json_objects(parse_835(data, file_name=file.name))
    except X12Error as error:
        err.print(str(error))
        raise typer.Exit(1) from None
    for obj in objects:
        sys.stdout.write(json.dumps(obj) + "\n")


@app.command()
def evaluate(
    gold: Annotated[Path, typer.Option(help="Gold labels, JSONL (eval schema).")],
    mtsamples: Annotated[
        Path | None,
        typer.Option(
            help="MTSamples CSV (default: mtsamples.csv beside the gold's data folder)."
        ),
    ] = None,
    predictions: Annotated[
        Path | None, typer.Option(help="Also write the predictions JSONL here.")
    ] = None,
    verbose: Annotated[bool, typer.Option(help="List every wrong document.")] = False,
) -> None:
    """Code the gold set's notes with `cptflow code` and print how right it was."""
    setup_logging(False)
    from cptflow.orchestration.evaluate_report import run_evaluation

    if not gold.is_file():
        raise typer.BadParameter(f"{gold} is not a file", param_hint="--gold")
    source = mtsamples or gold.resolve().parents[1] / "data/mtsamples/mtsamples.csv"
    if not source.is_file():
        raise typer.BadParameter(f"{source} is not a file", param_hint="--mtsamples")
    run_evaluation(gold, source, predictions_path=predictions, verbose=verbose)


@app.command()
def ui(
    db: DbOption = None,
    port: Annotated[int, typer.Option(help="Port on localhost.")] = 3000,
) -> None:
    """Start the Dagster webserver and daemon on localhost (schedules need both)."""
    from cptflow.orchestration.executors import ensure_instance_settings

    paths = _paths(db)
    prepare_dagster_home(paths.dagster_home)
    ensure_instance_settings(paths.dagster_home)
    env = {**os.environ, "CPTFLOW_DB": str(paths.db)}
    module = ["-m", "cptflow.orchestration.definitions"]
    bin_dir = Path(sys.executable).parent
    daemon = subprocess.Popen([bin_dir / "dagster-daemon", "run", *module], env=env)
    try:
        subprocess.run(
            [
                bin_dir / "dagster-webserver",
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
                *module,
            ],
            env=env,
            check=False,
        )
    finally:
        daemon.terminate()
        daemon.wait(timeout=30)


def _parse_partition(value: str | None) -> date | None:
    """A --partition value as a date, or a usage error (exit 2)."""
    if value is None:
        return None
    from cptflow.orchestration.partitions import outside_window

    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a date (YYYY-MM-DD)", param_hint="--partition"
        ) from None
    reason = outside_window(day)
    if reason:
        raise typer.BadParameter(reason, param_hint="--partition")
    return day


def _paths(
    db: Path | None, *, inbox: Path | None = None, remits: Path | None = None
) -> Paths:
    """Paths from the environment with the command's options applied."""
    quiet_environment()
    base = Paths.from_env(db=db)
    paths = Paths(
        home=base.home,
        db=base.db,
        inbox=(inbox or base.inbox).resolve(),
        remits=(remits or base.remits).resolve(),
        claims_out=base.claims_out,
        snapshot=base.snapshot,
        dagster_home=base.dagster_home,
    )
    os.environ["CPTFLOW_DB"] = str(paths.db)
    return paths


def _partitions_present(paths: Paths) -> list[date]:
    """Received dates of the inbox's files and payment dates of its remittances."""
    from cptflow.orchestration.partitions import outside_window
    from cptflow.transforms.inbox_partitions import inbox_files_by_received_date
    from cptflow.transforms.manifest import read_manifest
    from cptflow.transforms.x12.remit835 import payment_dates

    files = inbox_files_by_received_date(paths.inbox, read_manifest(paths.inbox))
    if paths.remits.is_dir():
        for path in sorted(paths.remits.iterdir()):
            if path.is_file():
                for day in payment_dates(path.read_bytes(), file_name=path.name):
                    files.setdefault(day, []).append(path)

    # A file dated outside the partitions stays where it is, named, and the rest
    # of the batch goes on; its date can be set in the manifest or --partition.
    for day, day_files in sorted(files.items()):
        reason = outside_window(day)
        for path in day_files if reason else []:
            err.print(f"{path}: skipped: {reason}", highlight=False, soft_wrap=True)
    return sorted(day for day in files if outside_window(day) is None)


def _run_and_report(
    paths: Paths,
    partitions: list[date],
    *,
    assign: bool,
    verbose: bool,
    stages: str = "all",
) -> bool:
    """Run the partitions, print what each stage produced, and say if all passed.

    `stages` picks what runs: `all`; `documents` (every stage but remittances and
    what reads them: the marts are rebuilt later); `remits` (remittances and the
    marts and reports downstream); `remits_only` (just post the remittances).
    """
    from dagster import AssetKey

    from cptflow.orchestration.definitions import (
        DOWNSTREAM_OF_REMITTANCES,
        build_definitions,
    )
    from cptflow.orchestration.runner import run_partitions

    defs = build_definitions(paths, assign_partition=assign)
    remits_key = AssetKey(["remits", "remittance_lines"])
    selection = None
    if stages == "remits":
        # Remittances arrive on their own day: post them and rebuild the marts
        # without re-reading documents.
        selection = [remits_key, *DOWNSTREAM_OF_REMITTANCES]
    elif stages == "remits_only":
        selection = [remits_key]
    elif stages == "documents":
        later = {remits_key, *DOWNSTREAM_OF_REMITTANCES}
        every_key = defs.resolve_asset_graph().get_all_asset_keys()
        selection = sorted(
            (
                key
                for key in every_key
                if key not in later and _is_materializable(defs, key)
            ),
            key=lambda key: key.to_user_string(),
        )
    with (
        err.status(f"Running {len(partitions)} partition(s)...")
        if err.is_terminal
        else _nothing()
    ):
        runs = run_partitions(
            defs,
            paths,
            partitions,
            asset_keys=selection,
            log_level="INFO" if verbose else "CRITICAL",
        )

    _print_counts(paths, partitions)
    for partition_run in runs:
        if not partition_run.success:
            err.print(f"[red]Partition {partition_run.partition_key} failed[/red]")
            for reason in partition_run.failures:
                err.print(f"  {reason}")
    return all(r.success for r in runs)


def _print_counts(paths: Paths, partitions: list[date]) -> None:
    """A table of rows per stage for these partitions and rows per mart."""
    from cptflow.orchestration.runner import mart_counts, stage_counts

    if not paths.db.exists():
        return
    table = Table(title=f"cptflow run: {', '.join(p.isoformat() for p in partitions)}")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, count in stage_counts(str(paths.db), partitions):
        table.add_row(name, str(count))
    for name, count in mart_counts(str(paths.db)):
        table.add_row(name, str(count))
    err.print(table)


class _nothing:
    """A do-nothing context manager for output that is not a terminal."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _is_materializable(defs, key) -> bool:
    """Whether the key is an asset the job can run (not a source or seed input)."""
    return defs.resolve_asset_graph().get(key).is_materializable


def _simulate_payer(paths: Paths, payment_dates: dict[date, date]) -> list[Path]:
    """Adjudicate each received day's ready claims as an outside payer, on the
    payment date given for that day, and write the 835 files."""
    from cptflow.orchestration.resources import connect_database
    from cptflow.transforms.payer import PaymentRun, adjudicate_runs_to_files

    runs = []
    with connect_database(paths.db, read_only=True) as conn:
        for received, payment in sorted(payment_dates.items()):
            claims = conn.execute(
                "select * from claims.claims"
                " where partition_date = ? and status = 'ready'",
                [received],
            ).pl()
            lines = conn.execute(
                "select * from claims.claim_lines where partition_date = ?",
                [received],
            ).pl()
            runs.append(PaymentRun(payment, claims, lines))
    return adjudicate_runs_to_files(runs, folder=paths.remits)


def _register_commands() -> None:
    """Import every module of orchestration/commands so its commands register."""
    from cptflow.orchestration import commands

    for module in pkgutil.iter_modules(commands.__path__):
        importlib.import_module(f"{commands.__name__}.{module.name}")


_register_commands()


def main() -> None:
    """The `cptflow` entry point: no traceback reaches the user.

    Expected failures are reported by each command with the file and reason; an
    unexpected one is reported in one line (set CPTFLOW_DEBUG=1 for the trace).
    """
    try:
        app()
    except Exception as error:
        if os.environ.get("CPTFLOW_DEBUG"):
            raise
        err.print(f"cptflow: unexpected {type(error).__name__}: {error}")
        sys.exit(1)


if __name__ == "__main__":
    main()
