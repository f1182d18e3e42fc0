"""Which performed concepts the codes already on a claim account for."""

from __future__ import annotations

import functools
from collections.abc import Iterable

from cptflow.transforms.coding.rules import load_common, load_groups, load_yaml


@functools.cache
def _included_ranges() -> dict[str, tuple[tuple[str, str], ...]]:
    raw: dict[str, list[str]] = load_yaml("review.yaml")["included_components"]
    ranges: dict[str, tuple[tuple[str, str], ...]] = {}
    for concept, spans in raw.items():
        pairs = [tuple(span.split("-", 1)) for span in spans]
        ranges[concept] = tuple((low, high) for low, high in pairs)
    return ranges


def is_included(concept: str, cpt_codes: Iterable[str]) -> bool:
    """Whether a coded code's descriptor already includes a concept's service.

    Args:
        concept: a procedure concept the note shows as performed.
        cpt_codes: the CPT codes coded for the document.

    Returns:
        True when one of the codes lies in a range of review.yaml's
        `included_components` for the concept, or is one of the codes that
        common.yaml's `bundled_concepts` lists for it.
    """
    ranges = _included_ranges().get(concept, ())
    bundled = set(load_common()["bundled_concepts"].get(concept, []))

    # Five-digit CPT codes compare in their numeric order as strings.
    return any(
        code in bundled or any(low <= code <= high for low, high in ranges)
        for code in cpt_codes
    )


@functools.cache
def _concepts_by_rule() -> dict[str, frozenset[str]]:
    return {
        rule.rule_id: group.anchors.union(*rule.when)
        for group in load_groups()
        for rule in group.codes
    }


def is_reported(concept: str, rule_ids: Iterable[str]) -> bool:
    """Whether a coded line's rule or group reads a concept as its service.

    A second mention of the service such a line reports ("ultrasound-guided"
    in the title, "intraoperative ultrasound" in the body) is the same service
    told again, not one left uncoded.

    Args:
        concept: a procedure concept the note shows as performed.
        rule_ids: the rule ids of the document's coded lines.

    Returns:
        True when one of the rules lists the concept among its conditions, or
        its group among its anchors.
    """
    # Known shortcoming: an unsized extra lesion of a coded group is not flagged.
    by_rule = _concepts_by_rule()
    return any(concept in by_rule.get(rule_id, frozenset()) for rule_id in rule_ids)


@functools.cache
def _step_sets() -> dict[str, tuple[frozenset[str], ...]]:
    steps = set(load_yaml("review.yaml")["step_concepts"])
    return {
        concept: tuple(
            required
            for group in load_groups()
            for required in group.anchor_sets
            if concept in required
        )
        for concept in steps
    }


def names_a_service(concept: str, beside: set[str]) -> bool:
    """Whether a performed anchor mention names a service with what is beside it.

    The word of a step concept alone names a step of whatever operation it sits
    in ("the hernia sac was excised", "the right coronary artery was engaged"):
    it names a service only when one of the anchor sets it belongs to is
    complete in its sentence (an excision beside a skin lesion).

    Args:
        concept: the mention's concept.
        beside: the concepts performed in the mention's sentence.

    Returns:
        False for a step concept whose anchor sets are all incomplete; True
        otherwise.
    """
    sets = _step_sets().get(concept)
    if sets is None:
        return True
    return any(required <= beside | {concept} for required in sets)
