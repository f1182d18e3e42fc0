"""Scrub claims against the reference tables in force on each date of service."""

from __future__ import annotations

import functools
import logging
from pathlib import Path

import duckdb
import polars as pl
from stdnum import luhn

from cptflow.transforms.reference.project_codes import project_codes

logger = logging.getLogger(__name__)

SQL_DIR = Path(__file__).parent / "sql"
DATA_DIR = Path(__file__).parent / "data"
# Edits run in this order; the output keeps it within a claim.
SQL_EDITS = ("ncci_ptp", "mue", "add_on", "invalid_code", "invalid_diagnosis")
SQL_EDITS += ("modifier", "reference_version")
RULE_ORDER = ("missing_field", "npi", *SQL_EDITS)
REJECT = "reject"
WARN = "warn"
# The NPI check digit is a Luhn digit over the number prefixed with 80840.
NPI_PREFIX = "80840"
EM_RANGE = ("99202", "99499")

CLAIM_COLUMNS = {
    "claim_id": pl.Utf8,
    "date_of_service": pl.Date,
    "place_of_service": pl.Utf8,
    "rendering_npi": pl.Utf8,
    "billing_npi": pl.Utf8,
    "payer_id": pl.Utf8,
    "patient_id": pl.Utf8,
    "patient_sex": pl.Utf8,
    "patient_birth_date": pl.Date,
    "diagnosis_codes": pl.List(pl.Utf8),
    "has_subscriber": pl.Boolean,
    "has_billing_provider": pl.Boolean,
}
LINE_COLUMNS = {
    "claim_id": pl.Utf8,
    "claim_line_number": pl.Int32,
    "cpt_code": pl.Utf8,
    "modifiers": pl.List(pl.Utf8),
    "units": pl.Int32,
    "charge_amount": pl.Float64,
    "diagnosis_pointers": pl.List(pl.Int32),
    "sites": pl.List(pl.Utf8),
}
EDIT_COLUMNS = {
    "claim_id": pl.Utf8,
    "edit_sequence": pl.Int32,
    "rule_id": pl.Utf8,
    "severity": pl.Utf8,
    "line_numbers": pl.List(pl.Int32),
    "codes": pl.List(pl.Utf8),
    "message": pl.Utf8,
    "fix": pl.Utf8,
    "fix_applied": pl.Boolean,
    "reference_version": pl.Utf8,
}
# Header fields a payer cannot adjudicate without (reject), and those only the
# 837P envelope needs (warn).
REQUIRED_FIELDS = {
    "claim_id": REJECT,
    "date_of_service": REJECT,
    "place_of_service": REJECT,
    "billing_npi": REJECT,
    "payer_id": REJECT,
    "patient_id": REJECT,
    "patient_sex": REJECT,
    "patient_birth_date": REJECT,
    "has_subscriber": WARN,
    "has_billing_provider": WARN,
}
FIELD_NAMES = {
    "has_subscriber": "subscriber",
    "has_billing_provider": "billing_provider",
}


def scrub(
    conn: duckdb.DuckDBPyConnection, claims: pl.DataFrame, lines: pl.DataFrame
) -> pl.DataFrame:
    """Run every edit over a batch of claims and return one row per edit.

    Args:
        conn: a database whose `reference` schema holds at least one version.
        claims: one row per claim with the columns of `CLAIM_COLUMNS`.
        lines: one row per claim line with the columns of `LINE_COLUMNS`.

    Returns:
        The edits with the columns of `EDIT_COLUMNS`, ordered by claim, then rule,
        then line; `edit_sequence` is 1-based within a claim.
    """
    claims = _conform(claims, CLAIM_COLUMNS)
    lines = _conform(lines, LINE_COLUMNS).with_columns(
        pl.col("modifiers").fill_null([]), pl.col("sites").fill_null([])
    )
    conn.execute("set enable_progress_bar = false")

    frames = [_header_edits(claims), _line_field_edits(claims, lines)]
    frames.append(_sql_edits(conn, claims, lines))
    found = [frame for frame in frames if frame.height]
    if not found:
        return pl.DataFrame(schema=EDIT_COLUMNS)
    return _ordered(pl.concat(found, how="vertical"))


