"""`cptflow code`: one JSON line per file, and a failing exit when one is bad."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from cptflow.orchestration.cli import app

runner = CliRunner()
NOTE = (
    "POSTOPERATIVE DIAGNOSIS:\nAcute appendicitis.\nPROCEDURE:\n"
    "Laparoscopic appendectomy.\n"
)


def test_code_goes_past_a_bad_file_and_exits_1(tmp_path: Path) -> None:
    good = tmp_path / "good.txt"
    good.write_text(NOTE)
    bad = tmp_path / "broken.pdf"
    bad.write_bytes(b"%PDF-1.4\nnot really a pdf")

    result = runner.invoke(app, ["code", str(bad), str(good)])

    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.exit_code == 1
    assert [line["document"] for line in lines] == ["broken.pdf", "good.txt"]
    assert "error" in lines[0]
    assert [code["cpt"] for code in lines[1]["codes"]] == ["44970"]
    assert f"{bad}: not coded" in result.stderr
    assert "1 of 2 file(s) not coded" in result.stderr


def test_code_exits_0_when_every_file_is_coded(tmp_path: Path) -> None:
    good = tmp_path / "good.txt"
    good.write_text(NOTE)

    result = runner.invoke(app, ["code", str(good)])

    assert result.exit_code == 0
    assert result.stderr == ""
