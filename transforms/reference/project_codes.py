"""The CPT codes cptflow's own tables know: coding rules and the fee schedule."""

from __future__ import annotations

import csv
import functools
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import yaml

TRANSFORMS_DIR = Path(__file__).resolve().parents[1]
RULES_DIR = TRANSFORMS_DIR / "coding" / "rules"
FEE_SCHEDULE = TRANSFORMS_DIR / "claims_data" / "fee_schedule.csv"


@functools.cache
def project_codes() -> tuple[tuple[str, date | None, date | None], ...]:
    """Every code of the project's tables with the period it is in force.

    Returns:
        (cpt_code, effective_from, effective_to) rows; a code ruled in several
        places appears once per place.
    """
    rows: list[tuple[str, date | None, date | None]] = []
    for path in sorted(RULES_DIR.glob("*.yaml")):
        rows.extend(_rule_codes(yaml.safe_load(path.read_text())))
    with FEE_SCHEDULE.open() as handle:
        for entry in csv.DictReader(handle):
            rows.append(
                (
                    entry["cpt_code"],
                    _as_date(entry["effective_from"]),
                    _as_date(entry["effective_to"]),
                )
            )
    return tuple(rows)


def _rule_codes(node: Any) -> Iterator[tuple[str, date | None, date | None]]:
    """Walk a rules document for every mapping that names a CPT code."""
    if isinstance(node, dict):
        if "cpt_code" in node:
            yield (
                str(node["cpt_code"]),
                _as_date(node.get("effective_from")),
                _as_date(node.get("effective_to")),
            )
        for value in node.values():
            yield from _rule_codes(value)
    elif isinstance(node, list):
        for item in node:
            yield from _rule_codes(item)


def _as_date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    if not value:
        return None
    return date.fromisoformat(str(value))
