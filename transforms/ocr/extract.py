"""Extract page texts and word boxes from one document, whatever its format."""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from cptflow.transforms.errors import DocumentError
from cptflow.transforms.ocr.pages import PageExtraction, PageText, PageWord
from cptflow.transforms.ocr.plain_text import read_plain_text
from cptflow.transforms.ocr.readers import (
    check_text_size,
    count_image_pages,
    count_pdf_pages,
    open_pdf,
)
from cptflow.transforms.ocr.tesseract import images_to_pdf, ocr_pdf_pages
from cptflow.transforms.ocr.text_layer import read_text_layer

logger = logging.getLogger(__name__)

IMAGE_FORMATS = {"tiff", "png", "jpeg"}


def extract_pages(
    path: Path, doc_format: str, *, deskew: bool = False, language: str = "eng"
) -> PageExtraction:
    """Read every page of a document: text layer, OCR, or plain text.

    Born-digital PDF pages are read from their text layer; only the pages without
    one go through OCR. Pages that stay blank after OCR come back with empty
    text, for the caller to judge.

    Args:
        path: the document.
        doc_format: the format intake sniffed (`pdf`, `tiff`, `png`, `jpeg`, `text`).
        deskew: straighten scanned pages before OCR.
        language: Tesseract languages, joined by `+`.

    Returns:
        The pages in order and the words that have boxes.

    Raises:
        DocumentError: `unsupported_format`, `encrypted`, `corrupt`,
            `decompression_bomb`, `too_large` or `ocr_failed`.
    """
    started = time.perf_counter()
    if doc_format == "text":
        extraction = PageExtraction(pages=read_plain_text(path.read_bytes()))
    elif doc_format == "pdf":
        extraction = _extract_pdf(path, deskew=deskew, language=language)
    elif doc_format in IMAGE_FORMATS:
        extraction = _extract_image(path, deskew=deskew, language=language)
    else:
        raise DocumentError("unsupported_format", f"no reader for format {doc_format}")

    check_text_size(sum(page.char_count for page in extraction.pages))
    extraction.seconds = time.perf_counter() - started
    logger.debug(
        "extracted %d pages in %.2f s", len(extraction.pages), extraction.seconds
    )
    return extraction


def _extract_pdf(path: Path, *, deskew: bool, language: str) -> PageExtraction:
    # The raster-size check runs first so that a bomb never reaches the rasterizer.
    page_count = count_pdf_pages(path)
    text_pages = _read_text_layers(path)

    ocr_numbers = [n for n in range(1, page_count + 1) if n not in text_pages]
    ocr_pages = ocr_pdf_pages(path, ocr_numbers, deskew=deskew, language=language)
    return _assemble({**text_pages, **ocr_pages})


def _read_text_layers(path: Path) -> dict[int, tuple[PageText, list[PageWord]]]:
    document = open_pdf(path)
    try:
        pages = {}
        for index in range(len(document)):
            page = document[index]
            read = read_text_layer(page, index + 1)
            if read is None and _is_blank(page):
                read = (_blank_page(page, index + 1), [])
            page.close()
            if read is not None:
                pages[index + 1] = read
        return pages
    finally:
        document.close()


def _is_blank(page: pdfium.PdfPage) -> bool:
    return pdfium_c.FPDFPage_CountObjects(page.raw) == 0


def _blank_page(page: pdfium.PdfPage, page_number: int) -> PageText:
    # A page with nothing drawn on it has nothing to OCR.
    width, height = page.get_size()
    return PageText(page_number, "text_layer", "", 0, 0, width=width, height=height)


def _extract_image(path: Path, *, deskew: bool, language: str) -> PageExtraction:
    page_count = count_image_pages(path)
    with tempfile.TemporaryDirectory(prefix="cptflow-img-") as folder:
        pdf = Path(folder) / "image.pdf"
        images_to_pdf(path, pdf)
        numbers = list(range(1, page_count + 1))
        pages = ocr_pdf_pages(pdf, numbers, deskew=deskew, language=language)
    return _assemble(pages)


def _assemble(pages: dict[int, tuple[PageText, list[PageWord]]]) -> PageExtraction:
    ordered = [pages[number] for number in sorted(pages)]
    return PageExtraction(
        pages=[page for page, _ in ordered],
        words=[word for _, words in ordered for word in words],
    )
