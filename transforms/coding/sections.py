"""Section texts of a document, split on the NLP stage's own header rules."""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cptflow.transforms.coding.model import Evidence
from cptflow.transforms.nlp.mentions import PAGE_SEPARATOR, restore_line_breaks
from cptflow.transforms.nlp.pipeline import load_rule_file

SENTENCE_END = re.compile(r"[.;!?](?=\s|$)|\n")


@dataclass(frozen=True)
class SectionText:
    """The body of one section: its category, its text and where it starts.

    `start` is the offset of the body in the document text (pages joined), so
    `start + i` locates character `i` of `text`; `header` is the header as
    written, empty for text before the first header.
    """

    category: str
    text: str
    start: int = 0
    header: str = ""

    @property
    def end(self) -> int:
        """Offset just past the body in the document text."""
        return self.start + len(self.text)


@dataclass(frozen=True)
class DocumentText:
    """A document's pages joined the way the NLP stage joins them."""

    pages: tuple[tuple[int, str], ...]
    starts: tuple[int, ...]
    text: str
    restored: str

    @classmethod
    def of(cls, pages: Sequence[tuple[int, str]]) -> DocumentText:
        """Join pages with the NLP stage's page separator."""
        starts, offset = [], 0
        for _, text in pages:
            starts.append(offset)
            offset += len(text) + len(PAGE_SEPARATOR)
        joined = PAGE_SEPARATOR.join(text for _, text in pages)
        return cls(tuple(pages), tuple(starts), joined, restore_line_breaks(joined))

    def evidence(self, start: int, end: int) -> Evidence | None:
        """The span [start, end) of the joined text as page-local evidence.

        A span that crosses a page break is cut at the end of its first page;
        a span of blanks only gives None.
        """
        if not self.pages:
            return None
        index = max(bisect.bisect_right(self.starts, start) - 1, 0)
        number, page = self.pages[index]
        local_start = max(start - self.starts[index], 0)
        local_end = min(end - self.starts[index], len(page))
        while local_start < local_end and page[local_start].isspace():
            local_start += 1
        while local_end > local_start and page[local_end - 1].isspace():
            local_end -= 1
        if local_start >= local_end:
            return None
        return Evidence(number, local_start, local_end, page[local_start:local_end])

    def sentence(self, start: int, end: int, limit: int = 240) -> Evidence | None:
        """The sentence around [start, end) as evidence, at most `limit` long."""
        text = self.restored
        breaks = [
            m.end() for m in SENTENCE_END.finditer(text, max(start - limit, 0), start)
        ]
        first = breaks[-1] if breaks else max(start - limit, 0)
        closing = SENTENCE_END.search(text, end, min(end + limit, len(text)))
        last = closing.end() if closing else min(end + limit, len(text))
        return self.evidence(first, last)


@functools.cache
def _header_pattern(
    extra: tuple[tuple[str, str], ...] = (),
) -> tuple[re.Pattern[str], dict[str, str]]:
    rules = load_rule_file("sections.json")["section_rules"]
    categories = {rule["literal"].upper(): rule["category"] for rule in rules}
    categories.update((literal.upper(), category) for literal, category in extra)
    literals = sorted(categories, key=len, reverse=True)

    # An upper-case header opens a section anywhere (flattened transcriptions run
    # headers into the text); one in any case only at the start of a line, so
    # that prose such as "the procedure:" opens none.
    alternation = "|".join(re.escape(literal) for literal in literals)
    pattern = re.compile(
        rf"(?<![A-Za-z])(?P<upper>{alternation})"
        rf"|(?m:^)[ \t]*(?P<any>(?i:{alternation}))"
    )
    return pattern, categories


def _header(match: re.Match[str]) -> tuple[str, int]:
    """The header's literal as the rules spell it, and where it starts."""
    group = "upper" if match.group("upper") is not None else "any"
    return match.group(group).upper(), match.start(group)


def split_sections(
    text: str, extra_headers: Mapping[str, str] | None = None
) -> list[SectionText]:
    """Split a document's text into sections by their headers.

    Args:
        text: the document's text (pages joined).
        extra_headers: header literal -> category, added to (or overriding) the
            NLP stage's header rules, e.g. the E/M rules' visit headers.

    Returns:
        Sections in order; text before the first header is category `unknown`.
    """
    extra = tuple(sorted((extra_headers or {}).items()))
    pattern, categories = _header_pattern(extra)
    restored = restore_line_breaks(text)
    sections: list[SectionText] = []
    category, start, header = "unknown", 0, ""
    for match in pattern.finditer(restored):
        literal, begins = _header(match)
        sections.append(SectionText(category, restored[start:begins], start, header))
        category, start = categories[literal], match.end()
        header = match.group(0).strip()
    sections.append(SectionText(category, restored[start:], start, header))
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
