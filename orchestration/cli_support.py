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
# Error lines name a file: wrapping at the terminal's width would split its path.
err = Console(stderr=True, soft_wrap=True)
out = Console()

NOISY_LOGGERS = ("PyRuSH", "ocrmypdf", "great_expectations", "dagster")


class _QuietThirdParty(logging.Filter):
    """Drop third-party records below ERROR, even ones re-emitted from workers.

    ocrmypdf hands its worker processes' records to the parent's handlers
    directly, past any logger level, so the filter sits on the handler.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR:
            return True
        return not record.name.startswith(NOISY_LOGGERS)


def setup_logging(verbose: bool) -> None:
    """Logs go to standard error; third-party chatter stays off unless asked."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        stream=sys.stderr,
        format="%(levelname)s %(name)s: %(message)s",
    )
    for noisy in NOISY_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.WARNING if verbose else logging.ERROR)
    if not verbose:
        for handler in logging.getLogger().handlers:
            handler.addFilter(_QuietThirdParty())
