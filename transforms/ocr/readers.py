"""Open documents and count their pages, refusing the ones that cannot be read."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from PIL import Image, UnidentifiedImageError

from cptflow.transforms.errors import DocumentError
from cptflow.transforms.ocr.plain_text import decode_text, split_pages

# The resolution at which a PDF page would be rasterized for OCR.
RASTER_DPI = 300
# spaCy's default max_length: the NLP stage reads a document as one text, and a
# longer one is a dump, not a note.
MAX_DOCUMENT_CHARS = 1_000_000


def count_pdf_pages(path: Path) -> int:
    """Open a PDF with PDFium, check every page's raster size, and count pages.

    Raises:
        DocumentError: `encrypted`, `corrupt` or `decompression_bomb`.
    """
    document = open_pdf(path)
    try:
        if len(document) == 0:
            raise DocumentError("corrupt", "the PDF has no pages")
        for index in range(len(document)):
            page = document[index]
            try:
                _check_pdf_page_pixels(page, index + 1)
            finally:
                page.close()
        return len(document)
    finally:
        document.close()


def open_pdf(path: Path) -> pdfium.PdfDocument:
    """Open a PDF with PDFium, mapping load failures to DocumentError reasons.

    Raises:
        DocumentError: `encrypted` when a password is needed, else `corrupt`.
    """
    try:
        return pdfium.PdfDocument(path)
    except pdfium.PdfiumError as error:
        if error.err_code == pdfium_c.FPDF_ERR_PASSWORD:
            raise DocumentError("encrypted", "the PDF needs a password") from error
        raise DocumentError(
            "corrupt", f"PDFium cannot load the PDF: {error}"
        ) from error


def _check_pdf_page_pixels(page: pdfium.PdfPage, page_number: int) -> None:
    width, height = page.get_size()
    sizes = [(width * RASTER_DPI / 72, height * RASTER_DPI / 72)]
    for image in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE]):
        sizes.append(image.get_px_size())

    for size in sizes:
        _check_pixels(size, f"page {page_number}")


def _check_pixels(size: tuple[float, float], where: str) -> None:
    limit = Image.MAX_IMAGE_PIXELS
    pixels = size[0] * size[1]
    if limit is not None and pixels > limit:
        raise DocumentError(
            "decompression_bomb",
            f"{where} is {pixels:.0f} pixels, over Pillow's limit of {limit}",
        )


def count_image_pages(path: Path) -> int:
    """Count the frames of a TIFF, PNG or JPEG, checking each frame's size.

    Raises:
        DocumentError: `corrupt` or `decompression_bomb`.
    """
    frames = 0
    for number, frame in enumerate(_image_frames(path), start=1):
        _check_pixels(frame.size, f"frame {number}")
        frames += 1

    try:
        with Image.open(path) as image:
            image.verify()
    except (OSError, SyntaxError, ValueError) as error:
        raise DocumentError("corrupt", f"the image fails to verify: {error}") from error
    return frames


def _image_frames(path: Path) -> Iterator[Image.Image]:
    try:
        # Sizes are checked frame by frame, so Pillow's warning adds nothing.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                for index in range(getattr(image, "n_frames", 1)):
                    image.seek(index)
                    yield image
    except Image.DecompressionBombError as error:
        raise DocumentError("decompression_bomb", str(error)) from error
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise DocumentError(
            "corrupt", f"Pillow cannot read the image: {error}"
        ) from error


def count_text_pages(path: Path) -> int:
    """Count the form-feed separated pages of a text file.

    Raises:
        DocumentError: `empty` when the text holds only whitespace, `too_large`
            when it is longer than the NLP stage reads.
    """
    text = decode_text(path.read_bytes())
    if not text.strip():
        raise DocumentError("empty", "the text holds only whitespace")
    check_text_size(len(text))
    return len(split_pages(text))


def check_text_size(char_count: int) -> None:
    """Refuse a document whose text is longer than the NLP stage reads.

    Raises:
        DocumentError: `too_large`.
    """
    if char_count > MAX_DOCUMENT_CHARS:
        raise DocumentError(
            "too_large",
            f"the text has {char_count} characters, over the limit of "
            f"{MAX_DOCUMENT_CHARS}",
        )
