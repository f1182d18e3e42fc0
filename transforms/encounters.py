"""Encounter rows: intake metadata, filled from the document header when missing."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import polars as pl

ENCOUNTER_SCHEMA = {
    "encounter_id": pl.Utf8,
    "document_id": pl.Utf8,
    "partition_date": pl.Date,
    "patient_id": pl.Utf8,
    "date_of_service": pl.Date,
    "rendering_npi": pl.Utf8,
    "payer_id": pl.Utf8,
    "place_of_service": pl.Utf8,
    "metadata_source": pl.Utf8,
    "needs_review": pl.Boolean,
    "review_reasons": pl.List(pl.Utf8),
    "rules_version": pl.Utf8,
}
# The fields a claim cannot go out without; the header may supply any of them.
HEADER_FIELDS = (
    "patient_id",
    "date_of_service",
    "rendering_npi",
    "payer_id",
    "place_of_service",
)


def encounter_metadata(document: Mapping[str, Any], header: Any) -> dict[str, Any]:
    """The encounter's metadata: the manifest's values, else the header's.

    Returns:
        The HEADER_FIELDS values and `metadata_source`: `manifest` when the
        manifest gave them, `header` when any came from the header, else `none`.
    """
    values = {name: document.get(name) for name in HEADER_FIELDS}
    source = document.get("metadata_source") or "none"

    filled = False
    for name in HEADER_FIELDS:
        if values[name] is None and getattr(header, name, None) is not None:
            values[name] = getattr(header, name)
            filled = True
    if filled and source == "none":
        source = "header"
    values["metadata_source"] = source
    return values


def encounter_row(
    document: Mapping[str, Any],
    header: Any,
    *,
    partition_date: date,
    needs_review: bool,
    review_reasons: list[str],
    rules_version: str,
) -> dict[str, Any]:
    """One coding.encounters row for a coded document."""
    metadata = encounter_metadata(document, header)
    reasons = list(review_reasons)
    missing = [name for name in HEADER_FIELDS if metadata[name] is None]
    if missing:
        reasons.append("missing_encounter_metadata: " + ", ".join(missing))
    return {
        "encounter_id": document["encounter_id"],
        "document_id": document["document_id"],
        "partition_date": partition_date,
        **metadata,
        "needs_review": needs_review or bool(missing),
        "review_reasons": reasons,
        "rules_version": rules_version,
    }
