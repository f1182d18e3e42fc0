"""Scrub 100,000 claim lines against the full 2.5M-row NCCI PTP table; print the
seconds it takes and the peak memory of the process."""

from __future__ import annotations

import argparse
import resource
import time
from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from cptflow.transforms.reference.load import load_reference
from cptflow.transforms.scrubbing.engine import scrub

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "reference"
LINES_PER_CLAIM = 4
NPI = "1234567893"


def main() -> None:
    """Load the shared tables, build the claim lines, scrub and report."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--source", type=Path, default=SHARED)
    parser.add_argument("--lines", type=int, default=100_000)
    args = parser.parse_args()

    conn = duckdb.connect()
    started = time.perf_counter()
    load_reference(conn, args.source, version="2024q3")
    loaded = time.perf_counter() - started
    claims, lines = _batch(conn, args.lines)

    started = time.perf_counter()
    edits = scrub(conn, claims, lines)
    seconds = time.perf_counter() - started

    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"reference load: {loaded:.1f} s")
    print(
        f"scrubbed {lines.height} lines on {claims.height} claims in {seconds:.2f} s "
        f"({edits.height} edits); peak memory {peak_mib:.0f} MiB"
    )


def _batch(
    conn: duckdb.DuckDBPyConnection, line_count: int
) -> tuple[pl.DataFrame, ...]:
    """Claims whose lines are codes drawn from real active PTP pairs, so the joins
    find edits to judge."""
    # Every 30th active edit: a spread of real pairs over the whole code range.
    codes = conn.execute(
        "select column_1_code, column_2_code from (select *, row_number() over () "
        "as n from reference.ncci_ptp where deletion_date is null) "
        "where n % 30 = 0 limit ?",
        [line_count // 2],
    ).fetchall()
    flat = [code for pair in codes for code in pair][:line_count]
    claim_count = len(flat) // LINES_PER_CLAIM
    claim_ids = [f"CB{n:012d}" for n in range(claim_count)]
    claims = pl.DataFrame(
        {
            "claim_id": claim_ids,
            "date_of_service": [date(2024, 8, 15)] * claim_count,
            "place_of_service": ["11"] * claim_count,
            "rendering_npi": [NPI] * claim_count,
            "billing_npi": [NPI] * claim_count,
            "payer_id": ["60054"] * claim_count,
            "patient_id": [f"P{n}" for n in range(claim_count)],
            "patient_sex": ["F"] * claim_count,
            "patient_birth_date": [date(1960, 1, 1)] * claim_count,
            "diagnosis_codes": [["K63.5"]] * claim_count,
            "has_subscriber": [True] * claim_count,
            "has_billing_provider": [True] * claim_count,
        }
    )
    count = claim_count * LINES_PER_CLAIM
    lines = pl.DataFrame(
        {
            "claim_id": [claim_ids[n // LINES_PER_CLAIM] for n in range(count)],
            "claim_line_number": [n % LINES_PER_CLAIM + 1 for n in range(count)],
            "cpt_code": flat[:count],
            "modifiers": [["XS"] if n % 7 == 0 else [] for n in range(count)],
            "units": [1 + (n % 11 == 0) for n in range(count)],
            "charge_amount": [100.0] * count,
            "diagnosis_pointers": [[1]] * count,
        }
    )
    return claims, lines


if __name__ == "__main__":
    main()
