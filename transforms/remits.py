"""Denial taxonomy and the remittance rows built from parsed 835 files."""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import polars as pl

from cptflow.transforms.x12.remit835 import (
    Adjustment,
    Claim,
    Remittance,
    ServiceLine,
    Transaction,
)

logger = logging.getLogger(__name__)

DATA_DIR = Path(__file__).resolve().parent / "remits_data"
CARC_CATEGORIES_PATH = DATA_DIR / "carc_categories.csv"
DENIAL_CATEGORIES_PATH = DATA_DIR / "denial_categories.csv"
UNKNOWN_CATEGORY = "other"
PATIENT_GROUP = "PR"
PATIENT_CATEGORY = "patient_responsibility"
REVERSAL_STATUS = "22"

LINES_SCHEMA = {
    "remittance_line_id": pl.Utf8,
    "file_name": pl.Utf8,
    "partition_date": pl.Date,
    "payer_name": pl.Utf8,
    "payment_date": pl.Date,
    "claim_id": pl.Utf8,
    "claim_status_code": pl.Utf8,
    "payer_claim_control_number": pl.Utf8,
    "claim_frequency_code": pl.Utf8,
    "is_reversal": pl.Boolean,
    "line_number": pl.Int32,
    "line_control_number": pl.Utf8,
    "cpt_code": pl.Utf8,
    "submitted_cpt_code": pl.Utf8,
    "modifiers": pl.List(pl.Utf8),
    "units": pl.Float64,
    "charge_amount": pl.Float64,
    "paid_amount": pl.Float64,
    "service_date": pl.Date,
    "rarcs": pl.List(pl.Utf8),
    "is_denied": pl.Boolean,
    "denial_category": pl.Utf8,
}

ADJUSTMENTS_SCHEMA = {
    "remittance_line_id": pl.Utf8,
    "partition_date": pl.Date,
    "level": pl.Utf8,
    "group_code": pl.Utf8,
    "carc_code": pl.Utf8,
    "amount": pl.Float64,
    "quantity": pl.Float64,
    "denial_category": pl.Utf8,
    "is_denial": pl.Boolean,
}


@dataclass(frozen=True)
class AdjustmentClass:
    """What one CAS reason means for denial analysis.

    Attributes:
        category: a taxonomy category, e.g. `bundling` or `contractual`.
        is_denial: whether the amount is money the payer refused to pay.
        is_avoidable_by_coding: whether better coding would usually prevent it.
    """

    category: str
    is_denial: bool
    is_avoidable_by_coding: bool


@dataclass(frozen=True)
class _ClassifiedAdjustment:
    level: str
    adjustment: Adjustment
    kind: AdjustmentClass


@cache
def _carc_table() -> dict[str, tuple[str, bool]]:
    with CARC_CATEGORIES_PATH.open(newline="", encoding="utf-8") as handle:
        return {
            row["carc_code"]: (row["category"], row["is_avoidable_by_coding"] == "true")
            for row in csv.DictReader(handle)
        }


@cache
def _denial_table() -> dict[str, bool]:
    with DENIAL_CATEGORIES_PATH.open(newline="", encoding="utf-8") as handle:
        return {
            row["category"]: row["is_denial"] == "true"
            for row in csv.DictReader(handle)
        }


def classify_adjustment(group_code: str, carc_code: str) -> AdjustmentClass:
    """Place one CAS reason in the denial taxonomy.

    Every PR (patient responsibility) amount is owed by the patient, not denied;
    contractual reductions such as CO-45 are not denials either. Unknown CARCs fall
    to `other`, which counts as a denial.

    Args:
        group_code: CAS01, e.g. `CO`, `OA`, `PR`, `PI`, `CR`.
        carc_code: the claim adjustment reason code, e.g. `97`.

    Returns:
        The category, whether it is a denial, and whether coding could avoid it.
    """
    category, is_avoidable = _carc_table().get(carc_code, (UNKNOWN_CATEGORY, False))
    if group_code == PATIENT_GROUP:
        if _denial_table()[category]:
            category = PATIENT_CATEGORY
        return AdjustmentClass(category, False, False)
    return AdjustmentClass(category, _denial_table()[category], is_avoidable)


