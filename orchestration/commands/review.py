"""`cptflow review`: the coder's queue and actions from the command line."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import duckdb
import typer
from rich.table import Table

from cptflow.orchestration.cli_support import app, err, out, setup_logging
from cptflow.orchestration.resources import connect_database
from cptflow.orchestration.settings import Paths

review_app = typer.Typer(
    help="The coder's review queue, code changes and physician queries.",
    no_args_is_help=True,
)
app.add_typer(review_app, name="review")

DbOption = Annotated[
    Path | None,
    typer.Option("--db", help="DuckDB file (default: $CPTFLOW_DB, else under home)."),
]
ReasonOption = Annotated[str, typer.Option("--reason", help="Why (kept in the trail).")]
LineOption = Annotated[int, typer.Option("--line", help="Working line number.", min=1)]
ModifiersOption = Annotated[
    str | None, typer.Option("--modifiers", help="Comma-separated, '' for none.")
]
UnitsOption = Annotated[int | None, typer.Option("--units", min=1, help="Units.")]
Icd10Option = Annotated[
    str | None, typer.Option("--icd10", help="Comma-separated ICD-10-CM codes.")
]


@contextmanager
def _connection(db: Path | None) -> Iterator[duckdb.DuckDBPyConnection]:
    """The pipeline database, or a one-line error and exit 2 when unusable."""
    path = Paths.from_env(db=db).db
    if not path.is_file():
        err.print(f"{path}: no such database (run `cptflow run` or `cptflow demo`)")
        raise typer.Exit(2)
    try:
        # With $CPTFLOW_DB_KEY set, the encrypted file opens with its key.
        conn = connect_database(path)
    except duckdb.Error as error:
        err.print(f"{path}: cannot be opened ({str(error).splitlines()[0]})")
        raise typer.Exit(1) from None
    try:
        yield conn
    finally:
        conn.close()


def _run(db: Path | None, action: Callable[[duckdb.DuckDBPyConnection], Any]) -> Any:
    """Run one review action; a refused action prints why and exits 1."""
    from cptflow.transforms.review import ReviewError

    setup_logging(False)
    with _connection(db) as conn:
        try:
            return action(conn)
        except ReviewError as error:
            err.print(f"{Paths.from_env(db=db).db}: {error}")
            raise typer.Exit(1) from None
        except duckdb.CatalogException as error:
            err.print(
                f"{Paths.from_env(db=db).db}: not a coded pipeline database "
                f"({str(error).splitlines()[0]})"
            )
            raise typer.Exit(2) from None


def _codes(value: str | None) -> list[str] | None:
    """A comma-separated option as a list; None when not given."""
    if value is None:
        return None
    return [part.strip().upper() for part in value.split(",") if part.strip()]


def _line_fields(
    reason: str, *, modifiers: str | None, units: int | None, icd10: str | None
) -> dict[str, Any]:
    """The reviewer, reason and line options an override or an addition passes on.

    Options not given are left out, so that override_line keeps what the line has
    and add_line uses its defaults (no modifiers, one unit, no diagnoses).
    """
    from cptflow.transforms.review import reviewer_name

    options = {
        "modifiers": _codes(modifiers),
        "units": units,
        "icd10cm_codes": _codes(icd10),
    }
    given = {name: value for name, value in options.items() if value is not None}
    return {"reviewer": reviewer_name(), "reason": reason, **given}


def _say(text: str) -> None:
    """Print data to standard output as written: no markup, no highlighting."""
    out.print(text, markup=False, highlight=False)


@review_app.command("list")
def list_queue(
    db: DbOption = None,
    format: Annotated[str, typer.Option("--format", help="table or jsonl.")] = "table",
) -> None:
    """Encounters waiting for a coder, most value at risk first; patients masked."""
    from cptflow.transforms.review import review_queue

    if format not in ("table", "jsonl"):
        raise typer.BadParameter("table or jsonl", param_hint="--format")
    queue = _run(db, review_queue)
    if format == "jsonl":
        for row in queue.iter_rows(named=True):
            sys.stdout.write(json.dumps(row, default=str) + "\n")
        return
    table = Table(title=f"Review queue: {queue.height} encounter(s)")
    for column in ("encounter", "patient", "charge", "age (days)", "status", "why"):
        table.add_column(column, no_wrap=column != "why")
    for row in queue.iter_rows(named=True):
        table.add_row(
            row["encounter_id"],
            row["patient_id_masked"],
            f"{row['charge_amount']:.2f}",
            str(row["age_days"]),
            row["review_status"],
            "; ".join(row["review_reasons"])[:60],
        )
    out.print(table)


@review_app.command()
def show(encounter: str, db: DbOption = None) -> None:
    """One encounter: patient, working codes, engine proposal, queries and trail."""
    from cptflow.transforms.review import encounter_page

    page = _run(db, lambda conn: encounter_page(conn, encounter))
    patient = page.patient
    _say(f"Encounter {encounter}  status: {page.status}")
    # A note without a demographics header has no patient yet: say so rather
    # than print "None" where a coder expects a name.
    unknown = "not stated"
    _say(
        f"Patient {patient.get('patient_id') or unknown}  "
        f"{patient.get('patient_name') or ''}  "
        f"born {patient.get('patient_birth_date') or unknown}  "
        f"DOS {page.encounter['date_of_service'] or unknown}  "
        f"NPI {page.encounter['rendering_npi'] or unknown}"
    )
    for reason in page.encounter["review_reasons"] or []:
        _say(f"  review: {reason}")
    _say("Working codes:")
    for line in page.lines:
        _say(
            f"  {line['line_number']}: {line['cpt_code']} "
            f"mod {','.join(line['modifiers']) or '-'} units {line['units']} "
            f"dx {','.join(line['icd10cm_codes']) or '-'}"
        )
    for query in page.queries:
        _say(f"Query {query['query_id']} [{query['event']}]: {query['question']}")
    _say("Audit trail:")
    for row in page.decisions.iter_rows(named=True):
        _say(
            f"  #{row['sequence_number']} {row['decided_at']:%Y-%m-%d %H:%M} "
            f"{row['actor']} {row['action']} line {row['line_number']}: "
            f"{row['before_code'] or '-'} -> {row['after_code'] or '-'}"
            + (f"  ({row['reason']})" if row["reason"] else "")
        )


@review_app.command()
def accept(
    encounter: str,
    db: DbOption = None,
    reason: Annotated[str | None, typer.Option("--reason")] = None,
) -> None:
    """Accept the encounter's working codes as final (they go on the claim)."""
    from cptflow.transforms.review import accept_encounter, reviewer_name

    state = _run(
        db,
        lambda conn: accept_encounter(
            conn, encounter, reviewer=reviewer_name(), reason=reason
        ),
    )
    out.print(f"{encounter}: {state.status}, {len(state.lines)} line(s) final")


