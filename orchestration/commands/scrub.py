"""`cptflow scrub`: check one claim file with the pipeline's edits and print them."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import duckdb
import polars as pl
import typer

from cptflow.orchestration.cli_support import app, err, setup_logging
from cptflow.orchestration.resources import connect_database
from cptflow.transforms.reference.load import has_reference_data, load_bundled

DbOption = Annotated[
    Path | None,
    typer.Option("--db", help="DuckDB file with reference data (default: bundled)."),
]


@app.command()
def scrub(
    claim: Annotated[Path, typer.Argument(help="A CLAIM.json file.")],
    db: DbOption = None,
) -> None:
    """Scrub one claim; exit 0 when no edit rejects it, 1 when one does."""
    setup_logging(False)
    from cptflow.transforms.scrubbing.claim_input import ClaimInputError, read_claim
    from cptflow.transforms.scrubbing.engine import has_reject
    from cptflow.transforms.scrubbing.engine import scrub as scrub_claims

    try:
        claims, lines = read_claim(claim)
    except ClaimInputError as error:
        err.print(str(error), highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(2) from None

    if db is not None and not db.is_file():
        err.print(f"{db}: no such database (--db)", highlight=False, soft_wrap=True)
        raise typer.Exit(2)
    conn = _reference_connection(db)
    try:
        edits = scrub_claims(conn, claims, lines)
    finally:
        conn.close()

    sys.stdout.write(json.dumps(_claim_json(claims["claim_id"][0], edits)) + "\n")
    raise typer.Exit(1 if has_reject(edits) else 0)


def _reference_connection(db: Path | None) -> duckdb.DuckDBPyConnection:
    """The database's reference data, else the bundled extract in memory."""
    if db is not None:
        conn = connect_database(db, read_only=True)
        if has_reference_data(conn):
            return conn
        conn.close()
        err.print(
            f"{db}: no reference data loaded; scrubbing against the bundled extract",
            highlight=False,
            soft_wrap=True,
        )
    conn = duckdb.connect()
    load_bundled(conn)
    return conn


def _claim_json(claim_id: str | None, edits: pl.DataFrame) -> dict[str, object]:
    return {
        "claim_id": claim_id,
        "edits": [
            {
                "rule": edit["rule_id"],
                "severity": edit["severity"],
                "lines": edit["line_numbers"],
                "codes": edit["codes"],
                "message": edit["message"],
                "fix": edit["fix"],
            }
            for edit in edits.iter_rows(named=True)
        ],
    }
