"""Page texts and word boxes extracted from a document, and their table frames."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date

import polars as pl

PAGE_TEXTS_SCHEMA = {
    "document_id": pl.Utf8,
    "partition_date": pl.Date,
    "page_number": pl.Int32,
    "method": pl.Utf8,
    "text": pl.Utf8,
    "char_count": pl.Int32,
    "word_count": pl.Int32,
    "mean_confidence": pl.Float64,
    "width": pl.Float64,
    "height": pl.Float64,
    "rotation": pl.Int32,
}

PAGE_WORDS_SCHEMA = {
    "document_id": pl.Utf8,
    "partition_date": pl.Date,
    "page_number": pl.Int32,
    "word_index": pl.Int32,
    "text": pl.Utf8,
    "start": pl.Int32,
    "end": pl.Int32,
    "x0": pl.Float64,
    "y0": pl.Float64,
    "x1": pl.Float64,
    "y1": pl.Float64,
    "confidence": pl.Float64,
}


@dataclass(frozen=True)
class PageText:
    """The text of one page and how it was obtained.

    Attributes:
        page_number: 1-based page number within the document.
        method: `text_layer`, `ocr` or `plain_text`.
        text: the page text that word offsets and evidence point into.
        char_count: len(text).
        word_count: words on the page.
        mean_confidence: mean Tesseract word confidence (0-100); None unless `ocr`.
        width: page width in the units of the word boxes (None for plain text).
        height: page height in the same units.
        rotation: degrees the page was turned before OCR.
    """

    page_number: int
    method: str
    text: str
    char_count: int
    word_count: int
    mean_confidence: float | None = None
    width: float | None = None
    height: float | None = None
    rotation: int = 0


@dataclass(frozen=True)
class PageWord:
    """One word with its box, top-left origin, in the page's width/height units.

    Attributes:
        page_number: 1-based page number.
        word_index: 0-based position of the word on its page.
        text: the word as it appears in the page text.
        start: offset of the word's first character in the page text.
        end: offset just past the word's last character.
        x0: left edge.
        y0: top edge.
        x1: right edge.
        y1: bottom edge.
        confidence: Tesseract word confidence (0-100); None for a text layer.
    """

    page_number: int
    word_index: int
    text: str
    start: int
    end: int
    x0: float
    y0: float
    x1: float
    y1: float
    confidence: float | None = None


@dataclass
class PageExtraction:
    """Everything read from one document.

    Attributes:
        pages: one entry per page, in page order.
        words: the words of every page that has word boxes, in reading order.
        seconds: wall time spent extracting the document.
    """

    pages: list[PageText]
    words: list[PageWord] = field(default_factory=list)
    seconds: float = 0.0


def page_frames(
    document_id: str, partition_date: date, extraction: PageExtraction
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Build the ocr.page_texts and ocr.page_words rows of one document.

    Args:
        document_id: sha256 hex of the document's bytes.
        partition_date: the partition the document belongs to.
        extraction: what `extract_pages` returned.

    Returns:
        (page_texts, page_words) frames with the columns of docs/architecture.md.
    """
    keys = {"document_id": document_id, "partition_date": partition_date}
    page_rows = [{**keys, **_fields(page)} for page in extraction.pages]
    word_rows = [{**keys, **_fields(word)} for word in extraction.words]

    page_texts = pl.DataFrame(page_rows, schema=PAGE_TEXTS_SCHEMA)
    page_words = pl.DataFrame(word_rows, schema=PAGE_WORDS_SCHEMA)
    return page_texts, page_words


def _fields(item: PageText | PageWord) -> dict[str, object]:
    return asdict(item)
