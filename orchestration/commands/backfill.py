"""`cptflow backfill`: the Python stages for a range of days, then the marts once."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from cptflow.orchestration.cli_support import app, err, setup_logging
from cptflow.orchestration.executors import (
    EXECUTOR_ENV,
    EXECUTOR_NAMES,
    ExecutorChoiceError,
    executor_name,
)
from cptflow.orchestration.partitions import outside_window
from cptflow.orchestration.settings import Paths, quiet_environment

if TYPE_CHECKING:
    from cptflow.orchestration.backfills import BackfillReport

# A backfill longer than this is almost always a typo in a year.
MAX_DAYS = 3660


@app.command()
def backfill(
    from_date: Annotated[
        str, typer.Option("--from", help="First day (YYYY-MM-DD), included.")
    ],
    to_date: Annotated[
        str, typer.Option("--to", help="Last day (YYYY-MM-DD), included.")
    ],
    inbox: Annotated[
        Path | None, typer.Option(help="Folder of clinical documents.")
    ] = None,
    remits: Annotated[
        Path | None, typer.Option(help="Folder of 835 remittance files.")
    ] = None,
    db: Annotated[
        Path | None, typer.Option("--db", help="DuckDB file (default: $CPTFLOW_DB).")
    ] = None,
    executor: Annotated[
        str | None,
        typer.Option(
            help=f"{' | '.join(EXECUTOR_NAMES)} (default: $CPTFLOW_EXECUTOR, "
            "else multiprocess)."
        ),
    ] = None,
    verbose: Annotated[bool, typer.Option(help="Show stage logs.")] = False,
) -> None:
    """Re-materialize every day from --from to --to, replacing each day's rows.

    The days are one Dagster run (visible in `cptflow ui`); the dbt marts are
    rebuilt once after the last day instead of once per day.
    """
    setup_logging(verbose)
    days = _days(from_date, to_date)
    chosen = _executor(executor)
    paths = _paths(db, inbox, remits)

    from cptflow.orchestration.backfills import run_backfill

    report = run_backfill(
        paths,
        days,
        executor=chosen,
        log_level="INFO" if verbose else "CRITICAL",
    )
    _print_report(report, days)
    raise typer.Exit(0 if report.success else 1)


def _days(first: str, last: str) -> list[date]:
    """Every day from first to last, or a usage error (exit 2)."""
    start, end = _date(first, "--from"), _date(last, "--to")
    if end < start:
        raise typer.BadParameter(f"{last} is before {first}", param_hint="--to")
    count = (end - start).days + 1
    if count > MAX_DAYS:
        raise typer.BadParameter(
            f"{count} days is more than {MAX_DAYS}", param_hint="--to"
        )
    return [start + timedelta(days=n) for n in range(count)]


def _date(value: str, option: str) -> date:
    """A YYYY-MM-DD option value as a date."""
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a date (YYYY-MM-DD)", param_hint=option
        ) from None
    reason = outside_window(day)
    if reason:
        raise typer.BadParameter(reason, param_hint=option)
    return day


def _executor(value: str | None) -> str:
    """The executor from the option, else the environment, else multiprocess."""
    choice = value or os.environ.get(EXECUTOR_ENV) or "multiprocess"
    try:
        return executor_name({EXECUTOR_ENV: choice})
    except ExecutorChoiceError as error:
        raise typer.BadParameter(str(error), param_hint="--executor") from None


def _paths(db: Path | None, inbox: Path | None, remits: Path | None) -> Paths:
    """Paths from the environment with the options applied and checked."""
    for folder, hint in ((inbox, "--inbox"), (remits, "--remits")):
        if folder is not None and not folder.is_dir():
            raise typer.BadParameter(f"{folder} is not a folder", param_hint=hint)
    quiet_environment()
    base = Paths.from_env(db=db)
    return replace(
        base,
        inbox=(inbox or base.inbox).resolve(),
        remits=(remits or base.remits).resolve(),
    )


def _print_report(report: BackfillReport, days: list[date]) -> None:
    """One line per failed run of days, and a summary table on standard error."""
    failed = [r for r in report.runs if not r.success]
    for run in failed:
        err.print(f"[red]Partitions {run.partition_key} failed[/red]")
        for reason in run.failures:
            err.print(f"  {reason}")
    if report.marts is not None and not report.marts.success:
        err.print("[red]The dbt marts failed[/red]")
        for reason in report.marts.failures:
            err.print(f"  {reason}")

    table = Table(title=f"cptflow backfill {days[0]} .. {days[-1]}")
    table.add_column("")
    table.add_column("", justify="right")
    table.add_row("days", str(len(days)))
    table.add_row("runs", str(len(report.runs)))
    table.add_row("days failed", str(sum(r.day_count for r in failed)))
    table.add_row("marts", "ok" if report.marts and report.marts.success else "-")
    table.add_row("wall time", f"{report.seconds:.1f} s")
    table.add_row("backfill tag", f"cptflow/backfill={report.backfill_id}")
    err.print(table)
