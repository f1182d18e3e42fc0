"""Decode plain-text documents and split them into form-feed separated pages."""

from __future__ import annotations

from cptflow.transforms.ocr.pages import PageText

FORM_FEED = "\f"


def decode_text(data: bytes) -> str:
    """Decode UTF-8 bytes, dropping a byte order mark.

    Invalid sequences become U+FFFD so that a stray Latin-1 byte costs one
    character, not the document.
    """
    return data.decode("utf-8", errors="replace").removeprefix("\ufeff")


def split_pages(text: str) -> list[str]:
    """Split text into pages on form feeds; a trailing form feed opens no page."""
    pages = text.split(FORM_FEED)
    if len(pages) > 1 and pages[-1].strip() == "":
        pages.pop()
    return pages


def read_plain_text(data: bytes) -> list[PageText]:
    """Return one `plain_text` page per form-feed separated part of the bytes."""
    return [
        PageText(
            page_number=number,
            method="plain_text",
            text=text,
            char_count=len(text),
            word_count=len(text.split()),
        )
        for number, text in enumerate(split_pages(decode_text(data)), start=1)
    ]
