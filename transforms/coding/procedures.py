"""Procedure codes from performed mentions, by the family rule files."""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from cptflow.transforms.coding.components import is_included
from cptflow.transforms.coding.model import CodedLine, Evidence, PhysicianQuery
from cptflow.transforms.coding.rules import (
    CodeGroup,
    CodeRule,
    DocumentationGap,
    load_common,
    load_groups,
    rules_version,
)
from cptflow.transforms.nlp.mentions import Mention

SENTENCE_BREAK = re.compile(r"\.(?!\d)|[\n;]")
VERTEBRA = re.compile(r"\b([CTLS])\s?(\d{1,2})\b")
RANGE_JOIN = re.compile(r"^\s*(?:-|to|through|thru)\s*$", re.I)
SPINE_SEGMENTS = {"C": 0, "T": 7, "L": 19, "S": 24}
MEASURE = re.compile(
    r"\b(\d+(?:\.\d+)?(?:\s*(?:x|by)\s*\d+(?:\.\d+)?)*)\s*(cm|mm)\b", re.I
)
NUMBER = re.compile(r"\d+(?:\.\d+)?")
INFANT_AGE = re.compile(r"\b(?:month|week|day)s?\b", re.I)


@dataclass
class ProcedureCoding:
    """Procedure lines of a document and what kept others from being coded."""

    codes: list[CodedLine] = field(default_factory=list)
    queries: list[PhysicianQuery] = field(default_factory=list)
    review_reasons: list[str] = field(default_factory=list)
    # Groups none of whose codes fit, with their anchors: a reason unless
    # another group coded the same words (`_flag_unfit_groups`).
    unfit_groups: list[tuple[str, list[Mention]]] = field(default_factory=list)


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


def _choose(
    group: CodeGroup, concepts: set[str], on: dt.date, size: float | None = None
) -> list[CodeRule]:
    matched = [
        r
        for r in group.codes
        if r.is_effective(on) and r.matches(concepts) and r.fits_size(size)
    ]
    if group.combine == "techniques":
        techniques = [r for r in matched if r.role == "technique"]
        techniques.sort(key=lambda rule: -rule.specificity)
        return techniques or [r for r in matched if r.role == "base"][:1]
    # One primary code, the most specific; add-on codes ride along with it.
    primaries = sorted(
        (r for r in matched if not r.add_on_of), key=lambda rule: -rule.specificity
    )[:1]
    chosen = {r.cpt_code for r in primaries}
    add_ons = [r for r in matched if r.add_on_of & chosen]
    return primaries + add_ons


def _used_concepts(rule: CodeRule, concepts: set[str]) -> set[str]:
    for required in rule.when:
        if required <= concepts:
            return set(required)
    return set()


class PageTexts:
    """Page texts with their sentence breaks found once, for quick look-ups."""

    def __init__(self, pages: Sequence[tuple[int, str]]) -> None:
        """Index the pages.

        Args:
            pages: (page_number, text) pairs.
        """
        self.texts = dict(pages)
        self._breaks = {
            number: [m.start() for m in SENTENCE_BREAK.finditer(text)]
            for number, text in pages
        }

    def sentence(self, mention: Mention) -> str:
        """The sentence (or list line) a mention sits in."""
        start, end = self.bounds(mention)
        return self.texts.get(mention.page_number, "")[start:end]

    def bounds(self, mention: Mention) -> tuple[int, int]:
        """Page offsets of the sentence a mention sits in."""
        text = self.texts.get(mention.page_number, "")
        breaks = self._breaks.get(mention.page_number, [])
        before = bisect.bisect_left(breaks, mention.start)
        after = bisect.bisect_left(breaks, mention.end)
        start = breaks[before - 1] + 1 if before > 0 else 0
        end = breaks[after] if after < len(breaks) else len(text)
        return start, end


@functools.cache
def _word_pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    alternation = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"\b(?:{alternation})\b", re.I)


def _sites(mentions: list[Mention], texts: PageTexts) -> frozenset[str]:
    # The site word nearest a technique in its sentence is where it was done:
    # "snare of a transverse polyp and biopsy of a rectal lesion".
    pattern = _word_pattern(tuple(load_common()["sites"]))
    found: set[str] = set()
    for mention in mentions:
        start, end = texts.bounds(mention)
        text = texts.texts.get(mention.page_number, "")
        matches = list(pattern.finditer(text, start, end))
        if matches:
            nearest = min(matches, key=lambda m: _gap(m, mention))
            found.add(nearest.group(0).lower())
    return frozenset(found)


