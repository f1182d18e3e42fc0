"""What the audit trail says now: an encounter's working codes and review status."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# Coder actions that change the working codes; any of them reopens an acceptance.
CHANGE_ACTIONS = ("edited", "added", "removed")
OPEN_QUERY_EVENTS = ("opened", "answered")


@dataclass
class ReviewState:
    """An encounter's place in review, as the audit trail has it.

    Attributes:
        status: `straight_through` (the engine's codes go out unreviewed),
            `in_review`, `query_open` or `accepted`.
        proposal_id: the engine proposal the working codes start from.
        lines: working code lines by line number (cpt_code, modifiers, units,
            icd10cm_codes).
        reviewer: who accepted, when accepted.
        accepted_at: when accepted.
        open_query_ids: physician queries not yet closed.
    """

    status: str
    proposal_id: str | None = None
    lines: dict[int, dict[str, Any]] = field(default_factory=dict)
    reviewer: str | None = None
    accepted_at: datetime | None = None
    open_query_ids: list[str] = field(default_factory=list)


def latest_proposal_id(decisions: Sequence[Mapping[str, Any]]) -> str | None:
    """The proposal id of the engine's most recent proposal, if any."""
    proposals = [d for d in decisions if d["action"] == "proposed"]
    return proposals[-1]["proposal_id"] if proposals else None


def working_lines(decisions: Sequence[Mapping[str, Any]]) -> dict[int, dict[str, Any]]:
    """The code lines now in force: the latest proposal with the coder's changes.

    Args:
        decisions: one encounter's review.decisions rows in sequence order.
    """
    current = latest_proposal_id(decisions)
    lines: dict[int, dict[str, Any]] = {}
    for row in decisions:
        if row["proposal_id"] != current or row["line_number"] is None:
            continue
        if row["action"] in ("proposed", "edited", "added"):
            lines[row["line_number"]] = json.loads(row["after_code"])
        elif row["action"] == "removed":
            lines.pop(row["line_number"], None)
    return dict(sorted(lines.items()))


def open_queries(query_events: Sequence[Mapping[str, Any]]) -> list[str]:
    """Query ids whose last event leaves them open (opened, or answered only)."""
    last: dict[str, str] = {}
    for event in query_events:
        last[event["query_id"]] = event["event"]
    return [qid for qid, event in last.items() if event in OPEN_QUERY_EVENTS]


def review_state(
    decisions: Sequence[Mapping[str, Any]],
    query_events: Sequence[Mapping[str, Any]],
    *,
    needs_review: bool,
) -> ReviewState:
    """Derive an encounter's review status from its audit rows.

    Args:
        decisions: the encounter's review.decisions rows in sequence order.
        query_events: the encounter's review.query_events rows in sequence order.
        needs_review: the engine routed the encounter to a coder.
    """
    current = latest_proposal_id(decisions)
    state = ReviewState(
        status="in_review",
        proposal_id=current,
        lines=working_lines(decisions),
        open_query_ids=open_queries(query_events),
    )
    human = [
        d
        for d in decisions
        if d["proposal_id"] == current and d["action"] in ("accepted", *CHANGE_ACTIONS)
    ]
    if state.open_query_ids:
        state.status = "query_open"
    elif human and human[-1]["action"] == "accepted":
        state.status = "accepted"
        state.reviewer = human[-1]["actor"]
        state.accepted_at = human[-1]["decided_at"]
    elif not needs_review and not human and not _has_coder_decision(decisions):
        # Once a coder has decided, a new engine proposal waits for a coder too.
        state.status = "straight_through"
    return state


def _has_coder_decision(decisions: Sequence[Mapping[str, Any]]) -> bool:
    """Whether a coder changed or accepted any proposal of the encounter."""
    return any(d["action"] in ("accepted", *CHANGE_ACTIONS) for d in decisions)


def final_code_rows(
    state: ReviewState,
    *,
    encounter_id: str,
    document_id: str | None,
    partition_date: Any,
) -> list[dict[str, Any]]:
    """review.final_codes rows of an accepted encounter, renumbered from 1."""
    if state.status != "accepted":
        return []
    return [
        {
            "encounter_id": encounter_id,
            "document_id": document_id,
            "partition_date": partition_date,
            "code_sequence": sequence,
            "cpt_code": line["cpt_code"],
            "modifiers": list(line.get("modifiers") or []),
            "units": int(line.get("units") or 1),
            "icd10cm_codes": list(line.get("icd10cm_codes") or []),
            "reviewer": state.reviewer,
            "accepted_at": state.accepted_at,
        }
        for sequence, line in enumerate(state.lines.values(), start=1)
    ]
