"""OCR image pages with ocrmypdf and Tesseract, reading back hOCR per page."""

from __future__ import annotations

import io
import json
import logging
import tempfile
from collections.abc import Sequence
from pathlib import Path

import img2pdf
from ocrmypdf import exceptions as ocr_errors
from ocrmypdf.api import _pdf_to_hocr
from PIL import Image, ImageSequence

from cptflow.transforms.errors import DocumentError
from cptflow.transforms.ocr.hocr import parse_hocr
from cptflow.transforms.ocr.pages import PageText, PageWord

logger = logging.getLogger(__name__)

# Scanners usually write 300 dpi; an image without a resolution is taken as such.
DEFAULT_DPI = 300
IMG2PDF_MODES = {"1", "L", "RGB", "CMYK"}
# Tesseract's orientation confidence for an upside-down letter page of 12 pt text
# measured about 13 here, under ocrmypdf's default threshold of 14.
ROTATE_PAGES_THRESHOLD = 8.0

OcrPage = tuple[PageText, list[PageWord]]


def ocr_pdf_pages(
    pdf: Path, page_numbers: Sequence[int], *, deskew: bool, language: str
) -> dict[int, OcrPage]:
    """OCR the given pages of a PDF with ocrmypdf and parse their hOCR.

    Args:
        pdf: the PDF to read.
        page_numbers: 1-based pages to OCR; the others are not rasterized.
        deskew: straighten pages before OCR (about 1.5 s a page more).
        language: Tesseract languages, joined by `+` (e.g. `eng+spa`).

    Returns:
        Page text and words by page number.

    Raises:
        DocumentError: `encrypted`, `corrupt`, `decompression_bomb` or
            `ocr_failed`.
    """
    if not page_numbers:
        return {}

    # ocrmypdf reports every step at INFO; the stage logs its own counts.
    logging.getLogger("ocrmypdf").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="cptflow-ocr-") as folder:
        work = Path(folder)
        _run_pdf_to_hocr(pdf, work, page_numbers, deskew=deskew, language=language)
        return {number: _read_page(work, number) for number in page_numbers}


def _run_pdf_to_hocr(
    pdf: Path, work: Path, page_numbers: Sequence[int], *, deskew: bool, language: str
) -> None:
    try:
        _pdf_to_hocr(
            pdf,
            work,
            pages=",".join(str(number) for number in page_numbers),
            mode="force",
            rotate_pages=True,
            rotate_pages_threshold=ROTATE_PAGES_THRESHOLD,
            # Nothing is written back to the PDF, so a signature loses nothing.
            invalidate_digital_signatures=True,
            deskew=deskew,
            language=language.split("+"),
            jobs=1,
            progress_bar=False,
        )
    except ocr_errors.EncryptedPdfError as error:
        raise DocumentError("encrypted", "the PDF needs a password") from error
    except (ocr_errors.InputFileError, ocr_errors.UnsupportedImageFormatError) as error:
        raise DocumentError(
            "corrupt", f"ocrmypdf cannot read the PDF: {error}"
        ) from error
    except Image.DecompressionBombError as error:
        raise DocumentError("decompression_bomb", str(error)) from error
    except ocr_errors.ExitCodeException as error:
        detail = f"ocrmypdf failed ({type(error).__name__}): {error}"
        raise DocumentError("ocr_failed", detail) from error


def _read_page(work: Path, page_number: int) -> OcrPage:
    result_file = work / f"{page_number:06d}_hocr.json"
    if not result_file.is_file():
        raise DocumentError(
            "ocr_failed", f"ocrmypdf wrote no hOCR for page {page_number}"
        )

    result = json.loads(result_file.read_text())
    hocr = Path(result["hocr"]["Path"])
    if not hocr.is_absolute():
        hocr = work / hocr.name
    rotation = int(result.get("orientation_correction") or 0)
    return parse_hocr(hocr, page_number, rotation=rotation)


def images_to_pdf(image: Path, pdf: Path) -> int:
    """Write every frame of a TIFF, PNG or JPEG as one page of a PDF.

    Frames are re-encoded as PNG in a mode img2pdf accepts, so alpha channels,
    palettes and 16-bit images need no special case.

    Returns:
        The number of pages written.

    Raises:
        DocumentError: `corrupt` or `decompression_bomb`.
    """
    try:
        with Image.open(image) as source:
            frames = [_png_frame(frame) for frame in ImageSequence.Iterator(source)]
    except Image.DecompressionBombError as error:
        raise DocumentError("decompression_bomb", str(error)) from error
    except (OSError, SyntaxError, ValueError) as error:
        raise DocumentError(
            "corrupt", f"Pillow cannot read the image: {error}"
        ) from error

    pdf.write_bytes(img2pdf.convert(frames))
    return len(frames)


def _png_frame(frame: Image.Image) -> bytes:
    dpi = _frame_dpi(frame)
    if frame.mode not in IMG2PDF_MODES:
        frame = _flatten(frame)
    elif frame.mode == "CMYK":
        frame = frame.convert("RGB")

    buffer = io.BytesIO()
    frame.save(buffer, format="PNG", dpi=dpi)
    return buffer.getvalue()


def _frame_dpi(frame: Image.Image) -> tuple[int, int]:
    dpi = frame.info.get("dpi")
    if not dpi or min(dpi) < 1:
        return (DEFAULT_DPI, DEFAULT_DPI)
    return (round(dpi[0]), round(dpi[1]))


def _flatten(frame: Image.Image) -> Image.Image:
    # Transparent areas of a scan are background: paint them white.
    rgba = frame.convert("RGBA")
    white = Image.new("RGB", rgba.size, (255, 255, 255))
    white.paste(rgba, mask=rgba.getchannel("A"))
    return white
