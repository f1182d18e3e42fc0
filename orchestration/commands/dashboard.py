"""`cptflow dashboard`: the analysts' Streamlit dashboard over the latest snapshot."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from cptflow.orchestration.cli_support import app, err, setup_logging
from cptflow.orchestration.settings import REPO_ROOT, Paths, quiet_environment

APP_PATH = REPO_ROOT / "dashboard" / "app.py"


def streamlit_command(app_path: Path, *, port: int) -> list[str]:
    """The Streamlit command serving the app on localhost only, without telemetry."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(app_path),
        "--server.address=127.0.0.1",
        f"--server.port={port}",
        "--server.headless=true",
        "--browser.gatherUsageStats=false",
        "--global.developmentMode=false",
    ]


@app.command()
def dashboard(
    snapshot: Annotated[
        Path | None,
        typer.Option(help="Snapshot folder (default: $CPTFLOW_SNAPSHOT, else home)."),
    ] = None,
    port: Annotated[int, typer.Option(help="Port on localhost.", min=1)] = 8501,
) -> None:
    """Serve the denial dashboard on 127.0.0.1 from the pipeline's snapshot."""
    setup_logging(False)
    quiet_environment()
    root = (snapshot or Paths.from_env().snapshot).resolve()
    if not (root / "CURRENT").is_file():
        err.print(
            f"{root}: no snapshot published yet (run `cptflow run` or `cptflow demo`)",
            soft_wrap=True,
        )
        raise typer.Exit(2)

    env = {
        **os.environ,
        "CPTFLOW_SNAPSHOT": str(root),
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
        "STREAMLIT_SERVER_HEADLESS": "true",
    }
    err.print(f"Dashboard on http://127.0.0.1:{port} (snapshot {root})")
    try:
        completed = subprocess.run(
            streamlit_command(APP_PATH, port=port), env=env, check=False
        )
    except KeyboardInterrupt:
        raise typer.Exit(0) from None
    raise typer.Exit(0 if completed.returncode in (0, -2) else 1)
