"""Shared fixtures: a clean cptflow and Dagster home for the test session."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


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
