"""What every `cptflow` command shares: the Typer app, consoles and logging."""

from __future__ import annotations

import logging
import sys

import typer
from rich.console import Console

app = typer.Typer(
    help="cptflow: clinical documents in, coded claims and denial marts out.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# Standard output carries only a command's data (JSON lines, tables asked for);
# progress, logs and messages go to standard error.
err = Console(stderr=True)
out = Console()

NOISY_LOGGERS = ("PyRuSH", "ocrmypdf", "great_expectations", "dagster")


def setup_logging(verbose: bool) -> None:
    """Logs go to standard error; third-party chatter stays off unless asked."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        stream=sys.stderr,
        format="%(levelname)s %(name)s: %(message)s",
    )
    for noisy in NOISY_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.WARNING if verbose else logging.ERROR)
