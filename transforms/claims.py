"""Claim preparation: coded encounters priced from the fee schedule into claim lines."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import polars as pl

from cptflow.transforms.review.final import apply_coder_review

FEE_DIR = Path(__file__).parent / "claims_data"
# An 837P service line points at no more than four of the claim's diagnoses, and
# the claim carries at most twelve.
MAX_POINTERS = 4
MAX_DIAGNOSES = 12

CLAIM_SCHEMA = {
    "claim_id": pl.Utf8,
    "encounter_id": pl.Utf8,
    "partition_date": pl.Date,
    "patient_id": pl.Utf8,
    "date_of_service": pl.Date,
    "rendering_npi": pl.Utf8,
    "billing_npi": pl.Utf8,
    "payer_id": pl.Utf8,
    "place_of_service": pl.Utf8,
    "diagnosis_codes": pl.List(pl.Utf8),
    "total_charge_amount": pl.Float64,
    "status": pl.Utf8,
    "hold_reason": pl.Utf8,
}
LINE_SCHEMA = {
    "claim_id": pl.Utf8,
    "claim_line_number": pl.Int32,
    "line_control_number": pl.Utf8,
    "encounter_id": pl.Utf8,
    "document_id": pl.Utf8,
    "partition_date": pl.Date,
    "date_of_service": pl.Date,
    "rendering_npi": pl.Utf8,
    "payer_id": pl.Utf8,
    "cpt_code": pl.Utf8,
    "modifiers": pl.List(pl.Utf8),
    "units": pl.Int32,
    "charge_amount": pl.Float64,
    "expected_amount": pl.Float64,
    "fee_source": pl.Utf8,
    "diagnosis_pointers": pl.List(pl.Int32),
    "icd10cm_codes": pl.List(pl.Utf8),
}


def claim_id_for(encounter_id: str) -> str:
    """The patient control number (CLM01) of an encounter's claim."""
    digest = hashlib.sha256(encounter_id.encode()).hexdigest()
    return "CF" + digest[:12].upper()


def load_fee_schedule(directory: Path = FEE_DIR) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The per-code fee schedule and the code-range defaults."""
    fees = pl.read_csv(
        directory / "fee_schedule.csv",
        schema_overrides={
            "cpt_code": pl.Utf8,
            "effective_from": pl.Date,
            "effective_to": pl.Date,
        },
    )
    ranges = pl.read_csv(
        directory / "fee_ranges.csv",
        schema_overrides={"range_from": pl.Utf8, "range_to": pl.Utf8},
    )
    return fees, ranges


def price(
    cpt_code: str,
    date_of_service: date | None,
    fees: pl.DataFrame,
    ranges: pl.DataFrame,
) -> tuple[float, float, str]:
    """Charge and expected amount per unit of a code on a date, and where they came
    from (`fee_schedule` or `range_default`)."""
    on = date_of_service or date.today()
    match = fees.filter(
        (pl.col("cpt_code") == cpt_code)
        & (pl.col("effective_from") <= on)
        & (pl.col("effective_to").is_null() | (pl.col("effective_to") >= on))
    )
    if match.height:
        row = match.row(0, named=True)
        return row["charge_amount"], row["expected_amount"], "fee_schedule"

    fallback = ranges.filter(
        (pl.col("range_from") <= cpt_code) & (pl.col("range_to") >= cpt_code)
    ).sort("range_from", descending=True)
    if fallback.height:
        row = fallback.row(0, named=True)
        return row["charge_amount"], row["expected_amount"], "range_default"
    return 0.0, 0.0, "missing"


def build_claims(
    encounters: pl.DataFrame,
    codes: pl.DataFrame,
    *,
    partition_date: date,
    fee_schedule: tuple[pl.DataFrame, pl.DataFrame] | None = None,
    final_codes: pl.DataFrame | None = None,
    reviews: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One claim per coded encounter and one line per code, priced and pointed.

    Args:
        encounters: rows of coding.encounters (with billing_npi joined in).
        codes: rows of coding.encounter_codes.
        partition_date: the partition the claims belong to.
        fee_schedule: (fees, ranges) as from `load_fee_schedule`.
        final_codes: rows of review.final_codes, when coders have reviewed.
        reviews: rows of review.encounter_reviews; with final_codes, an accepted
            encounter is billed with the coder's codes and released, and one still
            in review is held.

    Returns:
        (claims.claims, claims.claim_lines) frames. A claim is `held` when its
        encounter awaits review, a line has no price, or no diagnosis is linked.
    """
    fees, ranges = fee_schedule or load_fee_schedule()
    if final_codes is not None and reviews is not None:
        encounters, codes = apply_coder_review(encounters, codes, final_codes, reviews)
    claims, lines = [], []
    for encounter in encounters.iter_rows(named=True):
        encounter_codes = codes.filter(
            pl.col("encounter_id") == encounter["encounter_id"]
        ).sort("code_sequence")
        if encounter_codes.is_empty():
            continue
        claim, claim_lines = _claim_for(
            encounter, encounter_codes, partition_date, fees, ranges
        )
        claims.append(claim)
        lines.extend(claim_lines)
    return (
        pl.DataFrame(claims, schema=CLAIM_SCHEMA),
        pl.DataFrame(lines, schema=LINE_SCHEMA),
    )