def load_code_descriptions(path: Path | str) -> dict[str, str]:
    """Read a user-supplied CARC or RARC list (columns `code`, `description`, ...).

    The descriptions belong to X12, so they come from the user's licensed file at
    run time and are never stored in this repository.

    Args:
        path: a CSV file with a header holding at least `code` and `description`.

    Returns:
        A mapping from code to description.
    """
    with Path(path).open(newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    descriptions = {
        row["code"].strip(): (row.get("description") or "").strip()
        for row in rows
        if row.get("code")
    }
    logger.info("loaded %d code descriptions from %s", len(descriptions), path)
    return descriptions


@dataclass(frozen=True)
class _LineView:
    """One service line (or a claim without lines) with its place in the file."""

    transaction_number: int
    transaction: Transaction
    claim_number: int
    claim: Claim
    line: ServiceLine | None
    line_number: int


def _line_views(remittance: Remittance) -> list[_LineView]:
    views = []
    for t_number, transaction in enumerate(remittance.transactions, start=1):
        for c_number, claim in enumerate(transaction.claims, start=1):
            if not claim.lines:
                views.append(_LineView(t_number, transaction, c_number, claim, None, 1))
            for line in claim.lines:
                views.append(
                    _LineView(
                        t_number, transaction, c_number, claim, line, line.line_number
                    )
                )
    return views


def is_reversal(claim: Claim) -> bool:
    """Whether the claim takes back an earlier payment (CLP02 = 22).

    A reversal repeats the original's figures with the signs turned: it is neither
    a denial nor new money, so none of its reasons count as denied.
    """
    return claim.status_code == REVERSAL_STATUS


def _classified(view: _LineView) -> list[_ClassifiedAdjustment]:
    line_adjustments = view.line.adjustments if view.line else []
    reversal = is_reversal(view.claim)
    return [
        _ClassifiedAdjustment(
            level,
            adjustment,
            _reversal_class(kind) if reversal else kind,
        )
        for level, adjustments in (
            ("claim", view.claim.adjustments),
            ("line", line_adjustments),
        )
        for adjustment in adjustments
        for kind in [classify_adjustment(adjustment.group_code, adjustment.carc_code)]
    ]


def _reversal_class(kind: AdjustmentClass) -> AdjustmentClass:
    return AdjustmentClass(kind.category, False, False)


def _denial(classified: list[_ClassifiedAdjustment]) -> tuple[bool, str | None]:
    """Return whether the line is denied and the category of the largest denial."""
    denied = [item for item in classified if item.kind.is_denial]
    if not denied:
        return False, None
    largest = max(denied, key=lambda item: abs(item.adjustment.amount))
    return True, largest.kind.category


def _remittance_line_id(remittance: Remittance, view: _LineView) -> str:
    return (
        f"{remittance.file_sha256[:12]}:{view.transaction_number}:"
        f"{view.claim_number}:{view.line_number}"
    )


def _submitted_code(line: ServiceLine | None) -> str | None:
    if line is None or not line.submitted_code or line.submitted_code == line.code:
        return None
    return line.submitted_code


def _optional_float(amount: Decimal | None) -> float | None:
    return None if amount is None else float(amount)


def _line_rarcs(view: _LineView) -> list[str]:
    codes = (view.line.rarcs if view.line else []) + view.claim.remark_codes
    return list(dict.fromkeys(codes))


def _line_row(
    remittance: Remittance, view: _LineView, *, partition_date: date
) -> dict[str, Any]:
    claim, line = view.claim, view.line
    is_denied, category = _denial(_classified(view))
    return {
        "remittance_line_id": _remittance_line_id(remittance, view),
        "file_name": remittance.file_name,
        "partition_date": partition_date,
        "payer_name": view.transaction.payer_name,
        "payment_date": view.transaction.payment_date,
        "claim_id": claim.claim_id,
        "claim_status_code": claim.status_code,
        "payer_claim_control_number": claim.payer_claim_control_number,
        "claim_frequency_code": claim.frequency_code,
        "is_reversal": is_reversal(claim),
        "line_number": view.line_number,
        "line_control_number": line.line_control_number if line else None,
        "cpt_code": (line.code or None) if line else None,
        "submitted_cpt_code": _submitted_code(line),
        "modifiers": list(line.modifiers) if line else [],
        "units": float(line.units) if line else None,
        "charge_amount": float(line.charge_amount if line else claim.charge_amount),
        "paid_amount": float(line.paid_amount if line else claim.paid_amount),
        "service_date": (line.service_date if line else None) or claim.service_date,
        "rarcs": _line_rarcs(view),
        "is_denied": is_denied,
        "denial_category": category,
    }


def _adjustment_rows(
    remittance: Remittance, view: _LineView, *, partition_date: date
) -> list[dict[str, Any]]:
    line_id = _remittance_line_id(remittance, view)
    # Claim-level CAS rows hang on the claim's first line so each is stored once.
    classified = [
        item
        for item in _classified(view)
        if item.level == "line" or view.line_number == 1
    ]
    return [
        {
            "remittance_line_id": line_id,
            "partition_date": partition_date,
            "level": item.level,
            "group_code": item.adjustment.group_code,
            "carc_code": item.adjustment.carc_code,
            "amount": float(item.adjustment.amount),
            "quantity": _optional_float(item.adjustment.quantity),
            "denial_category": item.kind.category if item.kind.is_denial else None,
            "is_denial": item.kind.is_denial,
        }
        for item in classified
    ]


def remittance_frames(
    remittance: Remittance, *, partition_date: date
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Build the rows of remits.remittance_lines and remits.remittance_adjustments.

    A claim without service lines gives one line row (line 1) with a NULL cpt_code
    and the claim's charge and paid amounts. `rarcs` holds the line's LQ remarks
    followed by the claim's MOA/MIA remarks.

    Args:
        remittance: a parsed 835.
        partition_date: the daily partition the rows belong to (the payment date).

    Returns:
        The lines frame and the adjustments frame, with the architecture columns.
    """
    views = _line_views(remittance)
    lines = [
        _line_row(remittance, view, partition_date=partition_date) for view in views
    ]
    adjustments = [
        row
        for view in views
        for row in _adjustment_rows(remittance, view, partition_date=partition_date)
    ]
    logger.info(
        "remittance %s: %d line rows, %d adjustment rows",
        remittance.file_name,
        len(lines),
        len(adjustments),
    )
    return (
        pl.DataFrame(lines, schema=LINES_SCHEMA),
        pl.DataFrame(adjustments, schema=ADJUSTMENTS_SCHEMA),
    )


def _adjustment_json(adjustment: Adjustment) -> dict[str, Any]:
    return {
        "group": adjustment.group_code,
        "carc": adjustment.carc_code,
        "amount": float(adjustment.amount),
    }


def _units_json(units: Decimal) -> int | float:
    return int(units) if units == units.to_integral_value() else float(units)


def _line_json(view: _LineView) -> dict[str, Any]:
    claim, line = view.claim, view.line
    is_denied, category = _denial(_classified(view))
    record: dict[str, Any] = {
        "claim_id": claim.claim_id,
        "claim_status_code": claim.status_code,
        "line_control_number": line.line_control_number if line else None,
        "cpt": (line.code or None) if line else None,
        "modifiers": list(line.modifiers) if line else [],
        "units": _units_json(line.units) if line else None,
        "charge_amount": float(line.charge_amount if line else claim.charge_amount),
        "paid_amount": float(line.paid_amount if line else claim.paid_amount),
        "adjustments": [
            _adjustment_json(a) for a in (line.adjustments if line else [])
        ],
        "rarcs": list(line.rarcs) if line else list(claim.remark_codes),
        "is_denied": is_denied,
        "denial_category": category,
    }
    submitted = _submitted_code(line)
    if submitted is not None:
        record["submitted_cpt"] = submitted
    if claim.adjustments:
        record["claim_adjustments"] = [_adjustment_json(a) for a in claim.adjustments]
    return record


def remit_json_objects(remittance: Remittance) -> list[dict[str, Any]]:
    """Return one JSON-ready object per service line for `cptflow remit --format jsonl`.

    A claim without service lines gives one object with `cpt` null. Claim-level
    adjustments appear as `claim_adjustments` on each of the claim's lines;
    `submitted_cpt` appears only when SVC06 names a different code.

    Args:
        remittance: a parsed 835.

    Returns:
        Objects with claim_id, claim_status_code, line_control_number, cpt,
        modifiers, units, charge_amount, paid_amount, adjustments, rarcs,
        is_denied, denial_category (and the optional keys above).
    """
    return [_line_json(view) for view in _line_views(remittance)]
