"""Office/outpatient E/M level from 2021+ medical decision making or total time."""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass
from typing import Any

from cptflow.transforms.coding.model import CodedLine
from cptflow.transforms.coding.rules import load_yaml, rules_version
from cptflow.transforms.coding.sections import SectionText, section_text

LIST_ITEM = re.compile(r"(?:^|\n)\s*\d{1,2}[.)]\s+")


@dataclass(frozen=True)
class VisitDecision:
    """An E/M line, or why the document got none."""

    line: CodedLine | None
    review_reason: str | None


@functools.cache
def load_em_rules() -> dict[str, Any]:
    """Load the office E/M rule file.

    Returns:
        The parsed em_office.yaml.
    """
    return load_yaml("em_office.yaml")


def _any(patterns: list[str], text: str) -> bool:
    return any(re.search(pattern, text, re.I) for pattern in patterns)


def _count(patterns: list[str], text: str) -> int:
    found: set[str] = set()
    for pattern in patterns:
        found |= {m.group(0).lower() for m in re.finditer(pattern, text, re.I)}
    return len(found)


def is_visit_note(sections: list[SectionText]) -> bool:
    """Whether the document reads as a visit: a history and an assessment."""
    rules = load_em_rules()
    categories = {s.category for s in sections}
    if categories & set(rules["non_visit_sections"]):
        return False
    has_history = bool(categories & set(rules["visit_sections"]))
    return has_history and bool(categories & set(rules["assessment_sections"]))


def _problem_level(assessment: str, rules: dict[str, Any]) -> int:
    items = [i for i in LIST_ITEM.split(assessment) if i.strip()]
    cues = rules["problem_escalation_cues"]
    if _any(cues["high"], assessment):
        return 4
    if len(items) >= 2 or _any(cues["moderate"], assessment):
        return 3
    return 2


def _data_level(history: str, decision: str, rules: dict[str, Any]) -> int:
    cues = rules["data_cues"]
    tests = sum(_count(pattern_list, decision) for pattern_list in [cues["tests"]])
    notes = _count(cues["external_notes"], history + "\n" + decision)
    historian = 1 if _any(cues["independent_historian"], history) else 0
    elements = tests + notes + historian
    if elements >= 3:
        return 3
    if elements >= 2 or historian:
        return 2
    return 1


def _risk_level(decision: str, rules: dict[str, Any]) -> int:
    cues = rules["risk_cues"]
    if _any(cues["high"], decision):
        return 4
    if _any(cues["moderate"], decision):
        return 3
    if _any(cues["low"], decision):
        return 2
    return 1


def _minutes(text: str, rules: dict[str, Any]) -> int | None:
    for pattern in rules["time_cues"]:
        match = re.search(pattern, text, re.I)
        if match:
            return int(match.group(1))
    return None


def _level_code(
    kind: str, mdm: int, minutes: int | None, on: dt.date, rules: dict[str, Any]
) -> str | None:
    levels = [
        level
        for level in rules["levels"][kind]
        if dt.date.fromisoformat(str(level["effective_from"])) <= on
        and (
            level.get("effective_to") is None
            or on <= dt.date.fromisoformat(str(level["effective_to"]))
        )
    ]
    by_mdm = [lv for lv in levels if lv["mdm"] <= mdm]
    by_time = [lv for lv in levels if minutes is not None and lv["minutes"] <= minutes]

    # The level is whichever of MDM or time supports more (CPT 2021 E/M rules).
    chosen = max(by_mdm + by_time, key=lambda lv: lv["mdm"], default=None)
    return None if chosen is None else str(chosen["cpt_code"])


def code_visit(sections: list[SectionText], on: dt.date) -> VisitDecision:
    """Pick the office E/M code of a visit note.

    Args:
        sections: the document's sections.
        on: the date of service.

    Returns:
        The E/M line, or the reason none was chosen.
    """
    rules = load_em_rules()
    text = "\n".join(s.text for s in sections)
    if _any(rules["outside_office_cues"], text):
        return VisitDecision(None, "visit outside the office setting: not coded yet")
    history = section_text(sections, {"history", "unknown"})
    assessment = section_text(sections, {"impression"})
    decision = section_text(sections, {"impression", "plan"})

    is_established = _any(rules["established_cues"], history)
    if _any(rules["new_cues"], history):
        is_established = False
    kind = "established" if is_established else "new"
    levels = sorted(
        [
            _problem_level(assessment, rules),
            _data_level(history, decision, rules),
            _risk_level(decision, rules),
        ]
    )
    minutes = _minutes(text, rules)

    # Two of three MDM elements must reach a level: the middle of the three.
    code = _level_code(kind, levels[1], minutes, on, rules)
    if code is None:
        return VisitDecision(None, f"no office E/M code in effect on {on}")
    confidence = rules["confidence_with_time" if minutes else "confidence"]
    line = CodedLine(
        cpt_code=code,
        confidence=float(confidence),
        rule_id=f"em_office.{kind}.mdm{levels[1]}",
        rules_version=rules_version(),
    )
    return VisitDecision(line, None)
