"""OCR stage: page texts and word boxes from PDFs, images and plain text."""

from cptflow.transforms.ocr.extract import extract_pages
from cptflow.transforms.ocr.pages import (
    PageExtraction,
    PageText,
    PageWord,
    page_frames,
)
from cptflow.transforms.ocr.pool import extract_documents

__all__ = [
    "PageExtraction",
    "PageText",
    "PageWord",
    "extract_documents",
    "extract_pages",
    "page_frames",
]
