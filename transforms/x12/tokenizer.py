"""Split an X12 interchange into segments using the delimiters it declares."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from cptflow.transforms.errors import X12Error

logger = logging.getLogger(__name__)

_BOM = b"\xef\xbb\xbf"
_ISA_ELEMENT_COUNT = 16
_SEGMENT_ID = re.compile(r"^[A-Z][A-Z0-9]{1,2}$")
_NEWLINES = "\r\n"


@dataclass(frozen=True)
class Delimiters:
    """The separators an interchange uses.

    Attributes:
        element: separates elements within a segment (ISA position 3).
        component: separates parts of a composite element (ISA16).
        segment: ends a segment (the character after ISA16).
        repetition: separates repeated elements (ISA11 in 5010), or None.
    """

    element: str
    component: str
    segment: str
    repetition: str | None = None


@dataclass(frozen=True)
class Segment:
    """One segment: its 1-based position in the file and its elements.

    Attributes:
        index: 1-based position of the segment in the file.
        elements: the segment id followed by its elements, as written.
    """

    index: int
    elements: tuple[str, ...]

    @property
    def segment_id(self) -> str:
        """The segment id, e.g. `CLP`."""
        return self.elements[0]

    def get(self, position: int) -> str:
        """Return element `position` (1-based, as in `CLP01`), or "" if absent."""
        if position < len(self.elements):
            return self.elements[position]
        return ""


def tokenize(data: bytes, *, file_name: str) -> tuple[Delimiters, list[Segment]]:
    """Split X12 bytes into segments.

    Args:
        data: the file's bytes; a UTF-8 BOM and surrounding whitespace are allowed.
        file_name: the name used in error messages.

    Returns:
        The delimiters found and the segments in file order.

    Raises:
        X12Error: when the file is empty, starts with neither ISA nor ST, or holds a
            segment whose id is not an X12 segment id.
    """
    text = _decode(data).lstrip()
    if text.startswith("ISA"):
        delimiters = _isa_delimiters(text, file_name=file_name)
    elif text.startswith("ST"):
        delimiters = _bare_st_delimiters(text, file_name=file_name)
    else:
        raise X12Error(file_name, "file does not start with an ISA or ST segment")

    segments = _split_segments(text, delimiters, file_name=file_name)
    logger.debug("tokenized %s: %d segments", file_name, len(segments))
    return delimiters, segments


def _decode(data: bytes) -> str:
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    return data.decode("utf-8", errors="replace")


def _isa_delimiters(text: str, *, file_name: str) -> Delimiters:
    # Walk the separators instead of fixed offsets: some senders trim ISA padding.
    element = text[3]
    position = 3
    for _ in range(_ISA_ELEMENT_COUNT - 1):
        position = text.find(element, position + 1)
        if position < 0:
            raise X12Error(
                file_name,
                "ISA segment has fewer than 16 elements",
                segment_index=1,
                segment_id="ISA",
            )
    if position + 2 >= len(text):
        raise X12Error(
            file_name, "ISA segment is cut short", segment_index=1, segment_id="ISA"
        )

    component = text[position + 1]
    segment = _terminator_at(text, position + 2)
    isa = text[:position].split(element)
    return Delimiters(element, component, segment, _repetition(isa))


def _repetition(isa: list[str]) -> str | None:
    # ISA11 was a standards identifier ("U") before 5010, a separator from 00501 on.
    candidate, version = isa[11], isa[12]
    if len(candidate) == 1 and not candidate.isalnum() and version >= "00501":
        return candidate
    return None


def _terminator_at(text: str, position: int) -> str:
    """Return the segment terminator starting at `position`.

    A newline there is the terminator itself unless the next visible character is
    not a letter: some files put the real terminator on the following line.
    """
    char = text[position]
    if char not in _NEWLINES:
        return char
    rest = text[position:].lstrip()
    if rest and not rest[0].isalpha():
        return rest[0]
    return "\n"


def _bare_st_delimiters(text: str, *, file_name: str) -> Delimiters:
    element = text[2]
    if element.isalnum() or element.isspace():
        raise X12Error(
            file_name,
            "cannot find the element separator after ST",
            segment_index=1,
            segment_id="ST",
        )

    match = re.match(rf"ST[{re.escape(element)}A-Za-z0-9 ]+", text)
    end = match.end() if match else 2
    if end >= len(text):
        raise X12Error(
            file_name,
            "cannot find the segment terminator after ST",
            segment_index=1,
            segment_id="ST",
        )
    segment = _terminator_at(text, end)
    return Delimiters(element, _guess_component(text, element), segment)


def _guess_component(text: str, element: str) -> str:
    # Without ISA16, the character after a procedure-code qualifier in SVC01 tells.
    pattern = rf"SVC{re.escape(element)}(?:HC|AD|ER|IV|N4|NU|WK)([^A-Za-z0-9\s])"
    match = re.search(pattern, text)
    return match.group(1) if match else ":"


def _split_segments(
    text: str, delimiters: Delimiters, *, file_name: str
) -> list[Segment]:
    segments: list[Segment] = []
    for raw in text.split(delimiters.segment):
        body = raw.lstrip().rstrip(_NEWLINES)
        if not body:
            continue

        elements = tuple(body.split(delimiters.element))
        index = len(segments) + 1
        if not _SEGMENT_ID.match(elements[0]):
            raise X12Error(
                file_name,
                f"not a segment id: {elements[0][:8]!r}",
                segment_index=index,
                segment_id=None,
            )
        segments.append(Segment(index, elements))
    return segments
