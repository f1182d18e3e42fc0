"""Where cptflow keeps its files: home folder, database and Dagster storage."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"


@dataclass(frozen=True)
class Paths:
    """Every location a run reads or writes, resolved once from the environment."""

    home: Path
    db: Path
    inbox: Path
    remits: Path
    claims_out: Path
    snapshot: Path
    dagster_home: Path

    @classmethod
    def from_env(cls, *, db: Path | None = None) -> Paths:
        """Resolve paths from `CPTFLOW_*` variables, with `--db` taking precedence."""
        home = Path(os.environ.get("CPTFLOW_HOME", Path.home() / ".cptflow"))
        db_path = db or Path(os.environ.get("CPTFLOW_DB", home / "cptflow.duckdb"))
        return cls(
            home=home,
            db=Path(db_path).resolve(),
            inbox=Path(os.environ.get("CPTFLOW_INBOX", home / "inbox")),
            remits=Path(os.environ.get("CPTFLOW_REMITS", home / "remits")),
            claims_out=Path(os.environ.get("CPTFLOW_CLAIMS_OUT", home / "claims_out")),
            snapshot=Path(os.environ.get("CPTFLOW_SNAPSHOT", home / "snapshot")),
            dagster_home=Path(os.environ.get("DAGSTER_HOME", home / "dagster")),
        )


def quiet_environment() -> None:
    """Turn off telemetry and usage pings of Dagster and dbt: no network at run time."""
    os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("STREAMLIT_BROWSER_GATHER_USAGE_STATS", "false")


def prepare_dagster_home(dagster_home: Path) -> None:
    """Create DAGSTER_HOME with telemetry off, so run history lives outside DuckDB."""
    dagster_home.mkdir(parents=True, exist_ok=True)
    config = dagster_home / "dagster.yaml"
    if not config.exists():
        config.write_text("telemetry:\n  enabled: false\n")
    os.environ["DAGSTER_HOME"] = str(dagster_home)