def _gap(match: re.Match[str], mention: Mention) -> int:
    if match.start() >= mention.end:
        return match.start() - mention.end
    return max(mention.start - match.end(), 0)


def _side(mentions: list[Mention], texts: PageTexts) -> str | None:
    sides: dict[str, str] = load_common()["sides"]
    pattern = _word_pattern(tuple(sides))
    found: set[str] = set()
    for mention in mentions:
        found |= {
            sides[m.group(0).lower()] for m in pattern.finditer(texts.sentence(mention))
        }
    if "50" in found or {"RT", "LT"} <= found:
        return "50"
    return found.pop() if len(found) == 1 else None


def _vertebra_index(letter: str, number: str) -> int:
    return SPINE_SEGMENTS[letter.upper()] + int(number)


def _spine_spans(sentence: str) -> list[tuple[int, int]]:
    # "T12 and L1" names two vertebrae; "L4-L5" or "T4 through T10" a range.
    found = [
        (m.start(), m.end(), _vertebra_index(m.group(1), m.group(2)))
        for m in VERTEBRA.finditer(sentence)
    ]
    spans: list[tuple[int, int]] = []
    index = 0
    while index < len(found):
        _, end, low = found[index]
        following = found[index + 1] if index + 1 < len(found) else None
        if following and RANGE_JOIN.match(sentence[end : following[0]]):
            spans.append((low, following[2]))
            index += 2
        else:
            spans.append((low, low))
            index += 1
    return spans


def _ordinal_levels(sentence: str) -> int:
    ordinals: dict[str, int] = load_common()["ordinals"]
    pattern = _word_pattern(tuple(ordinals))
    numbers = [ordinals[m.group(0).lower()] for m in pattern.finditer(sentence)]
    if len(numbers) >= 2 and re.search(r"\b(?:to|through|thru)\b|-", sentence):
        return abs(numbers[-1] - numbers[0]) + 1
    return len(set(numbers))


def nearest_size(mention: Mention, texts: PageTexts) -> float | None:
    """The size stated nearest a mention in its sentence, in cm (largest side).

    Args:
        mention: the mention of a measured service (an excision, a repair).
        texts: the document's page texts.

    Returns:
        The size, or None when the sentence states none.
    """
    start, end = texts.bounds(mention)
    text = texts.texts.get(mention.page_number, "")
    best: tuple[int, float] | None = None
    for match in MEASURE.finditer(text, start, end):
        largest = max(float(n) for n in NUMBER.findall(match.group(1)))
        size = largest / 10 if match.group(2).lower() == "mm" else largest
        if match.start() >= mention.end:
            distance = match.start() - mention.end
        else:
            distance = mention.start - match.end()
        if best is None or distance < best[0]:
            best = (distance, size)
    return best[1] if best else None


def measure_size(
    kind: str | None, mentions: list[Mention], texts: PageTexts
) -> float | None:
    """The size a group's code depends on, from its mentions' sentences.

    Args:
        kind: `diameter` (the largest size stated), `length_sum` (wound
            lengths added up, as CPT sums repairs of one class and site group),
            or `levels` / `interspaces` (a count, as count_units makes it,
            for codes banded by the vertebral segments spanned).
        mentions: the mentions describing the service.
        texts: the document's page texts.

    Returns:
        The size in cm (or the count), or None when none is stated.
    """
    if kind is None:
        return None
    if kind in ("levels", "interspaces"):
        counted = count_units(kind, [texts.sentence(m) for m in mentions])
        return float(counted) if counted else None
    sizes = [s for s in (nearest_size(m, texts) for m in mentions) if s is not None]
    if not sizes:
        return None

    # A wound listed and then described again gives its size twice: lengths
    # are added once per distinct value.
    return round(sum(set(sizes)), 2) if kind == "length_sum" else max(sizes)


