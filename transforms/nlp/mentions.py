"""Procedure mentions found in page texts, with their section and context."""

from __future__ import annotations

import bisect
import functools
import logging
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl
from spacy.tokens import Doc, Span

from cptflow.transforms.nlp.pipeline import build_pipeline, load_rule_file

logger = logging.getLogger(__name__)

PAGE_SEPARATOR = "\n\n"
TITLE_MAX_WORDS = 12

MENTION_SCHEMA: dict[str, pl.DataType] = {
    "mention_id": pl.String(),
    "document_id": pl.String(),
    "partition_date": pl.Date(),
    "page_number": pl.Int32(),
    "start": pl.Int32(),
    "end": pl.Int32(),
    "text": pl.String(),
    "concept": pl.String(),
    "section": pl.String(),
    "is_negated": pl.Boolean(),
    "is_historical": pl.Boolean(),
    "is_hypothetical": pl.Boolean(),
    "is_family": pl.Boolean(),
    "is_other_provider": pl.Boolean(),
}


@dataclass(frozen=True)
class Mention:
    """One matched concept, located by page and page-text offsets."""

    page_number: int
    start: int
    end: int
    text: str
    concept: str
    section: str
    is_negated: bool = False
    is_historical: bool = False
    is_hypothetical: bool = False
    is_family: bool = False
    is_other_provider: bool = False

    @property
    def is_performed(self) -> bool:
        """Whether no context modifier rules the mention out as done here."""
        return not (
            self.is_negated
            or self.is_historical
            or self.is_hypothetical
            or self.is_family
            or self.is_other_provider
        )


def _join_pages(pages: Sequence[tuple[int, str]]) -> tuple[str, list[int]]:
    starts: list[int] = []
    parts: list[str] = []
    offset = 0
    for _, text in pages:
        starts.append(offset)
        parts.append(text)
        offset += len(text) + len(PAGE_SEPARATOR)
    return PAGE_SEPARATOR.join(parts), starts


@functools.lru_cache(maxsize=8)
def restore_line_breaks(text: str) -> str:
    """Turn commas that stand for lost line breaks into line breaks.

    The NLP pass and the coding engine restore the same document text several
    times, so the last few results are kept.

    Args:
        text: a document's text.

    Returns:
        A text of the same length, so offsets into it are offsets into `text`.
    """
    chars = list(text)
    for pattern in _line_break_patterns():
        for match in pattern.finditer(text):
            start, end = match.span("brk")
            chars[start:end] = "\n" * (end - start)
    return "".join(chars)


@functools.cache
def _line_break_patterns() -> list[re.Pattern[str]]:
    patterns = load_rule_file("line_breaks.json")["line_break_patterns"]
    return [re.compile(pattern) for pattern in patterns]


def _section_of(span: Span, first_line_end: int, study_headers: set[int]) -> str:
    category = span._.section_category
    title = span._.section_title
    config = load_study_headers()
    if category == config["ambiguous_category"]:
        is_study = title is not None and title.start_char in study_headers
        category = config["study_category" if is_study else "other_category"]

    # An exam line names one study; what runs on past it under the same header
    # ("NEURO EXAM: ... Brain CT revealed") is an examination, not the study.
    if category == config["study_category"] and title is not None:
        line_end = _first_line_end_after(span.doc.text, title.end_char)
        if span.start_char > line_end:
            return str(config["other_category"])
    if category:
        return str(category)
    if span.start_char < first_line_end:
        return "title"
    return "unknown"


def _first_line_end(text: str) -> int:
    stripped = text.lstrip()
    line_end = stripped.find("\n")
    if line_end < 0:
        line_end = len(stripped)

    # Only a short first line reads as a title, such as "CHEST TWO VIEWS".
    if len(stripped[:line_end].split()) > TITLE_MAX_WORDS:
        return 0
    return len(text) - len(stripped) + line_end


