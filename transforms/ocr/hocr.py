"""Turn a Tesseract hOCR page into page text with word offsets and boxes."""

from __future__ import annotations

import re
from pathlib import Path
from statistics import fmean

from lxml import etree

from cptflow.transforms.ocr.pages import PageText, PageWord

LINE_CLASSES = {"ocr_line", "ocr_header", "ocr_caption", "ocr_textfloat"}
BBOX_PATTERN = re.compile(r"bbox\s+(-?\d+)\s+(-?\d+)\s+(-?\d+)\s+(-?\d+)")
WCONF_PATTERN = re.compile(r"x_wconf\s+(\d+(?:\.\d+)?)")


def parse_hocr(
    hocr: Path, page_number: int, *, rotation: int = 0
) -> tuple[PageText, list[PageWord]]:
    """Build the page text of an hOCR file and locate every word in it.

    Words of a line are joined by one space, lines by a newline and paragraphs by
    a blank line, so the same hOCR always gives the same text and offsets.

    Args:
        hocr: the hOCR file of one page.
        page_number: 1-based page number the words are given.
        rotation: degrees the page was turned before OCR.

    Returns:
        The `ocr` page text (boxes in OCR image pixels) and its words.
    """
    root = etree.parse(str(hocr)).getroot()
    page = _elements_of_class(root, {"ocr_page"})[0]
    paragraphs = [
        _paragraph_lines(par) for par in _elements_of_class(page, {"ocr_par"})
    ]
    paragraphs = [lines for lines in paragraphs if lines]

    text, words = _lay_out(paragraphs, page_number)
    _, _, width, height = _bbox(page.get("title", ""))
    confidences = [word.confidence for word in words if word.confidence is not None]
    page_text = PageText(
        page_number=page_number,
        method="ocr",
        text=text,
        char_count=len(text),
        word_count=len(words),
        mean_confidence=fmean(confidences) if confidences else None,
        width=float(width),
        height=float(height),
        rotation=rotation,
    )
    return page_text, words


def _elements_of_class(root: etree._Element, classes: set[str]) -> list:
    return [
        element
        for element in root.iter()
        if isinstance(element.tag, str) and element.get("class") in classes
    ]


def _paragraph_lines(paragraph: etree._Element) -> list[list[etree._Element]]:
    lines = []
    for line in _elements_of_class(paragraph, LINE_CLASSES):
        words = [
            word for word in _elements_of_class(line, {"ocrx_word"}) if _word_text(word)
        ]
        if words:
            lines.append(words)
    return lines


def _lay_out(
    paragraphs: list[list[list[etree._Element]]], page_number: int
) -> tuple[str, list[PageWord]]:
    pieces: list[str] = []
    words: list[PageWord] = []
    offset = 0
    for par_index, lines in enumerate(paragraphs):
        for line_index, line in enumerate(lines):
            for word_index, element in enumerate(line):
                separator = _separator(par_index, line_index, word_index)
                pieces.append(separator)
                offset += len(separator)

                word = _word(element, page_number, len(words), offset)
                pieces.append(word.text)
                offset = word.end
                words.append(word)
    return "".join(pieces), words


def _separator(par_index: int, line_index: int, word_index: int) -> str:
    if word_index > 0:
        return " "
    if line_index > 0:
        return "\n"
    return "\n\n" if par_index > 0 else ""


def _word(
    element: etree._Element, page_number: int, word_index: int, start: int
) -> PageWord:
    title = element.get("title", "")
    x0, y0, x1, y1 = _bbox(title)
    confidence = WCONF_PATTERN.search(title)
    text = _word_text(element)
    return PageWord(
        page_number=page_number,
        word_index=word_index,
        text=text,
        start=start,
        end=start + len(text),
        x0=float(x0),
        y0=float(y0),
        x1=float(x1),
        y1=float(y1),
        confidence=float(confidence.group(1)) if confidence else None,
    )


def _word_text(element: etree._Element) -> str:
    return "".join(element.itertext()).strip()


def _bbox(title: str) -> tuple[int, int, int, int]:
    match = BBOX_PATTERN.search(title)
    if match is None:
        return (0, 0, 0, 0)
    x0, y0, x1, y1 = (int(value) for value in match.groups())
    return x0, y0, x1, y1
