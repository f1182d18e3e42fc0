"""`cptflow review-desk`: the coders' review page, a Streamlit app of its own.

It writes coder decisions to the pipeline's DuckDB file, so it is served apart
from the analysts' dashboard, which only ever reads a snapshot.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Annotated

import typer

from cptflow.orchestration.cli_support import app, err, setup_logging
from cptflow.orchestration.commands.dashboard import streamlit_command
from cptflow.orchestration.settings import REPO_ROOT, Paths, quiet_environment

PAGE_PATH = REPO_ROOT / "dashboard" / "review_queue.py"


@app.command("review-desk")
def review_desk(
    db: Annotated[
        Path | None,
        typer.Option("--db", help="DuckDB file (default: $CPTFLOW_DB, else home)."),
    ] = None,
    port: Annotated[int, typer.Option(help="Port on localhost.", min=1)] = 8502,
) -> None:
    """Serve the review queue and encounter pages on 127.0.0.1."""
    setup_logging(False)
    quiet_environment()
    database = Paths.from_env(db=db).db
    if not database.is_file():
        err.print(f"{database}: no pipeline database yet (run `cptflow demo`)")
        raise typer.Exit(2)
    env = {**os.environ, "CPTFLOW_DB": str(database)}
    err.print(f"Review desk on http://127.0.0.1:{port} ({database})")
    subprocess.run(streamlit_command(PAGE_PATH, port=port), env=env, check=False)
