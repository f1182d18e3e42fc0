"""E/M services: setting, patient status and level from MDM or time, with evidence."""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from cptflow.transforms.coding.model import CodedLine, Evidence, PhysicianQuery
from cptflow.transforms.coding.rules import load_yaml, rules_version
from cptflow.transforms.coding.sections import (
    DocumentText,
    SectionText,
    split_sections,
)

LIST_ITEM = re.compile(r"(?:^|\n)\s*\d{1,2}[.)]\s+")
SETTING_FILES = (
    "em_office.yaml",
    "em_hospital.yaml",
    "em_ed.yaml",
    "em_consult.yaml",
    "em_nutrition.yaml",
)
DECISION_SECTIONS = {"impression", "plan", "course"}
HISTORY_SECTIONS = {"history", "brief_history", "unknown"}
DATA_SECTIONS = DECISION_SECTIONS | {"data"}
MORE_THAN = re.compile(r"(more|greater) than|over|>|exceed\w*", re.I)
MAX_EVIDENCE = 8


@dataclass(frozen=True)
class VisitDecision:
    """An E/M line, or why the document got none."""

    line: CodedLine | None
    review_reason: str | None
    query: PhysicianQuery | None = None


@dataclass
class _Element:
    """One MDM element's level and the spans (document offsets) behind it."""

    level: int
    spans: list[tuple[int, int]] = field(default_factory=list)


@dataclass(frozen=True)
class _Setting:
    name: str
    weak: bool
    default: bool
    span: tuple[int, int] | None
    review: str | None = None


@functools.cache
def load_em_rules() -> dict[str, Any]:
    """Load the E/M rule files: shared cues, then each setting's level tables.

    Returns:
        em_common.yaml with `levels` and `discharge` merged from the others.
    """
    rules = load_yaml("em_common.yaml")
    rules["levels"] = {}
    for name in SETTING_FILES:
        raw = load_yaml(name)
        rules["levels"].update(raw.get("levels", {}))
        for key in (
            "discharge",
            "established_cues",
            "new_cues",
            "minimal_visit",
            "nutrition",
        ):
            if key in raw:
                rules[key] = raw[key]
    return rules


@functools.cache
def _compiled(pattern: str, flags: int) -> re.Pattern[str]:
    return re.compile(pattern, flags)


def _matches(
    patterns: list[str], sections: list[SectionText], categories: set[str] | None
) -> Iterator[tuple[int, int]]:
    for section in sections:
        if categories is not None and section.category not in categories:
            continue
        for pattern in patterns:
            for match in _compiled(pattern, re.I).finditer(section.text):
                yield section.start + match.start(), section.start + match.end()


def _first(
    patterns: list[str], sections: list[SectionText], categories: set[str] | None
) -> tuple[int, int] | None:
    return next(_matches(patterns, sections, categories), None)


def em_sections(
    document: DocumentText, more_headers: dict[str, str] | None = None
) -> list[SectionText]:
    """Split a document into sections with the E/M rules' extra headers.

    Args:
        document: the document's joined pages.
        more_headers: further header literal -> category pairs, such as the
            diagnosis headers of the ICD-10-CM linking rules.

    Returns:
        The sections, offsets into the joined text.
    """
    headers = {**load_em_rules()["extra_headers"], **(more_headers or {})}
    return split_sections(document.text, headers)


def visit_kind(sections: list[SectionText]) -> str:
    """Whether the document reads as a visit, and whether it also holds a procedure.

    Args:
        sections: what em_sections returned.

    Returns:
        `visit` (history and assessment, no procedure report sections),
        `visit_with_procedure` (a full visit beside a procedure section, the
        case for modifier 25), `incomplete` (history and exam, no assessment)
        or `none`.
    """
    rules = load_em_rules()
    categories = _visit_categories({s.category for s in sections}, rules)
    has_assessment = bool(categories & set(rules["assessment_sections"]))
    has_exam = bool(categories & set(rules["exam_sections"]))
    has_brief = bool(categories & set(rules["brief_history_sections"]))
    has_history = bool(categories & set(rules["visit_sections"])) or (
        has_brief and has_exam
    )
    if categories & set(rules["procedure_report_sections"]):
        blocked = categories & set(rules["separate_visit_blockers"])
        full = has_history and has_exam and has_assessment
        return "visit_with_procedure" if full and not blocked else "none"
    # A hospital or ED course is a service record by itself; a visit whose
    # history has no header still shows its exam and assessment.
    if "course" in categories or (has_history or has_exam) and has_assessment:
        return "visit"
    if has_history and has_exam:
        return "incomplete"
    return "none"


