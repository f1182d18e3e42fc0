"""Procedure codes from performed mentions, by the family rule files."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from cptflow.transforms.coding.model import CodedLine, Evidence, PhysicianQuery
from cptflow.transforms.coding.rules import (
    CodeGroup,
    CodeRule,
    load_common,
    load_groups,
    rules_version,
)
from cptflow.transforms.nlp.mentions import Mention

SENTENCE_BREAK = re.compile(r"[.\n;]")


@dataclass
class ProcedureCoding:
    """Procedure lines of a document and what kept others from being coded."""

    codes: list[CodedLine] = field(default_factory=list)
    queries: list[PhysicianQuery] = field(default_factory=list)
    review_reasons: list[str] = field(default_factory=list)


def mention_weight(mention: Mention) -> float:
    """How strongly a mention shows a service performed here, from 0 to 1."""
    if not mention.is_performed:
        return 0.0
    weights: dict[str, float] = load_common()["section_weights"]
    return float(weights.get(mention.section, weights["unknown"]))


def _order(mention: Mention) -> tuple[int, int]:
    return (mention.page_number, mention.start)


def _anchor_mentions(group: CodeGroup, mentions: Sequence[Mention]) -> list[Mention]:
    found = [
        m
        for m in mentions
        if m.concept in group.anchors
        and mention_weight(m) > 0
        and (group.anchor_sections is None or m.section in group.anchor_sections)
    ]
    return found if group.is_anchored({m.concept for m in found}) else []


def _active_anchors(
    groups: list[CodeGroup], mentions: Sequence[Mention], sections: set[str]
) -> dict[str, list[Mention]]:
    anchors = {
        g.group: [] if g.unless_sections & sections else _anchor_mentions(g, mentions)
        for g in groups
    }

    # A group gives way to a combined one, e.g. CT abdomen to CT abdomen and
    # pelvis, whose code covers both studies.
    for group in groups:
        if any(anchors.get(name) for name in group.yields_to):
            anchors[group.group] = []
    return anchors


def _owner(
    mention: Mention, anchors: dict[str, list[Mention]], groups: list[CodeGroup]
) -> str | None:
    # A technique belongs to the scope or operation named most recently before
    # it, so biopsies after "EGD" do not count for a colonoscopy in the same note.
    candidates = [g for g in groups if mention.concept in g.concepts]
    best: tuple[int, tuple[int, int], str] | None = None
    for group in candidates:
        for anchor in anchors[group.group]:
            after = _order(anchor) <= _order(mention)
            key = (0 if after else 1, _distance(anchor, mention), group.group)
            best = key if best is None or key < best else best
    return best[2] if best else None


def _distance(a: Mention, b: Mention) -> tuple[int, int]:
    return (abs(a.page_number - b.page_number), abs(a.start - b.start))


def _choose(group: CodeGroup, concepts: set[str], on: dt.date) -> list[CodeRule]:
    matched = [r for r in group.codes if r.is_effective(on) and r.matches(concepts)]
    if group.combine == "techniques":
        techniques = [r for r in matched if r.role == "technique"]
        techniques.sort(key=lambda rule: -rule.specificity)
        return techniques or [r for r in matched if r.role == "base"][:1]
    matched.sort(key=lambda rule: -rule.specificity)
    return matched[:1]


def _used_concepts(rule: CodeRule, concepts: set[str]) -> set[str]:
    for required in rule.when:
        if required <= concepts:
            return set(required)
    return set()


def _sentence(mention: Mention, texts: dict[int, str]) -> str:
    text = texts.get(mention.page_number, "")
    starts = [m.end() for m in SENTENCE_BREAK.finditer(text, 0, mention.start)]
    end_match = SENTENCE_BREAK.search(text, mention.end)
    return text[starts[-1] if starts else 0 : end_match.start() if end_match else None]


def _sites(mentions: list[Mention], texts: dict[int, str]) -> frozenset[str]:
    words: list[str] = load_common()["sites"]
    found: set[str] = set()
    for mention in mentions:
        sentence = _sentence(mention, texts).lower()
        found |= {w for w in words if re.search(rf"\b{re.escape(w)}\b", sentence)}
    return frozenset(found)


@dataclass
class _GroupWork:
    group: CodeGroup
    anchors: list[Mention]
    qualifiers: list[Mention] = field(default_factory=list)

    @property
    def concepts(self) -> set[str]:
        return {m.concept for m in self.anchors + self.qualifiers}


def _line(
    work: _GroupWork, rule: CodeRule, concepts: set[str]
) -> tuple[CodedLine, list[Mention]]:
    used = _used_concepts(rule, concepts)
    support = [m for m in work.qualifiers if m.concept in used]
    anchor_weight = max(mention_weight(m) for m in work.anchors)
    support_weight = max((mention_weight(m) for m in support), default=1.0)
    confidence = 0.5 + 0.5 * min(anchor_weight, support_weight)
    evidence = [
        Evidence(m.page_number, m.start, m.end, m.text)
        for m in sorted(work.anchors + support, key=_order)
    ]
    line = CodedLine(
        cpt_code=rule.cpt_code,
        confidence=round(confidence, 3),
        evidence=evidence,
        rule_id=rule.rule_id,
        rules_version=rules_version(),
    )
    return line, support


def _group_modifiers(work: _GroupWork) -> list[str]:
    concepts = work.concepts
    return [
        m.modifier
        for m in work.group.modifiers
        if m.when <= concepts and not (m.unless & concepts)
    ]


def _mark_distinct_lesions(
    lines: list[tuple[CodedLine, list[Mention]]], texts: dict[int, str]
) -> None:
    # NCCI: a second technique on the same scope is separately payable only on a
    # distinct lesion; documentation shows that as different anatomic sites.
    seen: set[str] = set()
    for index, (line, support) in enumerate(lines):
        sites = _sites(support, texts)
        if index > 0 and sites and not (sites & seen):
            line.modifiers.append("XS")
        seen |= sites


def _code_group(
    work: _GroupWork, on: dt.date, texts: dict[int, str], result: ProcedureCoding
) -> None:
    concepts = work.concepts
    rules = _choose(work.group, concepts, on)
    if not rules:
        result.review_reasons.append(
            f"{work.group.group} documented but no code rule is in effect on {on}"
        )
        return
    lines = [_line(work, rule, concepts) for rule in rules]
    _mark_distinct_lesions(lines, texts)
    for (line, _), rule in zip(lines, rules, strict=True):
        line.modifiers[:0] = _group_modifiers(work)
        if rule.gap is not None:
            line.confidence = min(line.confidence, 0.6)
            line.needs_review = True
            line.review_reasons.append(f"documentation gap: {rule.gap.missing}")
            result.queries.append(
                PhysicianQuery(rule.cpt_code, rule.gap.missing, rule.gap.question)
            )
        result.codes.append(line)


def _drop_orphan_add_ons(result: ProcedureCoding) -> None:
    groups = load_groups()
    add_ons = {r.cpt_code: r.add_on_of for g in groups for r in g.codes if r.add_on_of}
    present = {line.cpt_code for line in result.codes}
    result.codes = [
        line
        for line in result.codes
        if line.cpt_code not in add_ons or add_ons[line.cpt_code] & present
    ]


def _flag_unmapped(unowned: list[Mention], result: ProcedureCoding) -> None:
    common = load_common()
    bundled: dict[str, list[str]] = common["bundled_concepts"]
    present = {line.cpt_code for line in result.codes}
    sections = set(common["review_sections"])
    for concept in common["unmapped_procedure_concepts"]:
        performed = any(m.concept == concept and m.section in sections for m in unowned)
        if performed and not set(bundled.get(concept, [])) & present:
            result.review_reasons.append(
                f"procedure '{concept}' documented but no rule codes it"
            )


def code_procedures(
    pages: Sequence[tuple[int, str]],
    mentions: Sequence[Mention],
    on: dt.date,
    sections: set[str],
) -> ProcedureCoding:
    """Code the procedures a document shows as performed by its author.

    Args:
        pages: (page_number, text) pairs.
        mentions: the document's mentions from find_mentions.
        on: the date of service, which decides the codes in effect.
        sections: the section categories the document has.

    Returns:
        Lines, queries and review reasons.
    """
    groups = list(load_groups())
    texts = dict(pages)
    anchors = _active_anchors(groups, mentions, sections)
    works = {g.group: _GroupWork(g, anchors[g.group]) for g in groups}
    anchor_concepts = {c for g in groups for c in g.anchors if anchors[g.group]}
    unowned: list[Mention] = []

    for mention in mentions:
        if mention.concept in anchor_concepts or mention_weight(mention) == 0:
            continue
        owner = _owner(mention, anchors, groups)
        if owner is None:
            unowned.append(mention)
        else:
            works[owner].qualifiers.append(mention)

    result = ProcedureCoding()
    for work in works.values():
        if work.anchors:
            _code_group(work, on, texts, result)
    _drop_orphan_add_ons(result)
    _flag_unmapped(unowned, result)
    return result
