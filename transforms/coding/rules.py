"""Coding rule files: loading, validity by date of service and the rules version."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

RULES_DIR = Path(__file__).resolve().parent / "rules"
FAMILY_FILES = (
    "gi_endoscopy.yaml",
    "abdominal_surgery.yaml",
    "imaging.yaml",
    "general_surgery.yaml",
    "orthopedics_spine.yaml",
    "foot_ankle.yaml",
    "pain.yaml",
    "cardiology.yaml",
    "obstetrics_gynecology.yaml",
    "ent.yaml",
    "ophthalmology.yaml",
    "vascular_access.yaml",
    "urology.yaml",
    "skin.yaml",
    "neurosurgery.yaml",
    "immunization.yaml",
)


@dataclass(frozen=True)
class DocumentationGap:
    """What a fallback code lacks, and how to ask the author for it."""

    missing: str
    question: str


@dataclass(frozen=True)
class UnitCount:
    """How a per-unit code counts its units from the documentation.

    `count` names what is counted (`levels`: vertebrae or rib spaces named in
    the anchor's sentence, `interspaces`: disc spaces such as L4-L5,
    `anchor_concepts`: distinct anchor concepts, e.g. vaccines given); `minus`
    takes away the units the primary code already carries (an add-on for each
    additional level starts at the second).
    """

    count: str
    minus: int = 0


@dataclass(frozen=True)
class CodeRule:
    """One CPT code a group can produce, and the concepts that call for it."""

    rule_id: str
    cpt_code: str
    when: tuple[frozenset[str], ...]
    unless: frozenset[str]
    role: str
    specificity: int
    effective_from: dt.date
    effective_to: dt.date | None
    replaced_by: str | None
    add_on_of: frozenset[str]
    gap: DocumentationGap | None
    units: UnitCount | None = None
    size_cm: tuple[float, float] | None = None
    takes_side: bool = True

    def fits_size(self, size: float | None) -> bool:
        """Whether a measured size (cm) is over the range's low end, up to its high."""
        if self.size_cm is None:
            return True
        if size is None:
            # A band open at its low end (`[null, high]`) is the one to bill
            # when the note states no size or count.
            return self.size_cm[0] == float("-inf")
        return self.size_cm[0] < size <= self.size_cm[1]

    def is_effective(self, on: dt.date) -> bool:
        """Whether the code exists on a date of service."""
        if on < self.effective_from:
            return False
        return self.effective_to is None or on <= self.effective_to

    def matches(self, concepts: set[str]) -> bool:
        """Whether the performed concepts satisfy one of the rule's alternatives."""
        if self.unless & concepts:
            return False
        return any(required <= concepts for required in self.when)


@dataclass(frozen=True)
class ModifierRule:
    """A modifier added to a group's codes when concepts call for it.

    `indicated` concepts may also be stated as the reason for the encounter (an
    indication section), where no service is coded from; `first_diagnosis` is
    the ICD-10-CM code that leads the line's diagnoses when the modifier applies.
    """

    modifier: str
    when: frozenset[str]
    unless: frozenset[str]
    indicated: frozenset[str] = frozenset()
    first_diagnosis: str | None = None


@dataclass(frozen=True)
class CodeGroup:
    """Codes for one procedure, anchored on its concepts."""

    group: str
    family: str
    anchors: frozenset[str]
    anchor_sections: frozenset[str] | None
    combine: str
    codes: tuple[CodeRule, ...]
    modifiers: tuple[ModifierRule, ...] = field(default=())
    anchor_sets: tuple[frozenset[str], ...] = field(default=())
    yields_to: frozenset[str] = field(default=frozenset())
    unless_sections: frozenset[str] = field(default=frozenset())
    unless_codes: frozenset[str] = field(default=frozenset())
    is_sided: bool = False
    measure: str | None = None
    shared_concepts: frozenset[str] = field(default=frozenset())

    def is_anchored(self, concepts: set[str]) -> bool:
        """Whether the anchor concepts found make the procedure present."""
        if not self.anchor_sets:
            return bool(self.anchors & concepts)
        return any(required <= concepts for required in self.anchor_sets)

    @functools.cached_property
    def concepts(self) -> frozenset[str]:
        """Every concept the group's rules read (worked out once per group)."""
        used: set[str] = set(self.anchors)
        for rule in self.codes:
            for required in rule.when:
                used |= required
            used |= rule.unless
        for modifier in self.modifiers:
            used |= modifier.when | modifier.unless
        return frozenset(used)


