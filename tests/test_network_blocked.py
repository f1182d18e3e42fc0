"""No network at run time: the pipeline runs inside a network namespace of its own."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

CPTFLOW = Path(sys.executable).parent / "cptflow"
NOTE = """PROCEDURE PERFORMED: Colonoscopy.
INDICATION: Screening for colon cancer in a patient at average risk.
FINDINGS: The colonoscope was advanced to the cecum. No polyps were seen.
IMPRESSION: Normal colonoscopy. Repeat the screening in ten years.
"""
MANIFEST = (
    "file,patient_id,patient_name,patient_birth_date,patient_sex,date_of_service,"
    "rendering_npi,billing_npi,payer_id,place_of_service\n"
    "note.txt,PT0000001,Test Patient,1960-01-01,F,2026-10-30,1158813992,"
    "2317784868,60054,24\n"
)


def _offline(
    args: list[str], home: Path, *, key: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a command with `unshare -n`: a new network namespace, loopback only."""
    env = {
        **os.environ,
        "CPTFLOW_HOME": str(home),
        "DAGSTER_HOME": str(home / "dagster"),
    }
    env.pop("CPTFLOW_DB_KEY", None)
    if key is not None:
        env["CPTFLOW_DB_KEY"] = key
    return subprocess.run(
        ["unshare", "-n", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )


@pytest.fixture(scope="module", autouse=True)
def _needs_unshare() -> None:
    if shutil.which("unshare") is None:
        pytest.skip("unshare (util-linux) is not installed")
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip("this user may not create a network namespace")


def test_unshare_really_blocks_the_network(tmp_path: Path) -> None:
    probe = (
        "import socket\n"
        "try:\n"
        "    socket.create_connection(('1.1.1.1', 443), timeout=3)\n"
        "except OSError:\n"
        "    raise SystemExit(3)\n"
    )
    assert _offline([sys.executable, "-c", probe], tmp_path).returncode == 3


# The encrypted run loads httpfs in every stage and in dbt: it must come from the
# wheel already installed, never from DuckDB's extension repository.
@pytest.mark.parametrize("key", [None, "offline key"], ids=["plain", "encrypted"])
def test_run_command_runs_offline(tmp_path: Path, key: str | None) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "note.txt").write_text(NOTE)
    (inbox / "manifest.csv").write_text(MANIFEST)
    db = tmp_path / "offline.duckdb"

    args = ["run", "--inbox", str(inbox), "--db", str(db), "--partition", "2026-11-02"]
    done = _offline([str(CPTFLOW), *args], tmp_path, key=key)

    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "claims.claim_lines" in done.stderr
    assert "marts.fct_claim_lines" in done.stderr
    # dbt's log lines go to Dagster's event log, not to the command's output.
    assert done.stdout == ""
