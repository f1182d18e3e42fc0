"""Claim preparation: pricing, diagnosis pointers and holds."""

from datetime import date

import polars as pl
import pytest

from cptflow.transforms.claims import (
    build_claims,
    claim_id_for,
    load_fee_schedule,
    price,
)

DOS = date(2026, 10, 30)


def _encounter(**overrides):
    row = {
        "encounter_id": "enc-1",
        "document_id": "d" * 64,
        "patient_id": "P100",
        "date_of_service": DOS,
        "rendering_npi": "1234567893",
        "billing_npi": None,
        "payer_id": "60054",
        "place_of_service": "24",
        "needs_review": False,
    }
    row.update(overrides)
    return row


def _codes(*lines):
    return pl.DataFrame(
        [
            {
                "encounter_id": "enc-1",
                "document_id": "d" * 64,
                "code_sequence": n,
                "cpt_code": cpt,
                "modifiers": mods,
                "units": units,
                "icd10cm_codes": dx,
            }
            for n, (cpt, mods, units, dx) in enumerate(lines, start=1)
        ],
        schema_overrides={
            "modifiers": pl.List(pl.Utf8),
            "icd10cm_codes": pl.List(pl.Utf8),
        },
    )


@pytest.mark.parametrize(
    ("cpt", "expected"),
    [
        ("45385", (1600.0, 640.0, "fee_schedule")),
        ("99214", (250.0, 128.0, "fee_schedule")),
        ("29881", (1800.0, 650.0, "range_default")),
        ("73630", (400.0, 120.0, "range_default")),
    ],
    ids=["scheduled-snare", "scheduled-em", "surgery-range", "radiology-range"],
)
def test_price_takes_schedule_then_range_default(cpt, expected):
    fees, ranges = load_fee_schedule()
    assert price(cpt, DOS, fees, ranges) == expected


def test_build_claims_prices_units_and_points_diagnoses():
    encounters = pl.DataFrame([_encounter()])
    codes = _codes(
        ("45385", [], 1, ["K63.5"]),
        ("45380", ["XS"], 1, ["K57.30", "K63.5"]),
    )

    claims, lines = build_claims(encounters, codes, partition_date=DOS)

    claim = claims.row(0, named=True)
    assert claim["claim_id"] == claim_id_for("enc-1")
    assert claim["diagnosis_codes"] == ["K63.5", "K57.30"]
    assert claim["total_charge_amount"] == 3050.0
    assert claim["status"] == "ready"
    assert claim["billing_npi"] == "1234567893"
    assert lines["charge_amount"].to_list() == [1600.0, 1450.0]
    assert lines["diagnosis_pointers"].to_list() == [[1], [2, 1]]
    assert lines["line_control_number"].to_list() == [
        f"{claim['claim_id']}-1",
        f"{claim['claim_id']}-2",
    ]


def test_build_claims_multiplies_charge_by_units():
    codes = _codes(("99214", [], 1, ["E03.9"]), ("36415", [], 2, ["E03.9"]))
    _, lines = build_claims(pl.DataFrame([_encounter()]), codes, partition_date=DOS)
    # Two venipunctures at 25.00 each.
    assert lines["charge_amount"].to_list() == [250.0, 50.0]


@pytest.mark.parametrize(
    ("encounter", "dx", "reason"),
    [
        (_encounter(needs_review=True), ["K63.5"], "awaiting_coder_review"),
        (_encounter(), [], "no_linked_diagnosis"),
    ],
    ids=["in-review", "no-diagnosis"],
)
def test_build_claims_holds_claims_that_cannot_go_out(encounter, dx, reason):
    claims, _ = build_claims(
        pl.DataFrame([encounter]), _codes(("45378", [], 1, dx)), partition_date=DOS
    )
    assert claims["status"].to_list() == ["held"]
    assert claims["hold_reason"].to_list() == [reason]


def test_claim_id_is_stable_for_an_encounter():
    assert claim_id_for("enc-1") == claim_id_for("enc-1")
    assert claim_id_for("enc-1") != claim_id_for("enc-2")
    assert len(claim_id_for("enc-1")) == 14
