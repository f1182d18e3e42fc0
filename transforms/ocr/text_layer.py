"""Read a born-digital PDF page's text layer with PDFium, with word boxes."""

from __future__ import annotations

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from cptflow.transforms.ocr.pages import PageText, PageWord

# Fewer real characters than this and the page is treated as a scanned image.
MIN_TEXT_LAYER_CHARS = 20

Box = tuple[float, float, float, float]


def read_text_layer(
    page: pdfium.PdfPage, page_number: int
) -> tuple[PageText, list[PageWord]] | None:
    """Return the page's text and words, or None when it has no usable text layer.

    Word boxes are in PDF points with a top-left origin; offsets point into the
    returned text, whose line breaks are single newlines.
    """
    textpage = page.get_textpage()
    try:
        chars = _page_chars(textpage)
    finally:
        textpage.close()

    text = "".join(char for char, _ in chars)
    if not has_usable_text(text):
        return None

    width, height = page.get_size()
    words = _group_words(chars, page_number, height)
    page_text = PageText(
        page_number=page_number,
        method="text_layer",
        text=text,
        char_count=len(text),
        word_count=len(words),
        width=width,
        height=height,
    )
    return page_text, words


def has_usable_text(text: str) -> bool:
    """Tell whether text holds enough printable, non-space characters."""
    real = sum(1 for char in text if char.isprintable() and not char.isspace())
    return real >= MIN_TEXT_LAYER_CHARS


def _page_chars(textpage: pdfium.PdfTextPage) -> list[tuple[str, Box | None]]:
    chars: list[tuple[str, Box | None]] = []
    for index in range(textpage.count_chars()):
        char = chr(pdfium_c.FPDFText_GetUnicode(textpage.raw, index))

        # PDFium writes line breaks as "\r\n"; the page text keeps only "\n".
        if char == "\r":
            continue
        if not (char.isprintable() or char in "\n\t"):
            continue

        box = None if char.isspace() else textpage.get_charbox(index)
        chars.append((char, box))
    return chars


def _group_words(
    chars: list[tuple[str, Box | None]], page_number: int, page_height: float
) -> list[PageWord]:
    words: list[PageWord] = []
    start: int | None = None
    for offset, (char, _) in enumerate([*chars, (" ", None)]):
        if not char.isspace() and start is None:
            start = offset
        elif char.isspace() and start is not None:
            span = chars[start:offset]
            words.append(_word(span, start, len(words), page_number, page_height))
            start = None
    return words


def _word(
    span: list[tuple[str, Box | None]],
    start: int,
    word_index: int,
    page_number: int,
    page_height: float,
) -> PageWord:
    # PDFium boxes are (left, bottom, right, top) with the origin at bottom left.
    boxes = [box for _, box in span if box is not None]
    left = min(box[0] for box in boxes)
    bottom = min(box[1] for box in boxes)
    right = max(box[2] for box in boxes)
    top = max(box[3] for box in boxes)

    return PageWord(
        page_number=page_number,
        word_index=word_index,
        text="".join(char for char, _ in span),
        start=start,
        end=start + len(span),
        x0=left,
        y0=page_height - top,
        x1=right,
        y1=page_height - bottom,
    )