def _mention_of(
    span: Span,
    pages: Sequence[tuple[int, str]],
    starts: list[int],
    first_line_end: int,
    section_attributes: dict[str, str],
    study_headers: set[int],
) -> Mention:
    index = bisect.bisect_right(starts, span.start_char) - 1
    offset = starts[index]
    section = _section_of(span, first_line_end, study_headers)
    flags = {
        "is_negated": bool(span._.is_negated),
        "is_historical": bool(span._.is_historical),
        "is_hypothetical": bool(span._.is_hypothetical),
        "is_family": bool(span._.is_family),
        "is_other_provider": bool(span._.is_other_provider),
    }

    # A header such as FAMILY HISTORY or PLAN settles the context of all it holds.
    implied = section_attributes.get(section)
    if implied:
        flags[implied] = True
    return Mention(
        page_number=pages[index][0],
        start=span.start_char - offset,
        end=span.end_char - offset,
        text=pages[index][1][span.start_char - offset : span.end_char - offset],
        concept=span.label_,
        section=section,
        **flags,
    )


def find_mentions(pages: Sequence[tuple[int, str]]) -> list[Mention]:
    """Find procedure and qualifier mentions in a document's pages.

    The pages are read as one text so that a section begun on one page carries
    on to the next; offsets are mapped back to each page's own text.

    Args:
        pages: (page_number, text) pairs in page order.

    Returns:
        Mentions in document order.
    """
    if not pages:
        return []
    text, starts = _join_pages(pages)
    restored = restore_line_breaks(text)
    with warnings.catch_warnings():
        # medspacy keeps an empty regex matcher beside each phrase matcher.
        warnings.filterwarnings("ignore", message=r"\[W036\]")
        doc: Doc = build_pipeline()(restored)
    section_attributes = load_section_attributes()
    first_line_end = _first_line_end(restored)
    study_headers = _study_header_starts(doc)
    return [
        _mention_of(
            span, pages, starts, first_line_end, section_attributes, study_headers
        )
        for span in doc.ents
    ]


def _study_header_starts(doc: Doc) -> set[int]:
    # "EXAMINATION:" opens a physical exam in a visit note, but in a report it
    # names the study first thing: "EXAMINATION: CT head without contrast".
    config = load_study_headers()
    headers = set(config["headers"])
    concepts = _study_concepts()
    first_study = {ent.start_char for ent in doc.ents if ent.label_ in concepts}
    starts: set[int] = set()
    for section in doc._.sections:
        title = doc[section.title_span[0] : section.title_span[1]]
        if title.text.upper() not in headers:
            continue
        rest = doc.text[title.end_char :]
        body = title.end_char + len(rest) - len(rest.lstrip(" \t\n,"))
        if body in first_study:
            starts.add(title.start_char)
    return starts


def _first_line_end_after(text: str, start: int) -> int:
    # The study follows the header on its line, or alone on the next line.
    body = len(text) - len(text[start:].lstrip())
    line_end = text.find("\n", body)
    return len(text) if line_end < 0 else line_end


@functools.cache
def load_study_headers() -> dict[str, Any]:
    """The headers whose section is a study title when their line names a study.

    Returns:
        The `study_headers` object of section_context.json.
    """
    return dict(load_rule_file("section_context.json")["study_headers"])


@functools.cache
def _study_concepts() -> frozenset[str]:
    names = load_study_headers()["study_target_files"]
    return frozenset(
        rule["category"]
        for name in names
        for rule in load_rule_file(f"targets/{name}.json")["target_rules"]
    )


def load_section_attributes() -> dict[str, str]:
    """Map section categories to the context attribute their header implies.

    Returns:
        Section category -> Mention attribute name, from section_context.json.
    """
    return dict(load_rule_file("section_context.json")["section_attributes"])


def mention_frame(
    document_id: str, partition_date: date, mentions: Sequence[Mention]
) -> pl.DataFrame:
    """Build the nlp.procedure_mentions rows of one document.

    Args:
        document_id: sha256 hex of the document's bytes.
        partition_date: the partition the document belongs to.
        mentions: what find_mentions returned for the document.

    Returns:
        One row per mention, columns as in docs/architecture.md.
    """
    rows = [
        {
            "mention_id": f"{document_id[:12]}:{m.page_number}:{m.start}",
            "document_id": document_id,
            "partition_date": partition_date,
            "page_number": m.page_number,
            "start": m.start,
            "end": m.end,
            "text": m.text,
            "concept": m.concept,
            "section": m.section,
            "is_negated": m.is_negated,
            "is_historical": m.is_historical,
            "is_hypothetical": m.is_hypothetical,
            "is_family": m.is_family,
            "is_other_provider": m.is_other_provider,
        }
        for m in mentions
    ]
    return pl.DataFrame(rows, schema=MENTION_SCHEMA)