def _visit_categories(categories: set[str], rules: dict[str, Any]) -> set[str]:
    # "EXAM:" heads an imaging report's study, but in a note with a history of
    # present illness and an assessment, and none of a report's own sections,
    # it is the physical exam.
    if "exam_title" not in categories:
        return categories
    visit = categories & set(rules["visit_sections"]) and categories & set(
        rules["assessment_sections"]
    )
    if visit and not categories & set(rules["imaging_report_sections"]):
        return (categories - {"exam_title"}) | {"physical_exam"}
    return categories


def visit_setting(document: DocumentText, sections: list[SectionText]) -> str:
    """Name the setting the note's content points to (office, ed, discharge...).

    Args:
        document: the document's joined pages.
        sections: what em_sections returned for it.

    Returns:
        The setting of the first em_common.yaml cue that matches.
    """
    return _setting(document, sections).name


def _setting(document: DocumentText, sections: list[SectionText]) -> _Setting:
    rules = load_em_rules()
    for cue in rules["settings"]:
        span = None
        for pattern in cue["headers"]:
            match = _compiled(pattern, 0).search(document.restored)
            if match:
                span = match.span()
                break
        if span is None and cue["phrases"]:
            scope = set(cue["sections"]) if cue.get("sections") else None
            span = _first(cue["phrases"], sections, scope)
        is_default = not cue["headers"] and not cue["phrases"]
        if span is not None or is_default:
            return _Setting(
                cue["setting"],
                bool(cue.get("weak")),
                is_default,
                span,
                cue.get("review"),
            )
    return _Setting("office", False, True, None)


def _items(text: str) -> list[str]:
    items = [item.strip() for item in LIST_ITEM.split(text) if item.strip()]
    return items or ([text.strip()] if text.strip() else [])


def _problems(sections: list[SectionText], rules: dict[str, Any]) -> _Element:
    cues = rules["problems"]
    scope = (
        {"impression"}
        if any(s.category == "impression" for s in sections)
        else {"plan"}
    )
    text = "\n".join(s.text for s in sections if s.category in scope)
    items = _items(text)
    chronic = sum(1 for item in items if _any(cues["chronic"], item))
    high = _first(cues["high"], sections, scope)
    moderate = _first(cues["moderate"], sections, scope)
    if high:
        return _Element(4, [high])
    if moderate:
        return _Element(3, [moderate])
    if chronic >= 2 or len(items) >= int(cues["moderate_items"]):
        return _Element(3, [])
    if len(items) == 1 and _any(cues["minimal"], text):
        return _Element(1, [])
    return _Element(2 if items else 1, [])


def _any(patterns: list[str], text: str) -> bool:
    return any(_compiled(pattern, re.I).search(text) for pattern in patterns)


def _data(sections: list[SectionText], rules: dict[str, Any]) -> _Element:
    cues = rules["data"]
    tests: dict[str, tuple[int, int]] = {}
    for start, end in _matches(cues["tests"], sections, DATA_SECTIONS):
        word = _span_text(sections, start, end).lower()
        tests.setdefault(word, (start, end))
    notes = _first(cues["external_notes"], sections, None)
    historian = _first(cues["independent_historian"], sections, HISTORY_SECTIONS)
    interpretation = _first(cues["interpretation"], sections, None)
    discussion = _first(cues["discussion"], sections, None)

    spans = [*tests.values(), *(s for s in (notes, historian) if s)]
    category_one = len(tests) + bool(notes) + bool(historian)
    categories = (category_one >= 3) + bool(interpretation) + bool(discussion)
    spans += [s for s in (interpretation, discussion) if s]
    if categories >= 2:
        return _Element(4, spans)
    if categories == 1:
        return _Element(3, spans)
    if category_one >= 2 or historian:
        return _Element(2, spans)
    return _Element(1, spans)


def _span_text(sections: list[SectionText], start: int, end: int) -> str:
    for section in sections:
        if section.start <= start < section.end:
            return section.text[start - section.start : end - section.start]
    return ""


def _risk(sections: list[SectionText], rules: dict[str, Any]) -> _Element:
    cues = rules["risk"]
    for level, name in ((4, "high"), (3, "moderate"), (2, "low")):
        found = list(_matches(cues[name], sections, DECISION_SECTIONS))
        if found:
            return _Element(level, found[:2])
    return _Element(1, [])


