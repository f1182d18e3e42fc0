"""Shared fixtures: a contained cptflow home, and one demo run for the session."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner


@pytest.fixture(scope="session", autouse=True)
def _quiet_and_contained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Keep every test's cptflow and Dagster files in a temporary home."""
    home = tmp_path_factory.mktemp("cptflow-home")
    saved = {k: os.environ.get(k) for k in ("CPTFLOW_HOME", "DAGSTER_HOME")}
    os.environ["CPTFLOW_HOME"] = str(home)
    os.environ["DAGSTER_HOME"] = str(home / "dagster")
    os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@dataclass(frozen=True)
class DemoRun:
    """What one `cptflow demo` left behind: treat it as read-only (copy to change)."""

    exit_code: int
    output: str
    home: Path
    dagster_home: Path
    db: Path
    inbox: Path
    remits: Path
    answers: dict


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """Run `cptflow demo` once per test session, in its own home folder.

    OCR and two dbt builds make the demo the slowest thing the tests do, so every
    test that needs a real demo database shares this one.
    """
    from cptflow.orchestration.cli import app

    home = tmp_path_factory.mktemp("demo-home")
    saved = {k: os.environ.get(k) for k in ("CPTFLOW_HOME", "DAGSTER_HOME")}
    os.environ["CPTFLOW_HOME"] = str(home)
    os.environ["DAGSTER_HOME"] = str(home / "dagster")
    try:
        result = CliRunner().invoke(app, ["demo"], catch_exceptions=False)
    finally:
        for key, value in saved.items():
            if value is not None:
                os.environ[key] = value
    demo = home / "demo"
    return DemoRun(
        exit_code=result.exit_code,
        output=result.output,
        home=home,
        dagster_home=home / "dagster",
        db=demo / "cptflow.duckdb",
        inbox=demo / "inbox",
        remits=demo / "remits",
        answers=json.loads((demo / "answers.json").read_text()),
    )
