"""Page images rendered from the original documents, with word boxes drawn on them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pypdfium2
from PIL import Image, ImageDraw, ImageFont, ImageOps

EVIDENCE_FILL = (255, 214, 0, 110)
EVIDENCE_OUTLINE = (214, 150, 0, 255)
HIDDEN_FILL = (20, 20, 20, 255)
TEXT_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf")
TEXT_COLUMNS = 96


@dataclass(frozen=True)
class PageFrame:
    """How a page's word boxes map onto a rendered image of it.

    Attributes:
        width: page width in the units of its boxes (OCR pixels or PDF points).
        rotation: degrees the page was turned before OCR, as in ocr.page_texts.
    """

    width: float
    rotation: int = 0


Box = tuple[float, float, float, float]


def render_page(
    path: Path, doc_format: str, page_number: int, *, target_width: int = 1000
) -> Image.Image:
    """Render one page of a PDF or image document as an RGB image.

    Raises:
        OSError: when the file cannot be read; ValueError when it is no PDF or
            image, or has no such page.
    """
    if doc_format == "pdf":
        document = pypdfium2.PdfDocument(path)
        try:
            page = document[page_number - 1]
            scale = target_width / page.get_width()
            return page.render(scale=scale).to_pil().convert("RGB")
        finally:
            document.close()
    if doc_format in {"tiff", "png", "jpeg"}:
        with Image.open(path) as image:
            image.seek(page_number - 1)
            frame = ImageOps.exif_transpose(image.convert("RGB"))
        height = round(frame.height * target_width / frame.width)
        return frame.resize((target_width, height))
    raise ValueError(f"{doc_format} pages have no image to render")


def words_overlapping(words: pl.DataFrame, spans: list[tuple[int, int]]) -> set[int]:
    """Indexes of the words whose text offsets overlap any (start, end) span."""
    hits = set()
    for index, start, end in words.select("word_index", "start", "end").iter_rows():
        if any(start < span_end and span_start < end for span_start, span_end in spans):
            hits.add(index)
    return hits


def mark_page(
    image: Image.Image,
    words: pl.DataFrame,
    frame: PageFrame,
    *,
    highlighted: set[int],
    hidden: set[int],
) -> Image.Image:
    """Draw evidence highlights and black out hidden words on a page image.

    Args:
        image: from `render_page`.
        words: the page's rows of `evidence_words` (word_index and box).
        frame: the unit and turn of the boxes.
        highlighted: word indexes to highlight.
        hidden: word indexes to cover; covering wins over highlighting.
    """
    turned = image.rotate(-frame.rotation, expand=True) if frame.rotation else image
    scale = turned.width / frame.width
    overlay = Image.new("RGBA", turned.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    for row in words.iter_rows(named=True):
        box = tuple(scale * row[k] for k in ("x0", "y0", "x1", "y1"))
        if row["word_index"] in hidden:
            draw.rectangle(_padded(box, 2), fill=HIDDEN_FILL)
        elif row["word_index"] in highlighted:
            draw.rectangle(
                _padded(box, 2), fill=EVIDENCE_FILL, outline=EVIDENCE_OUTLINE
            )
    return Image.alpha_composite(turned.convert("RGBA"), overlay).convert("RGB")


def render_text_page(
    text: str,
    *,
    highlighted: list[tuple[int, int]],
    hidden: list[tuple[int, int]],
) -> Image.Image:
    """A plain-text page drawn in a monospaced font, marking character ranges.

    Args:
        text: the page text (offsets of the spans refer to it).
        highlighted: (start, end) character ranges to highlight.
        hidden: (start, end) character ranges to cover.
    """
    font = ImageFont.truetype(str(TEXT_FONT), 15)
    char_width = font.getlength("M")
    line_height = 20
    rows = list(_wrapped_rows(text))
    image = Image.new(
        "RGB",
        (int(char_width * TEXT_COLUMNS) + 40, line_height * len(rows) + 40),
        "white",
    )
    draw = ImageDraw.Draw(image, "RGBA")
    for row_number, (offset, line) in enumerate(rows):
        top = 20 + row_number * line_height
        for ranges, fill in ((highlighted, EVIDENCE_FILL), (hidden, HIDDEN_FILL)):
            for start, end in ranges:
                first, last = max(start, offset), min(end, offset + len(line))
                if first < last:
                    left = 20 + (first - offset) * char_width
                    right = 20 + (last - offset) * char_width
                    draw.rectangle((left, top, right, top + line_height - 2), fill=fill)
        draw.text((20, top), line, font=font, fill="black")
    return image


def _wrapped_rows(text: str) -> Iterator[tuple[int, str]]:
    """(offset, line) rows of the text, long lines cut at TEXT_COLUMNS characters."""
    offset = 0
    for line in text.split("\n"):
        width = TEXT_COLUMNS
        pieces = [line[i : i + width] for i in range(0, len(line), width)] or [""]
        for piece in pieces:
            yield offset, piece
            offset += len(piece)
        offset += 1


def _padded(box: Box, pad: float) -> Box:
    """A box grown by `pad` pixels on every side."""
    x0, y0, x1, y1 = box
    return (x0 - pad, y0 - pad, x1 + pad, y1 + pad)