def has_reject(edits: pl.DataFrame) -> bool:
    """Whether any edit rejects its claim."""
    return bool(edits.filter(pl.col("severity") == REJECT).height)


def applied_fixes(edits: pl.DataFrame) -> pl.DataFrame:
    """The modifiers edits added by themselves: (claim_id, claim_line_number,
    modifier) rows, so the claim file carries them."""
    fixed = edits.filter(pl.col("fix_applied") & (pl.col("rule_id") == "ncci_ptp"))
    return fixed.select(
        "claim_id",
        pl.col("line_numbers").list.first().alias("claim_line_number"),
        pl.lit("XS").alias("modifier"),
    ).unique()


def _conform(frame: pl.DataFrame, columns: dict[str, pl.DataType]) -> pl.DataFrame:
    """The frame with exactly these columns, missing ones as nulls."""
    return frame.select(
        [
            pl.col(name).cast(dtype)
            if name in frame.columns
            else pl.lit(None, dtype).alias(name)
            for name, dtype in columns.items()
        ]
    )


def _edit(
    claim_id: str,
    rule_id: str,
    severity: str,
    message: str,
    fix: str,
    *,
    lines: list[int] | None = None,
    codes: list[str] | None = None,
) -> dict[str, object]:
    return {
        "claim_id": claim_id,
        "rule_id": rule_id,
        "severity": severity,
        "line_numbers": lines or [],
        "codes": codes or [],
        "message": message,
        "fix": fix,
        "fix_applied": False,
        "reference_version": None,
    }


def _header_edits(claims: pl.DataFrame) -> pl.DataFrame:
    """Missing header fields and NPIs that fail their check digit."""
    edits = []
    for claim in claims.iter_rows(named=True):
        claim_id = claim["claim_id"] or ""
        for field, severity in REQUIRED_FIELDS.items():
            if claim[field] in (None, "", False):
                edits.append(
                    _missing(claim_id, FIELD_NAMES.get(field, field), severity)
                )
        if not claim["diagnosis_codes"]:
            edits.append(_missing(claim_id, "diagnoses", REJECT))
        for role in ("rendering_npi", "billing_npi"):
            npi = claim[role]
            if npi and not is_valid_npi(npi):
                edits.append(_npi_edit(claim_id, role, npi))
    return pl.DataFrame(edits, schema=_EDIT_ROW)


def _missing(claim_id: str, field: str, severity: str) -> dict[str, object]:
    needed = "the payer cannot adjudicate" if severity == REJECT else "the 837P needs"
    return _edit(
        claim_id,
        "missing_field",
        severity,
        f"The claim has no {field}, which {needed}.",
        f"Add the {field} from the encounter record.",
        codes=[field],
    )


def _npi_edit(claim_id: str, role: str, npi: str) -> dict[str, object]:
    who = role.replace("_npi", "")
    return _edit(
        claim_id,
        "npi",
        REJECT,
        f"The {who} NPI {npi} is not a valid NPI: it needs ten digits whose last "
        "is the Luhn check digit over 80840 and the first nine.",
        f"Correct the {who} NPI from NPPES.",
        codes=[npi],
    )


def is_valid_npi(npi: str) -> bool:
    """Whether a string is a ten-digit NPI with a correct check digit."""
    return len(npi) == 10 and npi.isdigit() and luhn.is_valid(NPI_PREFIX + npi)


def _line_field_edits(claims: pl.DataFrame, lines: pl.DataFrame) -> pl.DataFrame:
    """Lines without units, a charge or a diagnosis pointer the claim can resolve."""
    counts = dict(
        zip(
            claims["claim_id"].to_list(),
            claims["diagnosis_codes"].list.len().fill_null(0).to_list(),
            strict=True,
        )
    )
    suspect = lines.join(
        claims.select(
            "claim_id", pl.col("diagnosis_codes").list.len().alias("_dx_count")
        ),
        on="claim_id",
        how="left",
    ).filter(
        pl.col("cpt_code").is_null()
        | (pl.col("units").fill_null(0) < 1)
        | pl.col("charge_amount").is_null()
        | (pl.col("diagnosis_pointers").list.len().fill_null(0) == 0)
        | (pl.col("diagnosis_pointers").list.max() > pl.col("_dx_count").fill_null(0))
        | (pl.col("diagnosis_pointers").list.min() < 1)
    )
    edits = []
    # Only the lines that look wrong are walked, to say exactly what is wrong.
    for line in suspect.iter_rows(named=True):
        claim_id, number = line["claim_id"], line["claim_line_number"]
        for field in ("cpt_code", "units", "charge_amount"):
            if line[field] in (None, "") or (field == "units" and line[field] < 1):
                edits.append(_line_missing(claim_id, number, field))
        pointers = line["diagnosis_pointers"] or []
        if not pointers or any(not 1 <= p <= counts.get(claim_id, 0) for p in pointers):
            edits.append(_line_missing(claim_id, number, "diagnosis_pointers"))
    return pl.DataFrame(edits, schema=_EDIT_ROW)