def _minutes(sections: list[SectionText], rules: dict[str, Any]) -> _Element | None:
    words: dict[str, int] = rules["number_words"]
    cues = [(p, 1) for p in rules["time_cues"]] + [(p, 60) for p in rules["hour_cues"]]
    for pattern, scale in cues:
        for section in sections:
            match = _compiled(pattern, re.I).search(section.text)
            if not match:
                continue
            number = match.group(1).lower()
            minutes = (int(number) if number.isdigit() else words[number]) * scale
            before = section.text[max(match.start(1) - 16, 0) : match.start(1)]

            # "More than 30 minutes" is at least 31 for the time thresholds.
            if MORE_THAN.search(before):
                minutes += 1
            span = (section.start + match.start(), section.start + match.end())
            return _Element(minutes, [span])
    return None


def _effective(rows: list[dict[str, Any]], on: dt.date) -> list[dict[str, Any]]:
    return [
        row
        for row in rows
        if dt.date.fromisoformat(str(row["effective_from"])) <= on
        and (
            row.get("effective_to") is None
            or on <= dt.date.fromisoformat(str(row["effective_to"]))
        )
    ]


def _level_code(
    rows: list[dict[str, Any]], mdm: int, minutes: int | None
) -> tuple[dict[str, Any] | None, bool]:
    by_mdm = [row for row in rows if row["mdm"] <= mdm]
    by_time = [
        row
        for row in rows
        if minutes is not None and "minutes" in row and row["minutes"] <= minutes
    ]

    # The level is whichever of MDM or time supports more (CPT 2021/2023 rules).
    best_mdm = max(by_mdm, key=lambda row: row["mdm"], default=None)
    best_time = max(by_time, key=lambda row: row["mdm"], default=None)
    if best_time is not None and (
        best_mdm is None or best_time["mdm"] > best_mdm["mdm"]
    ):
        return best_time, True
    return best_mdm, False


def _discharge_code(
    on: dt.date, minutes: int | None, rules: dict[str, Any]
) -> dict[str, Any] | None:
    for row in _effective(rules["discharge"], on):
        low = int(row.get("min_minutes", 0))
        high = int(row.get("max_minutes", 10_000))
        if low <= (minutes or 0) <= high:
            return row
    return None


def _patient_status(sections: list[SectionText], rules: dict[str, Any]) -> str | None:
    if _first(rules["new_cues"], sections, HISTORY_SECTIONS):
        return "new"
    if _first(rules["established_cues"], sections, HISTORY_SECTIONS):
        return "established"
    return None


def _minimal_visit(
    sections: list[SectionText], rules: dict[str, Any], on: dt.date
) -> bool:
    # A nurse's visit has no physician examination.
    minimal = rules["minimal_visit"]
    if not _effective([minimal], on):
        return False
    if any(s.category in rules["exam_sections"] for s in sections):
        return False
    return _first(minimal["cues"], sections, HISTORY_SECTIONS) is not None


def _table(setting: str, document: DocumentText, rules: dict[str, Any]) -> str:
    if setting != "consult":
        return setting
    inpatient = any(
        _compiled(pattern, re.I).search(document.restored)
        for pattern in rules["inpatient_cues"]
    )
    return "inpatient_consult" if inpatient else "office_consult"


def _evidence(
    document: DocumentText, sections: list[SectionText], spans: list[tuple[int, int]]
) -> list[Evidence]:
    opening = next(
        (s for s in sections if s.category in {"history", "brief_history", "course"}),
        None,
    )
    if opening is not None:
        spans = [(opening.start - len(opening.header), opening.start + 1), *spans]
    assessment = next((s for s in sections if s.category == "impression"), None)
    if assessment is not None:
        first = len(assessment.text) - len(assessment.text.lstrip())
        spans.append((assessment.start + first, assessment.start + first + 1))

    found: list[Evidence] = []
    for start, end in spans:
        span = document.sentence(start, end)
        if span is not None and span not in found:
            found.append(span)
    return sorted(found, key=lambda e: (e.page, e.start))[:MAX_EVIDENCE]


def _confidence(
    setting: _Setting, status: str | None, by_time: bool, rules: dict[str, Any]
) -> float:
    weights = rules["confidence"]
    value = float(weights["base"])
    if setting.weak:
        value += float(weights["weak_setting"])
    if setting.default:
        value += float(weights["default_setting"])
    if setting.name == "office" and status is None:
        value += float(weights["patient_status_unknown"])
    if by_time:
        value += float(weights["time_decides"])
    return round(min(value, 0.99), 3)