@review_app.command()
def override(
    encounter: str,
    line: LineOption,
    reason: ReasonOption,
    cpt: Annotated[str | None, typer.Option("--cpt", help="New CPT/HCPCS.")] = None,
    modifiers: ModifiersOption = None,
    units: UnitsOption = None,
    icd10: Icd10Option = None,
    db: DbOption = None,
) -> None:
    """Change one working line's code, modifiers, units or diagnoses."""
    from cptflow.transforms.review import override_line

    fields = _line_fields(reason, modifiers=modifiers, units=units, icd10=icd10)
    state = _run(
        db,
        lambda conn: override_line(
            conn,
            encounter,
            line,
            cpt_code=cpt.strip().upper() if cpt else None,
            **fields,
        ),
    )
    changed = state.lines[line]
    out.print(f"{encounter} line {line}: now {changed['cpt_code']} ({state.status})")


@review_app.command()
def add(
    encounter: str,
    cpt: Annotated[str, typer.Option("--cpt", help="CPT/HCPCS to add.")],
    reason: ReasonOption,
    modifiers: ModifiersOption = None,
    units: UnitsOption = None,
    icd10: Icd10Option = None,
    db: DbOption = None,
) -> None:
    """Add a code line to the encounter."""
    from cptflow.transforms.review import add_line

    fields = _line_fields(reason, modifiers=modifiers, units=units, icd10=icd10)
    state = _run(
        db,
        lambda conn: add_line(conn, encounter, cpt_code=cpt.strip().upper(), **fields),
    )
    number = max(state.lines)
    out.print(f"{encounter} line {number}: added {state.lines[number]['cpt_code']}")


@review_app.command()
def remove(
    encounter: str, line: LineOption, reason: ReasonOption, db: DbOption = None
) -> None:
    """Remove a working line (the trail keeps what it was)."""
    from cptflow.transforms.review import remove_line, reviewer_name

    state = _run(
        db,
        lambda conn: remove_line(
            conn, encounter, line, reviewer=reviewer_name(), reason=reason
        ),
    )
    out.print(f"{encounter} line {line}: removed, {len(state.lines)} line(s) left")


@review_app.command()
def query(
    encounter: str,
    missing: Annotated[str, typer.Option("--missing", help="What is missing.")],
    question: Annotated[str, typer.Option("--question", help="For the physician.")],
    cpt: Annotated[str | None, typer.Option("--cpt", help="Code it blocks.")] = None,
    db: DbOption = None,
) -> None:
    """Raise a physician query; the encounter stays in review until it is answered."""
    from cptflow.transforms.review import raise_query, reviewer_name

    query_id = _run(
        db,
        lambda conn: raise_query(
            conn,
            encounter,
            reviewer=reviewer_name(),
            missing=missing,
            question=question,
            cpt_code=cpt,
        ),
    )
    out.print(query_id)


@review_app.command()
def answer(
    query_id: str,
    text: Annotated[str, typer.Option("--text", help="The physician's answer.")],
    db: DbOption = None,
) -> None:
    """Record a physician's answer as an addendum, re-code, and close the query."""
    from cptflow.transforms.review import answer_query, reviewer_name

    proposal_id = _run(
        db,
        lambda conn: answer_query(conn, query_id, text=text, reviewer=reviewer_name()),
    )
    out.print(f"{query_id}: answered and closed; new proposal {proposal_id}")