def _line_missing(claim_id: str, number: int, field: str) -> dict[str, object]:
    return _edit(
        claim_id,
        "missing_field",
        REJECT,
        f"Line {number} has no valid {field}.",
        f"Give line {number} its {field}"
        + (
            " pointing at the claim's diagnoses."
            if field == "diagnosis_pointers"
            else "."
        ),
        lines=[number],
        codes=[field],
    )


def _sql_edits(
    conn: duckdb.DuckDBPyConnection, claims: pl.DataFrame, lines: pl.DataFrame
) -> pl.DataFrame:
    """The edits done as joins over the reference tables."""
    tables = {
        "scrub_claims": claims.filter(pl.col("date_of_service").is_not_null()),
        "scrub_lines": lines,
        "project_code_table": _project_code_frame(),
        "modifier_scope": _data("modifier_scope.csv"),
        "modifier_conflicts": _data("modifier_conflicts.csv"),
    }
    for name, frame in tables.items():
        conn.register(name, frame.to_arrow())
    try:
        conn.execute(_sql("claim_versions"))
        results = [conn.execute(_sql(name), _params(name)).pl() for name in SQL_EDITS]
    finally:
        for name in tables:
            conn.unregister(name)
    frames = [r.select(list(_EDIT_ROW)).cast(_EDIT_ROW) for r in results if r.height]
    logger.info("scrubbed %d claims, %d lines", claims.height, lines.height)
    return pl.concat(frames) if frames else pl.DataFrame(schema=_EDIT_ROW)


def _params(name: str) -> dict[str, object]:
    if name != "ncci_ptp":
        return {}
    modifiers = _data("ptp_modifiers.csv")
    by_kind = {
        kind: modifiers.filter(pl.col("kind") == kind)["modifier"].to_list()
        for kind in ("distinct", "anatomic")
    }
    return {
        "distinct": by_kind["distinct"],
        "anatomic": by_kind["anatomic"],
        "em_from": EM_RANGE[0],
        "em_to": EM_RANGE[1],
        "em_modifier": "25",
    }


@functools.cache
def _sql(name: str) -> str:
    return (SQL_DIR / f"{name}.sql").read_text()


@functools.cache
def _data(name: str) -> pl.DataFrame:
    return pl.read_csv(
        DATA_DIR / name,
        infer_schema=False,
    ).with_columns(
        pl.col("effective_from").str.to_date(),
        pl.col("effective_to").str.to_date(),
    )


@functools.cache
def _project_code_frame() -> pl.DataFrame:
    return pl.DataFrame(
        list(project_codes()),
        schema={
            "cpt_code": pl.Utf8,
            "effective_from": pl.Date,
            "effective_to": pl.Date,
        },
        orient="row",
    )


def _ordered(edits: pl.DataFrame) -> pl.DataFrame:
    """Sort edits by claim, rule and line, and number them within each claim."""
    rank = {rule: index for index, rule in enumerate(RULE_ORDER)}
    return (
        edits.with_columns(
            pl.col("rule_id")
            .replace_strict(rank, return_dtype=pl.Int32)
            .alias("_rank"),
            pl.col("line_numbers").list.first().fill_null(0).alias("_line"),
        )
        .sort("claim_id", "_rank", "_line", "message")
        .with_columns(
            (pl.int_range(pl.len()).over("claim_id") + 1)
            .cast(pl.Int32)
            .alias("edit_sequence")
        )
        .select(list(EDIT_COLUMNS))
    )


_EDIT_ROW = {k: v for k, v in EDIT_COLUMNS.items() if k != "edit_sequence"}
