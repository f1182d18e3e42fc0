"""`cptflow documents`: what became of every input file the pipeline has seen."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import duckdb
import typer

from cptflow.orchestration.cli_support import app, err, setup_logging
from cptflow.orchestration.resources import connect_database
from cptflow.orchestration.settings import Paths

# Each inbox file's latest registration, with a later OCR quarantine taking over
# from intake's verdict; then every 835 file of the remits folder.
DOCUMENTS_SQL = """
with latest as (
    select *
    from intake.documents
    qualify row_number() over (
        partition by file_path order by partition_date desc
    ) = 1
),
ocr_verdicts as (
    select document_id, partition_date, status, reason
    from ocr.document_status
)
select
    latest.file_name as file,
    case when ocr_verdicts.status = 'quarantined' then 'quarantined'
        else latest.status end as status,
    case when ocr_verdicts.status = 'quarantined' then ocr_verdicts.reason
        else latest.reason end as reason,
    latest.file_path as sort_key
from latest
left join ocr_verdicts
    on ocr_verdicts.document_id = latest.document_id
    and ocr_verdicts.partition_date = latest.partition_date
    and latest.status = 'processed'
"""

REMITTANCES_SQL = """
select file_name as file, status, reason, 'remits/' || file_name as sort_key
from remits.remittance_files
qualify row_number() over (
    partition by file_name order by partition_date desc, status desc
) = 1
"""


@app.command()
def documents(
    db: Annotated[
        Path | None,
        typer.Option("--db", help="DuckDB file (default: $CPTFLOW_DB, else home)."),
    ] = None,
    format: Annotated[str, typer.Option("--format", help="Output format.")] = "jsonl",
) -> None:
    """Print one JSON line per input file ever seen: processed, quarantined with
    its reason, or duplicate."""
    setup_logging(False)
    if format != "jsonl":
        raise typer.BadParameter("only jsonl is supported", param_hint="--format")
    path = Paths.from_env(db=db).db
    if not path.is_file():
        raise typer.BadParameter(f"{path} does not exist", param_hint="--db")

    try:
        rows = list_input_files(path)
    except duckdb.Error as error:
        err.print(f"{path}: cannot be read ({type(error).__name__})")
        raise typer.Exit(2) from None

    for row in rows:
        sys.stdout.write(json.dumps(row) + "\n")


def list_input_files(db: Path) -> list[dict[str, str | None]]:
    """Every input file's final status, inbox files first, in path order.

    Args:
        db: the pipeline's DuckDB file.

    Returns:
        Dicts with `file`, `status` and `reason` (None when processed or duplicate).

    Raises:
        duckdb.Error: when the file cannot be opened (locked, wrong key).
    """
    with connect_database(db, read_only=True) as conn:
        present = _tables_present(conn)
        queries = []
        if {"intake.documents", "ocr.document_status"} <= present:
            queries.append(DOCUMENTS_SQL)
        elif "intake.documents" in present:
            queries.append(DOCUMENTS_SQL.replace("ocr.document_status", _NO_STATUS))
        if "remits.remittance_files" in present:
            queries.append(REMITTANCES_SQL)
        if not queries:
            return []
        union = " union all ".join(f"({query})" for query in queries)
        rows = conn.execute(
            f"select file, status, reason from ({union}) order by sort_key"
        ).fetchall()
    return [
        {"file": file, "status": status, "reason": reason}
        for file, status, reason in rows
    ]


# Stands in for ocr.document_status before the OCR stage has ever run.
_NO_STATUS = (
    "(select null::varchar as document_id, null::date as partition_date, "
    "null::varchar as status, null::varchar as reason where false)"
)


def _tables_present(conn: duckdb.DuckDBPyConnection) -> set[str]:
    rows = conn.execute(
        "select table_schema || '.' || table_name from information_schema.tables"
    ).fetchall()
    return {name for (name,) in rows}