def code_visit(
    document: DocumentText,
    sections: list[SectionText],
    on: dt.date,
    *,
    same_day_procedure: bool = False,
) -> VisitDecision:
    """Pick the E/M code of a visit, consult, ED, admission or discharge note.

    Args:
        document: the document's joined pages, for evidence offsets.
        sections: what em_sections returned for it.
        on: the date of service.
        same_day_procedure: a procedure of the same note was coded; the E/M is
            then reported with modifier 25.

    Returns:
        The E/M line with its evidence, or the reason none was chosen.
    """
    rules = load_em_rules()
    setting = _setting(document, sections)
    if setting.review:
        return VisitDecision(None, setting.review)
    time = _minutes(sections, rules)
    minutes = time.level if time else None
    if setting.name == "discharge":
        row = _discharge_code(on, minutes, rules)
        decision = f"em.discharge.{'time' if minutes else 'default'}"
        spans = [setting.span] if setting.span else []
        return _decision(
            document,
            sections,
            row,
            decision,
            spans + (time.spans if time else []),
            _confidence(setting, "n/a", bool(minutes), rules),
            same_day_procedure,
            on,
        )

    if setting.name == "nutrition":
        return _nutrition(document, sections, setting, time, on, rules)

    elements = [
        _problems(sections, rules),
        _data(sections, rules),
        _risk(sections, rules),
    ]

    # Two of three MDM elements must reach a level: the middle of the three.
    mdm = sorted(element.level for element in elements)[1]
    status = _patient_status(sections, rules) if setting.name == "office" else "n/a"
    table = _table(setting.name, document, rules)
    if table == "office":
        table = "established" if status == "established" else "new"
    if setting.name == "ed":
        minutes = None
    row, by_time = _level_code(_effective(rules["levels"][table], on), mdm, minutes)
    if table == "established" and _minimal_visit(sections, rules, on):
        row, by_time = rules["minimal_visit"], False
    spans = [setting.span] if setting.span else []
    spans += [span for element in elements for span in element.spans[:2]]
    if by_time and time:
        spans += time.spans
    rule_id = f"em.{table}.{'time' if by_time else f'mdm{mdm}'}"
    confidence = _confidence(setting, status, by_time, rules)
    return _decision(
        document, sections, row, rule_id, spans, confidence, same_day_procedure, on
    )


def _nutrition(
    document: DocumentText,
    sections: list[SectionText],
    setting: _Setting,
    time: _Element | None,
    on: dt.date,
    rules: dict[str, Any],
) -> VisitDecision:
    table = rules["nutrition"]
    status = _patient_status(sections, rules) or "new"
    rows = [row for row in _effective(table["codes"], on) if row["status"] == status]
    spans = [s for s in [setting.span, *(time.spans if time else [])] if s]
    decision = _decision(
        document,
        sections,
        rows[0] if rows else None,
        f"em.nutrition.{status}",
        spans,
        _confidence(setting, status, False, rules),
        False,
        on,
    )
    if decision.line is None:
        return decision

    # Medical nutrition therapy is reported per 15 minutes; with no time
    # documented one unit is all the note supports.
    if time is None or time.level < int(table["minimum_minutes"]):
        query = PhysicianQuery(
            decision.line.cpt_code,
            "face-to-face time",
            "Please document the minutes of nutrition therapy on this date.",
        )
        decision.line.needs_review = True
        decision.line.review_reasons.append("documentation gap: face-to-face time")
        return VisitDecision(decision.line, None, query)
    decision.line.units = max(1, round(time.level / int(table["minutes_per_unit"])))
    return decision


def _decision(
    document: DocumentText,
    sections: list[SectionText],
    row: dict[str, Any] | None,
    rule_id: str,
    spans: list[tuple[int, int]],
    confidence: float,
    same_day_procedure: bool,
    on: dt.date,
) -> VisitDecision:
    if row is None:
        return VisitDecision(None, f"no E/M rule of {rule_id} is in effect on {on}")
    line = CodedLine(
        cpt_code=str(row["cpt_code"]),
        confidence=confidence,
        evidence=_evidence(document, sections, spans),
        rule_id=rule_id,
        rules_version=rules_version(),
    )
    if same_day_procedure:
        line.modifiers.append("25")
        line.confidence = round(
            confidence + float(load_em_rules()["confidence"]["same_day_procedure"]), 3
        )
    return VisitDecision(line, None)


def incomplete_visit() -> VisitDecision:
    """The decision for a visit note that records no assessment or plan.

    Returns:
        No line, a review reason and the physician query that would unblock it.
    """
    query = PhysicianQuery(
        cpt_code="E/M",
        missing="assessment and plan",
        question=(
            "The note records a history and examination but no assessment or "
            "plan; please document the problems addressed and their management."
        ),
    )
    return VisitDecision(None, "visit note without an assessment or plan", query)