def count_units(kind: str, sentences: list[str]) -> int:
    """Count levels or interspaces named in the sentences that describe a service.

    Args:
        kind: `levels` (vertebrae or rib spaces, a range counts each one) or
            `interspaces` (disc spaces: L4-L5 is one, L4-S1 two).
        sentences: the sentences of the service's anchor mentions.

    Returns:
        The count, 0 when none is stated.
    """
    spans = {span for sentence in sentences for span in _spine_spans(sentence)}
    if kind == "interspaces":
        # A lone vertebra ("at L5") names the space or foramen below it.
        spaces = {
            i
            for low, high in spans
            for i in range(min(low, high), max(max(low, high), min(low, high) + 1))
        }
        return len(spaces)
    levels = {
        i for low, high in spans for i in range(min(low, high), max(low, high) + 1)
    }
    if levels:
        return len(levels)
    return max((_ordinal_levels(sentence) for sentence in sentences), default=0)


@dataclass
class _GroupWork:
    group: CodeGroup
    anchors: list[Mention]
    qualifiers: list[Mention] = field(default_factory=list)
    patient: frozenset[str] = frozenset()
    reasons: frozenset[str] = frozenset()

    @property
    def concepts(self) -> set[str]:
        return {m.concept for m in self.anchors + self.qualifiers} | self.patient


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


def _add_group_modifiers(line: CodedLine, work: _GroupWork) -> None:
    concepts = work.concepts
    applied = [
        m
        for m in work.group.modifiers
        if m.when <= concepts
        and m.indicated <= concepts | work.reasons
        and not (m.unless & concepts)
    ]
    line.modifiers[:0] = [m.modifier for m in applied]
    line.lead_diagnoses.extend(m.first_diagnosis for m in applied if m.first_diagnosis)


def _reason_concepts(mentions: Sequence[Mention]) -> frozenset[str]:
    # Why the patient came ("screening colonoscopy, average risk") is written in
    # the indication, which codes no service but decides a preventive modifier.
    sections = set(load_common()["reason_sections"])
    return frozenset(
        m.concept for m in mentions if m.is_performed and m.section in sections
    )


def _mark_distinct_lesions(
    lines: list[tuple[CodedLine, list[Mention]]], texts: PageTexts
) -> None:
    # NCCI: a second technique on the same scope is separately payable only on a
    # distinct lesion; documentation shows that as different anatomic sites.
    distinct = str(load_common()["distinct_modifier"])
    seen: set[str] = set()
    for index, (line, support) in enumerate(lines):
        sites = _sites(support, texts)
        if index > 0 and sites and not (sites & seen):
            line.modifiers.append(distinct)
        seen |= sites


def _add_gap(
    line: CodedLine, cpt_code: str, gap: DocumentationGap, result: ProcedureCoding
) -> None:
    line.confidence = min(line.confidence, 0.6)
    line.needs_review = True
    line.review_reasons.append(f"documentation gap: {gap.missing}")
    result.queries.append(PhysicianQuery(cpt_code, gap.missing, gap.question))


def _apply_units(
    line: CodedLine,
    work: _GroupWork,
    rule: CodeRule,
    texts: PageTexts,
    result: ProcedureCoding,
) -> bool:
    if rule.units is None:
        return True

    # Per-item codes such as each further vaccine count the distinct anchor
    # concepts the note shows; the others count levels in the anchors' sentences.
    if rule.units.count == "anchor_concepts":
        counted = len({m.concept for m in work.anchors})
    else:
        sentences = [texts.sentence(m) for m in work.anchors]
        counted = count_units(rule.units.count, sentences)
    if counted == 0:
        gap = DocumentationGap(
            f"{rule.units.count}_count",
            load_common()["unit_questions"][rule.units.count].strip(),
        )
        _add_gap(line, rule.cpt_code, gap, result)
        return rule.units.minus == 0
    line.units = counted - rule.units.minus
    return line.units > 0


def _document_side(texts: PageTexts) -> str | None:
    # The procedure line may omit the side the diagnoses state ("Left breast
    # carcinoma"); it is safe to take only when the whole note names one side.
    sides: dict[str, str] = load_common()["sides"]
    pattern = _word_pattern(tuple(sides))
    found = {
        sides[m.group(0).lower()]
        for text in texts.texts.values()
        for m in pattern.finditer(text)
    }
    return found.pop() if len(found) == 1 else None


