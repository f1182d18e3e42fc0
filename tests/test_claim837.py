"""837P claim files: pyx12 validation, round trip and persistent control numbers."""

from datetime import date, datetime
from decimal import Decimal

import duckdb

from cptflow.transforms.scrubbing.claim_files import load_submission
from cptflow.transforms.x12.claim837 import (
    Claim837,
    ClaimLine837,
    Party,
    read_837p,
    reserve_control_number,
    write_837p,
)
from cptflow.transforms.x12.remit835 import validate_with_pyx12

CREATED = datetime(2026, 11, 2, 12, 0)


def _claim(claim_id: str) -> Claim837:
    return Claim837(
        claim_id=claim_id,
        date_of_service=date(2026, 10, 30),
        place_of_service="24",
        payer=Party("DEMO PAYER", "60054"),
        member_id="M100",
        patient_last_name="DOE",
        patient_first_name="JANE",
        patient_birth_date=date(1960, 2, 3),
        patient_sex="F",
        diagnosis_codes=["K63.5", "K57.30"],
        lines=[
            ClaimLine837(1, "45385", [], 1, Decimal("1600"), [1], f"{claim_id}-1"),
            ClaimLine837(
                2, "45380", ["XS"], 1, Decimal("1450.50"), [1, 2], f"{claim_id}-2"
            ),
        ],
        rendering_provider=("SMITH", "ANN", "1245319599"),
    )


def test_write_837p_validates_with_pyx12(tmp_path):
    submission, _ = load_submission()
    text = write_837p(
        [_claim("CF00000000A1"), _claim("CF00000000A2")],
        submission=submission,
        control_number=42,
        created=CREATED,
    )
    path = tmp_path / "batch.x12"
    path.write_text(text)

    assert validate_with_pyx12(path) == []
    assert "HI*ABK:K635*ABF:K5730~" in text


def test_validate_with_pyx12_reports_a_broken_837p(tmp_path):
    submission, _ = load_submission()
    text = write_837p(
        [_claim("CF00000000A1")], submission=submission, control_number=1,
        created=CREATED,
    )  # fmt: skip
    path = tmp_path / "broken.x12"
    path.write_text(text.replace("DMG*D8*19600203*F~", "DMG*D8*19600203*Q~"))

    assert validate_with_pyx12(path) != []


def test_read_837p_round_trips_claims_and_lines():
    submission, _ = load_submission()
    text = write_837p(
        [_claim("CF00000000A1")], submission=submission, control_number=9,
        created=CREATED,
    )  # fmt: skip

    [claim] = read_837p(text.encode(), file_name="batch.x12")

    assert claim["claim_id"] == "CF00000000A1"
    assert claim["total_charge"] == Decimal("3050.5")
    assert claim["control_number"] == "000000009"
    assert claim["diagnosis_codes"] == ["ABK:K635", "ABF:K5730"]
    assert [
        (line["cpt_code"], line["modifiers"], line["charge_amount"],
         line["diagnosis_pointers"], line["line_control_number"])
        for line in claim["lines"]
    ] == [
        ("45385", [], Decimal("1600"), [1], "CF00000000A1-1"),
        ("45380", ["XS"], Decimal("1450.5"), [1, 2], "CF00000000A1-2"),
    ]  # fmt: skip


def test_reserve_control_number_never_repeats_across_connections(tmp_path):
    db = str(tmp_path / "cptflow.duckdb")
    numbers = []
    for _ in range(3):
        with duckdb.connect(db) as conn:
            numbers.append(
                reserve_control_number(conn, file_name="f.x12", claim_count=1)
            )
    assert numbers == [1, 2, 3]
