"""Tests of reading the inbox manifest."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from cptflow.transforms.errors import CptflowError
from cptflow.transforms.manifest import EncounterMetadata, read_manifest

CSV_HEADER = (
    "file,encounter_id,patient_id,patient_name,patient_birth_date,patient_sex,"
    "date_of_service,rendering_npi,billing_npi,payer_id,place_of_service,"
    "received_date\n"
)


def test_read_manifest_csv_parses_iso_and_us_dates(tmp_path: Path) -> None:
    (tmp_path / "manifest.csv").write_text(
        CSV_HEADER + "note1.pdf,E100,P001,Ana Ruiz,1961-04-09,F,2026-11-30,1234567893,"
        "1245319599,60054,11,12/01/2026\n" + "note2.txt,,P002,,,,11/28/2026,,,,,\n"
    )

    manifest = read_manifest(tmp_path)

    assert manifest == {
        "note1.pdf": EncounterMetadata(
            file="note1.pdf",
            encounter_id="E100",
            patient_id="P001",
            patient_name="Ana Ruiz",
            patient_birth_date=date(1961, 4, 9),
            patient_sex="F",
            date_of_service=date(2026, 11, 30),
            rendering_npi="1234567893",
            billing_npi="1245319599",
            payer_id="60054",
            place_of_service="11",
            received_date=date(2026, 12, 1),
        ),
        "note2.txt": EncounterMetadata(
            file="note2.txt", patient_id="P002", date_of_service=date(2026, 11, 28)
        ),
    }


def test_read_manifest_csv_keeps_leading_zeros_and_skips_bom(tmp_path: Path) -> None:
    (tmp_path / "manifest.csv").write_bytes(
        b"\xef\xbb\xbffile,place_of_service,payer_id\nscan.tif,02,00123\n"
    )

    manifest = read_manifest(tmp_path)

    assert manifest["scan.tif"].place_of_service == "02"
    assert manifest["scan.tif"].payer_id == "00123"


def test_read_manifest_json_accepts_numeric_npi(tmp_path: Path) -> None:
    rows = [
        {
            "file": "sub/op.pdf",
            "rendering_npi": 1234567893,
            "date_of_service": "2026-12-02",
            "patient_sex": "M",
        }
    ]
    (tmp_path / "manifest.json").write_text(json.dumps(rows))

    manifest = read_manifest(tmp_path)

    assert manifest == {
        "sub/op.pdf": EncounterMetadata(
            file="sub/op.pdf",
            rendering_npi="1234567893",
            date_of_service=date(2026, 12, 2),
            patient_sex="M",
        )
    }


def test_read_manifest_without_manifest_is_empty(tmp_path: Path) -> None:
    assert read_manifest(tmp_path) == {}


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        pytest.param(
            "manifest.csv",
            "file,date_of_service\na.pdf,2026-12-01\nb.pdf,2026-13-01\n",
            "manifest.csv row 2: 'date_of_service' is not a",
            id="csv-bad-month",
        ),
        pytest.param(
            "manifest.csv",
            "file,patient_birth_date\na.pdf,31/12/1960\n",
            "manifest.csv row 1: 'patient_birth_date' is not a",
            id="csv-day-first",
        ),
        pytest.param(
            "manifest.csv",
            "name,patient_id\na.pdf,P1\n",
            "manifest.csv: header has no 'file' column",
            id="csv-no-file-column",
        ),
        pytest.param(
            "manifest.csv",
            "file,patient_id\na.pdf,P1\n ,P2\n",
            "manifest.csv row 2: 'file' is empty",
            id="csv-blank-file",
        ),
        pytest.param(
            "manifest.csv",
            "file,patient_id\na.pdf,P1\na.pdf,P2\n",
            "manifest.csv row 2: file repeated",
            id="csv-repeated-file",
        ),
        pytest.param(
            "manifest.json",
            '{"file": "a.pdf"}',
            "manifest.json: expected a list of objects",
            id="json-not-a-list",
        ),
        pytest.param(
            "manifest.json",
            '[{"file": "a.pdf"}, "b.pdf"]',
            "manifest.json row 2: not an object",
            id="json-row-not-object",
        ),
        pytest.param(
            "manifest.json",
            '[{"file": "a.pdf", "billing_npi": 1.5}]',
            "manifest.json row 1: 'billing_npi' must be text, found a float",
            id="json-float-npi",
        ),
        pytest.param(
            "manifest.json",
            '[{"file": "a.pdf",',
            "manifest.json: cannot be read",
            id="json-truncated",
        ),
    ],
)
def test_read_manifest_bad_manifest_names_file_and_row(
    tmp_path: Path, name: str, content: str, message: str
) -> None:
    (tmp_path / name).write_text(content)

    with pytest.raises(CptflowError, match="^" + message.replace("(", r"\(")):
        read_manifest(tmp_path)


def test_read_manifest_with_both_formats_is_refused(tmp_path: Path) -> None:
    (tmp_path / "manifest.csv").write_text("file\na.pdf\n")
    (tmp_path / "manifest.json").write_text('[{"file": "a.pdf"}]')

    with pytest.raises(CptflowError, match="both manifest.csv and manifest.json"):
        read_manifest(tmp_path)
