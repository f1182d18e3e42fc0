"""`cptflow scrub` and `cptflow reference load` as a user runs them."""

import json

import pytest
from typer.testing import CliRunner

from cptflow.orchestration.cli import app

VALID_NPI = "1234567893"


def _claim_file(tmp_path, **overrides):
    raw = {
        "claim_id": "CF000000000001",
        "date_of_service": "2024-08-15",
        "place_of_service": "22",
        "rendering_npi": VALID_NPI,
        "billing_npi": VALID_NPI,
        "payer_id": "60054",
        "patient": {"id": "P1", "sex": "F", "birth_date": "1960-02-03"},
        "subscriber": {"name": "DOE, JANE", "id": "M1"},
        "billing_provider": {"name": "PRACTICE", "id": VALID_NPI},
        "diagnoses": ["K63.5"],
        "lines": [
            {"cpt": "45385", "modifiers": [], "units": 1,
             "diagnosis_pointers": [1], "charge_amount": 1600.0},
            {"cpt": "45380", "modifiers": [], "units": 1,
             "diagnosis_pointers": [1], "charge_amount": 1450.0},
        ],
    }  # fmt: skip
    raw.update(overrides)
    path = tmp_path / "claim.json"
    path.write_text(json.dumps(raw))
    return path


def test_scrub_prints_edits_and_exits_1_on_reject(tmp_path):
    result = CliRunner().invoke(app, ["scrub", str(_claim_file(tmp_path))])

    assert result.exit_code == 1
    printed = json.loads(result.stdout)
    assert printed["claim_id"] == "CF000000000001"
    edits = [e for e in printed["edits"] if e["rule"] != "reference_version"]
    assert [(e["rule"], e["severity"], e["lines"], e["codes"]) for e in edits] == [
        ("ncci_ptp", "reject", [2], ["45385", "45380"])
    ]
    assert set(edits[0]) == {"rule", "severity", "lines", "codes", "message", "fix"}


def test_scrub_exits_0_with_warnings_only(tmp_path):
    path = _claim_file(
        tmp_path,
        lines=[{"cpt": "45385", "modifiers": [], "units": 1,
                "diagnosis_pointers": [1], "charge_amount": 1600.0}],
    )  # fmt: skip
    result = CliRunner().invoke(app, ["scrub", str(path)])

    assert result.exit_code == 0
    assert {e["severity"] for e in json.loads(result.stdout)["edits"]} <= {"warn"}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        (json.dumps({"claim_id": 7}), "claim_id must be a string"),
        (json.dumps({"claim_id": "C", "lines": [{"cpt": "45385", "units": "1"}]}),
         "lines[1].units must be an integer"),
    ],
    ids=["not-json", "id-not-string", "units-not-integer"],
)  # fmt: skip
def test_scrub_exits_2_on_unreadable_input(tmp_path, content, message):
    path = tmp_path / "claim.json"
    path.write_text(content)

    result = CliRunner().invoke(app, ["scrub", str(path)])

    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_reference_load_then_scrub_uses_the_database(tmp_path):
    db = tmp_path / "ref.duckdb"
    loaded = CliRunner().invoke(
        app, ["reference", "load", "--db", str(db), "--version", "q3",
              "--effective-from", "2024-07-01", "--effective-to", "2024-09-30"],
    )  # fmt: skip
    assert loaded.exit_code == 0, loaded.stderr

    result = CliRunner().invoke(
        app, ["scrub", str(_claim_file(tmp_path)), "--db", str(db)]
    )
    edits = json.loads(result.stdout)["edits"]
    assert result.exit_code == 1
    assert [e["rule"] for e in edits] == ["ncci_ptp"]


def test_reference_load_rejects_a_bad_date(tmp_path):
    result = CliRunner().invoke(
        app, ["reference", "load", "--db", str(tmp_path / "r.duckdb"),
              "--effective-from", "July"],
    )  # fmt: skip
    assert result.exit_code == 2


def test_scrub_refuses_a_database_that_does_not_exist(tmp_path):
    missing = tmp_path / "nowhere.duckdb"

    result = CliRunner().invoke(
        app, ["scrub", str(_claim_file(tmp_path)), "--db", str(missing)]
    )

    assert result.exit_code == 2
    assert f"{missing}: no such database" in result.stderr
    assert not missing.exists()


def test_scrub_says_when_the_database_has_no_reference(tmp_path):
    import duckdb

    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()

    result = CliRunner().invoke(
        app, ["scrub", str(_claim_file(tmp_path)), "--db", str(empty)]
    )

    assert result.exit_code == 1
    assert "no reference data loaded" in result.stderr
    rules = [e["rule"] for e in json.loads(result.stdout)["edits"]]
    assert sorted(rules) == ["ncci_ptp", "reference_version"]