def _apply_side(
    line: CodedLine, work: _GroupWork, texts: PageTexts, result: ProcedureCoding
) -> None:
    side = _side(work.anchors, texts) or _document_side(texts)
    if side is not None:
        line.modifiers.append(side)
        return
    gap = DocumentationGap("laterality", load_common()["laterality_question"].strip())
    _add_gap(line, line.cpt_code, gap, result)


def _sentence_concepts(
    anchors: list[Mention], mentions: Sequence[Mention], texts: PageTexts
) -> set[str]:
    # Whoever owns them, the performed mentions in the sentences describing a
    # measured service say where it was done.
    spans = {(m.page_number, texts.bounds(m)) for m in anchors}
    return {
        m.concept
        for m in mentions
        if mention_weight(m) > 0
        and any(
            page == m.page_number and start <= m.start < end
            for page, (start, end) in spans
        )
    }


def _code_group(
    work: _GroupWork,
    on: dt.date,
    texts: PageTexts,
    result: ProcedureCoding,
    all_mentions: Sequence[Mention] = (),
) -> None:
    if work.group.combine == "per_anchor":
        _code_each_anchor(work, on, texts, result)
        return
    concepts = work.concepts
    described = [m for m in work.anchors if m.concept not in work.group.shared_concepts]
    size = measure_size(work.group.measure, described, texts)
    if work.group.measure is not None:
        concepts |= _sentence_concepts(described, all_mentions, texts)
    rules = _choose(work.group, concepts, on, size)
    if not rules:
        result.unfit_groups.append((work.group.group, work.anchors))
        return
    lines = [_line(work, rule, concepts) for rule in rules]
    if work.group.combine == "techniques":
        _mark_distinct_lesions(lines, texts)
    for (line, _), rule in zip(lines, rules, strict=True):
        _add_group_modifiers(line, work)
        if rule.gap is not None:
            _add_gap(line, rule.cpt_code, rule.gap, result)
        if not _apply_units(line, work, rule, texts, result):
            continue
        if work.group.is_sided and rule.takes_side:
            _apply_side(line, work, texts, result)
        result.codes.append(line)


def _sentence_work(work: _GroupWork, anchor: Mention, texts: PageTexts) -> _GroupWork:
    start, end = texts.bounds(anchor)
    inside = [
        m
        for m in work.qualifiers
        if m.page_number == anchor.page_number and start <= m.start < end
    ]
    return _GroupWork(
        work.group, [anchor], inside, patient=work.patient, reasons=work.reasons
    )


def _code_each_anchor(
    work: _GroupWork, on: dt.date, texts: PageTexts, result: ProcedureCoding
) -> None:
    # Lesions are coded one by one, each by its own site and size; lesions of
    # the same code add units, and a further code marks a separate lesion.
    shared_concepts = work.group.shared_concepts
    shared = {m.concept for m in work.anchors + work.qualifiers} & shared_concepts
    lesions = [m for m in work.anchors if m.concept not in shared_concepts]
    by_code: dict[str, CodedLine] = {}
    seen: set[tuple[int, int]] = set()
    described: set[tuple[frozenset[str], float | None, str | None]] = set()
    # A measured group codes the anchors that state a size; one that measures
    # nothing (a repair per eyelid) codes each anchor sentence.
    sized = [m for m in lesions if nearest_size(m, texts) is not None]
    if work.group.measure is None:
        sized = lesions
    for anchor in sorted(sized or lesions[:1], key=_order):
        bounds = texts.bounds(anchor)
        if (anchor.page_number, bounds[0]) in seen:
            continue
        seen.add((anchor.page_number, bounds[0]))
        lesion = _sentence_work(work, anchor, texts)
        concepts = lesion.concepts | shared
        size = measure_size(work.group.measure, [anchor], texts)

        # A lesion listed and then described again (same site, same size) is
        # one lesion.
        side = _side([anchor], texts)
        signature = (frozenset(lesion.concepts), size, side)
        is_restated = any(
            size == old_size
            and concepts_before >= signature[0]
            and side in (None, old_side)
            for concepts_before, old_size, old_side in described
        )
        if is_restated:
            continue
        described.add(signature)
        rules = _choose(work.group, concepts, on, size)
        if not rules:
            continue
        line, _ = _line(lesion, rules[0], concepts)
        _add_group_modifiers(line, lesion)
        if rules[0].gap is not None:
            _add_gap(line, rules[0].cpt_code, rules[0].gap, result)
        if line.cpt_code in by_code:
            by_code[line.cpt_code].units += 1
            by_code[line.cpt_code].evidence.extend(line.evidence)
        else:
            by_code[line.cpt_code] = line
    distinct = str(load_common()["distinct_modifier"])
    for index, line in enumerate(by_code.values()):
        # An anatomic modifier (eyelid, digit) already marks a separate site.
        if index > 0 and not line.modifiers:
            line.modifiers.append(distinct)
        result.codes.append(line)


