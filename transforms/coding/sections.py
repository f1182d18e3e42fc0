"""Section texts of a document, split on the NLP stage's own header rules."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from cptflow.transforms.nlp.mentions import restore_line_breaks
from cptflow.transforms.nlp.pipeline import load_rule_file


@dataclass(frozen=True)
class SectionText:
    """The body of one section: its category and its text."""

    category: str
    text: str


@functools.cache
def _header_pattern() -> tuple[re.Pattern[str], dict[str, str]]:
    rules = load_rule_file("sections.json")["section_rules"]
    categories = {rule["literal"]: rule["category"] for rule in rules}
    literals = sorted(categories, key=len, reverse=True)

    # Headers are upper case in the notes we read; prose such as "the procedure:"
    # must not open a section.
    alternation = "|".join(re.escape(literal) for literal in literals)
    pattern = re.compile(rf"(?<![A-Za-z])(?:{alternation})")
    return pattern, categories


def split_sections(text: str) -> list[SectionText]:
    """Split a document's text into sections by their headers.

    Args:
        text: the document's text (pages joined).

    Returns:
        Sections in order; text before the first header is category `unknown`.
    """
    pattern, categories = _header_pattern()
    restored = restore_line_breaks(text)
    sections: list[SectionText] = []
    category, start = "unknown", 0
    for match in pattern.finditer(restored):
        sections.append(SectionText(category, restored[start : match.start()]))
        category, start = categories[match.group(0)], match.end()
    sections.append(SectionText(category, restored[start:]))
    return [section for section in sections if section.text.strip()]


def section_text(sections: list[SectionText], categories: set[str]) -> str:
    """Join the texts of the sections of some categories.

    Args:
        sections: what split_sections returned.
        categories: the categories wanted.

    Returns:
        Their texts in document order, one per line.
    """
    return "\n".join(s.text for s in sections if s.category in categories)
