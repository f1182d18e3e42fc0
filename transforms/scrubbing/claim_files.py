"""Turn scrubbed claims into 837P batches: apply automatic fixes, hold rejects."""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import yaml

from cptflow.transforms.scrubbing.engine import DATA_DIR, REJECT, applied_fixes
from cptflow.transforms.x12.claim837 import (
    Claim837,
    ClaimLine837,
    Party,
    Submission,
    reserve_control_number,
    write_837p,
)

logger = logging.getLogger(__name__)

SUBMISSION_FILE = DATA_DIR / "submission.yaml"


def load_submission(path: Path = SUBMISSION_FILE) -> tuple[Submission, str]:
    """The batch's submitter, receiver and billing provider, and the payer name
    used when a claim names only the payer id."""
    raw = yaml.safe_load(path.read_text())

    def party(entry: dict[str, Any]) -> Party:
        address = entry.get("address")
        return Party(
            name=entry["name"],
            identifier=str(entry["identifier"]),
            address=tuple(address) if address else None,  # type: ignore[arg-type]
            tax_id=entry.get("tax_id"),
            contact_phone=entry.get("contact_phone"),
        )

    submission = Submission(
        submitter=party(raw["submitter"]),
        receiver=party(raw["receiver"]),
        billing_provider=party(raw["billing_provider"]),
    )
    return submission, raw["default_payer_name"]


def held_claim_ids(edits: pl.DataFrame) -> list[str]:
    """Claims with at least one reject edit: they stay out of the claim file."""
    rejected = edits.filter(pl.col("severity") == REJECT)["claim_id"]
    return sorted(set(rejected.to_list()))


def claims_for_file(
    claims: pl.DataFrame,
    lines: pl.DataFrame,
    edits: pl.DataFrame,
    *,
    payer_name: str,
) -> list[Claim837]:
    """The clean claims as 837P claims, with the modifiers edits added applied.

    Args:
        claims: claim headers with patient_last_name, patient_first_name,
            patient_birth_date, patient_sex and member_id beside the claim columns.
        lines: the claims' lines (claims.claim_lines columns).
        edits: the claims' edits from `scrub`.
        payer_name: the payer's name for NM1*PR.
    """
    held = set(held_claim_ids(edits))
    fixes = applied_fixes(edits)
    added: dict[tuple[str, int], list[str]] = {}
    for fix in fixes.iter_rows(named=True):
        added.setdefault((fix["claim_id"], fix["claim_line_number"]), []).append(
            fix["modifier"]
        )

    result = []
    for claim in claims.sort("claim_id").iter_rows(named=True):
        if claim["claim_id"] in held:
            continue
        claim_lines = lines.filter(pl.col("claim_id") == claim["claim_id"])
        result.append(_claim(claim, claim_lines, added, payer_name))
    return result


def _claim(
    claim: dict[str, Any],
    lines: pl.DataFrame,
    added: dict[tuple[str, int], list[str]],
    payer_name: str,
) -> Claim837:
    service_lines = []
    for line in lines.sort("claim_line_number").iter_rows(named=True):
        number = line["claim_line_number"]
        modifiers = list(line["modifiers"] or [])
        for modifier in added.get((claim["claim_id"], number), []):
            if modifier not in modifiers:
                modifiers.append(modifier)
        service_lines.append(
            ClaimLine837(
                line_number=number,
                cpt_code=line["cpt_code"],
                modifiers=modifiers,
                units=int(line["units"]),
                charge_amount=Decimal(str(line["charge_amount"])),
                diagnosis_pointers=list(line["diagnosis_pointers"] or []),
                line_control_number=line.get("line_control_number")
                or f"{claim['claim_id']}-{number}",
            )
        )
    return Claim837(
        claim_id=claim["claim_id"],
        date_of_service=claim["date_of_service"],
        place_of_service=claim["place_of_service"],
        payer=Party(payer_name, claim["payer_id"]),
        member_id=claim.get("member_id") or claim["patient_id"],
        patient_last_name=claim.get("patient_last_name") or "UNKNOWN",
        patient_first_name=claim.get("patient_first_name") or "",
        patient_birth_date=claim["patient_birth_date"],
        patient_sex=claim.get("patient_sex") or "U",
        diagnosis_codes=list(claim["diagnosis_codes"] or []),
        lines=service_lines,
    )


def write_claim_file(
    conn: duckdb.DuckDBPyConnection,
    claims: list[Claim837],
    *,
    out_dir: Path,
    submission: Submission,
    created: datetime,
) -> tuple[Path, int]:
    """Write one batch as an 837P file named by its control number.

    Returns:
        The file written and its interchange control number.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = created.strftime("%Y%m%d")
    number = reserve_control_number(
        conn, file_name=f"pending-{stamp}", claim_count=len(claims)
    )
    path = out_dir / f"837p_{stamp}_{number:09d}.x12"
    conn.execute(
        "update claims.x12_control_numbers set file_name = ? where control_number = ?",
        [path.name, number],
    )
    text = write_837p(
        claims, submission=submission, control_number=number, created=created
    )
    path.write_text(text)
    logger.info("wrote %s: %d claims", path.name, len(claims))
    return path, number