def _claim_for(
    encounter: dict,
    codes: pl.DataFrame,
    partition_date: date,
    fees: pl.DataFrame,
    ranges: pl.DataFrame,
) -> tuple[dict, list[dict]]:
    """Build one claim and its lines for an encounter."""
    claim_id = claim_id_for(encounter["encounter_id"])
    diagnoses = _claim_diagnoses(codes)
    dos = encounter["date_of_service"]

    lines = []
    for number, code in enumerate(codes.iter_rows(named=True), start=1):
        charge, expected, source = price(code["cpt_code"], dos, fees, ranges)
        line_dx = [d for d in code["icd10cm_codes"] or [] if d in diagnoses]
        lines.append(
            {
                "claim_id": claim_id,
                "claim_line_number": number,
                "line_control_number": f"{claim_id}-{number}",
                "encounter_id": encounter["encounter_id"],
                "document_id": code["document_id"],
                "partition_date": partition_date,
                "date_of_service": dos,
                "rendering_npi": encounter["rendering_npi"],
                "payer_id": encounter["payer_id"],
                "cpt_code": code["cpt_code"],
                "modifiers": list(code["modifiers"] or []),
                "units": code["units"],
                "charge_amount": round(charge * code["units"], 2),
                "expected_amount": round(expected * code["units"], 2),
                "fee_source": source,
                "diagnosis_pointers": _pointers(line_dx, diagnoses),
                "icd10cm_codes": line_dx,
            }
        )

    hold_reason = _hold_reason(encounter, lines, diagnoses)
    claim = {
        "claim_id": claim_id,
        "encounter_id": encounter["encounter_id"],
        "partition_date": partition_date,
        "patient_id": encounter["patient_id"],
        "date_of_service": dos,
        "rendering_npi": encounter["rendering_npi"],
        "billing_npi": encounter.get("billing_npi") or encounter["rendering_npi"],
        "payer_id": encounter["payer_id"],
        "place_of_service": encounter["place_of_service"],
        "diagnosis_codes": diagnoses,
        "total_charge_amount": round(sum(line["charge_amount"] for line in lines), 2),
        "status": "held" if hold_reason else "ready",
        "hold_reason": hold_reason,
    }
    return claim, lines


def _claim_diagnoses(codes: pl.DataFrame) -> list[str]:
    """The claim's diagnoses in first-linked order, at most twelve."""
    seen: list[str] = []
    for linked in codes["icd10cm_codes"].to_list():
        for code in linked or []:
            if code not in seen:
                seen.append(code)
    return seen[:MAX_DIAGNOSES]


def _pointers(line_dx: list[str], diagnoses: list[str]) -> list[int]:
    """1-based pointers into the claim's diagnoses; the primary first."""
    pointers = [diagnoses.index(code) + 1 for code in line_dx][:MAX_POINTERS]
    return pointers or ([1] if diagnoses else [])


def _hold_reason(
    encounter: dict, lines: list[dict], diagnoses: list[str]
) -> str | None:
    """Why a claim cannot go out yet, or None when it is ready."""
    if encounter.get("needs_review"):
        return "awaiting_coder_review"
    if any(line["fee_source"] == "missing" for line in lines):
        return "no_fee_schedule_entry"
    if not diagnoses:
        return "no_linked_diagnosis"
    return None
