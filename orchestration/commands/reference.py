"""`cptflow reference load`: load CMS reference files into the database."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import duckdb
import typer

from cptflow.orchestration.cli_support import app, err, setup_logging
from cptflow.orchestration.resources import connect_database
from cptflow.orchestration.settings import Paths
from cptflow.transforms.reference.load import (
    BUNDLED_DIR,
    ReferenceDataError,
    load_reference,
)

reference_app = typer.Typer(help="Versioned CMS reference data.", no_args_is_help=True)
app.add_typer(reference_app, name="reference")


@reference_app.command("load")
def load(
    db: Annotated[
        Path | None,
        typer.Option("--db", help="DuckDB file (default: $CPTFLOW_DB, else home)."),
    ] = None,
    source: Annotated[
        Path | None,
        typer.Option(help="Folder (or file) of CMS files (default: bundled extract)."),
    ] = None,
    version: Annotated[
        str | None, typer.Option(help="Version name (default: the folder's name).")
    ] = None,
    effective_from: Annotated[
        str | None, typer.Option(help="YYYY-MM-DD: first day the version is in force.")
    ] = None,
    effective_to: Annotated[
        str | None, typer.Option(help="YYYY-MM-DD: last day the version is in force.")
    ] = None,
) -> None:
    """Load reference files as one version with its effective period."""
    setup_logging(False)
    start = _date_option(effective_from, "--effective-from")
    end = _date_option(effective_to, "--effective-to")
    if start and end and end < start:
        raise typer.BadParameter("ends before it starts", param_hint="--effective-to")
    folder = source or BUNDLED_DIR
    if not folder.exists():
        raise typer.BadParameter(f"{folder} does not exist", param_hint="--source")

    db_path = Paths.from_env(db=db).db
    db_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with connect_database(db_path) as conn:
            loaded = load_reference(
                conn, folder, version=version, effective_from=start, effective_to=end
            )
    except (ReferenceDataError, duckdb.Error) as error:
        # A ReferenceDataError already names its file; DuckDB's do not.
        message = (
            str(error)
            if isinstance(error, ReferenceDataError)
            else f"{folder}: {error}"
        )
        err.print(message, highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(1) from None

    for entry in loaded:
        period = f"{entry.effective_from} to {entry.effective_to or 'open'}"
        err.print(
            f"{entry.table}: {entry.row_count} rows, version {entry.version}, "
            f"{period} ({entry.source_file})",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )


def _date_option(value: str | None, hint: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a date (YYYY-MM-DD)", param_hint=hint
        ) from None