def load_yaml(name: str) -> dict[str, Any]:
    """Read one YAML file of the rules folder.

    Args:
        name: file name inside transforms/coding/rules/.

    Returns:
        The parsed mapping.
    """
    with (RULES_DIR / name).open(encoding="utf-8") as handle:
        return dict(yaml.safe_load(handle))


def _as_date(value: Any) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def _code_rule(raw: dict[str, Any]) -> CodeRule:
    gap = raw.get("gap")
    return CodeRule(
        rule_id=raw["rule_id"],
        cpt_code=str(raw["cpt_code"]),
        when=tuple(frozenset(alternative) for alternative in raw["when"]),
        unless=frozenset(raw.get("unless", [])),
        role=raw.get("role", "primary"),
        specificity=int(raw.get("specificity", 0)),
        effective_from=_as_date(raw["effective_from"]) or dt.date.min,
        effective_to=_as_date(raw.get("effective_to")),
        replaced_by=raw.get("replaced_by"),
        add_on_of=frozenset(str(code) for code in raw.get("add_on_of", [])),
        gap=DocumentationGap(gap["missing"], gap["question"].strip()) if gap else None,
        units=_unit_count(raw.get("units")),
        size_cm=_size_range(raw.get("size_cm")),
        takes_side=bool(raw.get("sided", True)),
    )


def _size_range(raw: list[float] | None) -> tuple[float, float] | None:
    if raw is None:
        return None
    low, high = raw
    return (
        float("-inf") if low is None else float(low),
        float("inf") if high is None else float(high),
    )


def _unit_count(raw: dict[str, Any] | None) -> UnitCount | None:
    if raw is None:
        return None
    return UnitCount(count=str(raw["count"]), minus=int(raw.get("minus", 0)))


def _code_group(family: str, raw: dict[str, Any]) -> CodeGroup:
    sections = raw.get("anchor_sections")
    return CodeGroup(
        group=raw["group"],
        family=family,
        anchors=frozenset(raw["anchors"]),
        anchor_sections=frozenset(sections) if sections else None,
        combine=raw.get("combine", "exclusive"),
        codes=tuple(_code_rule(code) for code in raw["codes"]),
        anchor_sets=tuple(frozenset(item) for item in raw.get("anchor_sets", [])),
        yields_to=frozenset(raw.get("yields_to", [])),
        unless_sections=frozenset(raw.get("unless_sections", [])),
        unless_codes=frozenset(str(code) for code in raw.get("unless_codes", [])),
        is_sided=bool(raw.get("sided", False)),
        measure=raw.get("measure"),
        shared_concepts=frozenset(raw.get("shared_concepts", [])),
        modifiers=tuple(
            ModifierRule(
                modifier=str(item["modifier"]),
                when=frozenset(item["when"]),
                unless=frozenset(item.get("unless", [])),
                indicated=frozenset(item.get("indicated", [])),
                first_diagnosis=item.get("first_diagnosis"),
            )
            for item in raw.get("modifiers", [])
        ),
    )


@functools.cache
def load_groups() -> tuple[CodeGroup, ...]:
    """Load every procedure family's code groups.

    Returns:
        The groups of all family files, in file order.
    """
    groups: list[CodeGroup] = []
    for name in FAMILY_FILES:
        raw = load_yaml(name)
        groups.extend(_code_group(raw["family"], group) for group in raw["groups"])
    return tuple(groups)


@functools.cache
def load_common() -> dict[str, Any]:
    """Load the settings shared by every family (section weights, sites, sides).

    Returns:
        The parsed common.yaml.
    """
    return load_yaml("common.yaml")


@functools.cache
def rules_version() -> str:
    """Name the rule set in force: its declared version and a content digest.

    Returns:
        For example `2025.1+3f9a0c12`; any edit of a rule file changes it.
    """
    digest = hashlib.sha256()
    for path in sorted(RULES_DIR.iterdir()):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return f"{load_common()['version']}+{digest.hexdigest()[:8]}"