def _drop_bundled(result: ProcedureCoding) -> None:
    # A group such as fluoroscopic guidance is not reported with a primary code
    # whose descriptor includes it.
    unless = {g.group: g.unless_codes for g in load_groups() if g.unless_codes}
    by_rule = {r.rule_id: g.group for g in load_groups() for r in g.codes}
    present = {line.cpt_code for line in result.codes}
    result.codes = [
        line
        for line in result.codes
        if not unless.get(by_rule.get(line.rule_id, ""), frozenset()) & present
    ]


def _drop_orphan_add_ons(result: ProcedureCoding) -> None:
    # An add-on code is never billed alone; one whose primary the note does not
    # support goes to a coder rather than vanishing.
    groups = load_groups()
    add_ons: dict[str, set[str]] = {}
    for rule in (r for g in groups for r in g.codes if r.add_on_of):
        add_ons.setdefault(rule.cpt_code, set()).update(rule.add_on_of)
    present = {line.cpt_code for line in result.codes}
    kept: list[CodedLine] = []
    for line in result.codes:
        if line.cpt_code in add_ons and not add_ons[line.cpt_code] & present:
            result.review_reasons.append(
                f"add-on {line.cpt_code} documented without a primary code"
            )
            continue
        kept.append(line)
    result.codes = kept


def _flag_unmapped(unowned: list[Mention], result: ProcedureCoding) -> None:
    common = load_common()
    present = {line.cpt_code for line in result.codes}
    sections = set(common["review_sections"])
    for concept in common["unmapped_procedure_concepts"]:
        performed = any(m.concept == concept and m.section in sections for m in unowned)
        if performed and not is_included(concept, present):
            result.review_reasons.append(
                f"procedure '{concept}' documented but no rule codes it"
            )


def _patient_concepts(mentions: Sequence[Mention]) -> frozenset[str]:
    # Age bands some codes split on (tonsillectomy at 12), from the first age
    # the note states, whatever its section.
    bands: dict[str, list[int]] = load_common()["age_bands"]
    for mention in mentions:
        if mention.concept != "patient_age":
            continue
        digits = re.match(r"\d+", mention.text)
        if digits is None:
            continue
        # An age given in months, weeks or days is a small child's: year 0.
        age = 0 if INFANT_AGE.search(mention.text) else int(digits.group(0))
        bands_in = {name for name, (low, high) in bands.items() if low <= age <= high}
        return frozenset(bands_in | {"age_stated"})
    return frozenset()


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
    texts = PageTexts(pages)
    if sections & set(load_common()["summary_sections"]):
        return ProcedureCoding()
    anchors = _active_anchors(groups, mentions, sections)
    patient = _patient_concepts(mentions)
    reasons = _reason_concepts(mentions)
    works = {
        g.group: _GroupWork(g, anchors[g.group], patient=patient, reasons=reasons)
        for g in groups
    }
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
            _code_group(work, on, texts, result, mentions)
    _drop_bundled(result)
    _drop_orphan_add_ons(result)
    _flag_unfit_groups(result, on)
    _flag_unmapped(unowned, result)
    return result


def _flag_unfit_groups(result: ProcedureCoding, on: dt.date) -> None:
    """A reason for each group that coded nothing, unless its words are coded.

    Two families can read the same words ("evacuation of epidural hematoma" is
    cranial or spinal); when one of them coded a line from those words, the
    other one's misfit is expected, not a gap.
    """
    coded = {(e.page, e.start) for line in result.codes for e in line.evidence}
    for group, anchors in result.unfit_groups:
        if all((m.page_number, m.start) in coded for m in anchors):
            continue
        result.review_reasons.append(
            f"{group} documented but no code in force on {on} fits what the note says"
        )
