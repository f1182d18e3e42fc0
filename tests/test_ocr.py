"""Tests of page text extraction: text layers, real Tesseract OCR, plain text."""

from __future__ import annotations

import random
from datetime import date
from pathlib import Path

import pikepdf
import polars as pl
import pytest
from fpdf import FPDF
from PIL import Image, ImageDraw, ImageFont
from textmetrics import character_error_rate

from cptflow.transforms.errors import DocumentError
from cptflow.transforms.ocr import (
    PageExtraction,
    PageText,
    extract_documents,
    extract_pages,
    page_frames,
)
from cptflow.transforms.ocr.pages import PAGE_TEXTS_SCHEMA, PAGE_WORDS_SCHEMA

DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
LETTER_PX = (2550, 3300)

NOTE_LINES = [
    "PROCEDURE NOTE",
    "Procedure: Colonoscopy with cold snare polypectomy.",
    "Indication: Screening, family history of colon cancer.",
    "Findings: A 6 mm sessile polyp in the sigmoid colon",
    "was removed with a cold snare and retrieved.",
    "The cecum was reached and the preparation was good.",
    "Impression: One polyp removed. Repeat exam in 5 years.",
]
SCAN_LINES = ["Upper endoscopy with biopsy of the gastric antrum.", "No bleeding."]
BORN_LINES = ["PROCEDURE: Colonoscopy with biopsy.", "Findings: 5 mm polyp, removed."]


def font(size: int) -> ImageFont.ImageFont:
    if DEJAVU.exists():
        return ImageFont.truetype(str(DEJAVU), size)
    return ImageFont.load_default(size=size)


def render_page(
    lines: list[str], *, size: tuple[int, int] = LETTER_PX, seed: int = 3
) -> Image.Image:
    """Draw lines at 12 pt for 300 dpi, turn the page 0.7 degrees and speckle it."""
    page = Image.new("L", size, 255)
    draw = ImageDraw.Draw(page)
    for number, line in enumerate(lines):
        draw.text((200, 250 + number * 90), line, font=font(50), fill=0)
    page = page.rotate(0.7, resample=Image.Resampling.BICUBIC, fillcolor=255)

    speckle = random.Random(seed)
    draw = ImageDraw.Draw(page)
    for _ in range(size[0] * size[1] // 3000):
        x, y = speckle.randrange(size[0]), speckle.randrange(size[1])
        draw.point((x, y), fill=speckle.choice((0, 96)))
    return page


def make_image_pdf(path: Path, lines: list[str]) -> Path:
    render_page(lines).save(path, format="PDF", resolution=300)
    return path


def make_text_pdf(path: Path, lines: list[str]) -> Path:
    pdf = FPDF(unit="pt", format="letter")
    pdf.set_font("Helvetica", size=12)
    pdf.add_page()
    for number, line in enumerate(lines):
        pdf.text(72, 72 + number * 18, line)
    pdf.output(str(path))
    return path


def assert_words_fit(extraction: PageExtraction) -> None:
    pages = {page.page_number: page for page in extraction.pages}
    for word in extraction.words:
        page = pages[word.page_number]
        assert page.text[word.start : word.end] == word.text
        assert 0 <= word.x0 < word.x1 <= page.width
        assert 0 <= word.y0 < word.y1 <= page.height


def test_extract_pages_reads_text_layer_exactly(tmp_path: Path) -> None:
    path = make_text_pdf(tmp_path / "born.pdf", BORN_LINES)

    extraction = extract_pages(path, "pdf")

    text = "\n".join(BORN_LINES)
    assert extraction.pages == [
        PageText(1, "text_layer", text, len(text), 9, width=612.0, height=792.0)
    ]
    assert [word.text for word in extraction.words] == text.split()
    assert {word.confidence for word in extraction.words} == {None}
    assert_words_fit(extraction)


def test_extract_pages_text_layer_boxes_have_top_left_origin(tmp_path: Path) -> None:
    path = make_text_pdf(tmp_path / "born.pdf", BORN_LINES)

    words = extract_pages(path, "pdf").words

    # fpdf2 puts the first baseline 72 pt below the top and the next 18 pt lower.
    first_line, second_line = words[0], words[4]
    assert 60 < first_line.y0 < first_line.y1 < 76
    assert 78 < second_line.y0 < second_line.y1 < 94


@pytest.mark.slow
def test_extract_pages_ocrs_a_scanned_page(tmp_path: Path) -> None:
    path = make_image_pdf(tmp_path / "scan.pdf", NOTE_LINES)

    extraction = extract_pages(path, "pdf")

    [page] = extraction.pages
    assert (page.method, page.width, page.height, page.rotation) == (
        "ocr",
        2550.0,
        3300.0,
        0,
    )
    assert character_error_rate(page.text, "\n".join(NOTE_LINES)) < 0.03
    assert page.word_count == len(extraction.words) == len(" ".join(NOTE_LINES).split())
    assert 80 < page.mean_confidence <= 100
    assert_words_fit(extraction)


@pytest.mark.slow
def test_extract_pages_turns_an_upside_down_scan(tmp_path: Path) -> None:
    lines = (NOTE_LINES * 4)[:24]
    path = tmp_path / "upside_down.png"
    render_page(lines).rotate(180).save(path, dpi=(300, 300))

    extraction = extract_pages(path, "png")

    [page] = extraction.pages
    assert page.rotation == 180
    assert character_error_rate(page.text, "\n".join(lines)) < 0.03
    assert_words_fit(extraction)


@pytest.mark.slow
def test_extract_pages_mixed_pdf_ocrs_only_the_image_page(tmp_path: Path) -> None:
    scan = tmp_path / "scan.png"
    render_page(SCAN_LINES).save(scan, dpi=(300, 300))
    pdf = FPDF(unit="pt", format="letter")
    pdf.set_font("Helvetica", size=12)
    pdf.add_page()
    pdf.text(72, 72, BORN_LINES[0])
    pdf.add_page()
    pdf.image(str(scan), x=0, y=0, w=612, h=792)
    path = tmp_path / "mixed.pdf"
    pdf.output(str(path))

    extraction = extract_pages(path, "pdf")

    text_page, ocr_page = extraction.pages
    assert (text_page.method, text_page.text) == ("text_layer", BORN_LINES[0])
    assert ocr_page.method == "ocr"
    assert character_error_rate(ocr_page.text, " ".join(SCAN_LINES)) < 0.03
    assert_words_fit(extraction)


@pytest.mark.slow
def test_extract_pages_ocrs_png_and_multipage_tiff(tmp_path: Path) -> None:
    half_letter = (2550, 1000)
    png = tmp_path / "scan.png"
    render_page(SCAN_LINES, size=half_letter).convert("RGBA").save(png, dpi=(300, 300))
    tiff = tmp_path / "scan.tif"
    first = render_page(NOTE_LINES[:2], size=half_letter)
    second = render_page(NOTE_LINES[2:4], size=half_letter, seed=5)
    first.save(tiff, save_all=True, append_images=[second], dpi=(300, 300))

    from_png = extract_pages(png, "png")
    from_tiff = extract_pages(tiff, "tiff")

    assert [page.page_number for page in from_tiff.pages] == [1, 2]
    found = [page.text for page in from_png.pages + from_tiff.pages]
    expected = [SCAN_LINES, NOTE_LINES[:2], NOTE_LINES[2:4]]
    for text, lines in zip(found, expected, strict=True):
        assert character_error_rate(text, " ".join(lines)) < 0.03
    assert_words_fit(from_png)
    assert_words_fit(from_tiff)


def test_extract_pages_plain_text_splits_form_feeds(tmp_path: Path) -> None:
    path = tmp_path / "note.txt"
    path.write_bytes(b"\xef\xbb\xbfSeen in caf\xe9 clinic.\fPlan: EGD.\f")

    extraction = extract_pages(path, "text")

    assert extraction.pages == [
        PageText(1, "plain_text", "Seen in caf\ufffd clinic.", 20, 4),
        PageText(2, "plain_text", "Plan: EGD.", 10, 2),
    ]
    assert extraction.words == []


def _encrypted(tmp_path: Path) -> Path:
    source = make_text_pdf(tmp_path / "plain.pdf", BORN_LINES)
    path = tmp_path / "locked.pdf"
    with pikepdf.open(source) as pdf:
        pdf.save(path, encryption=pikepdf.Encryption(user="secret", owner="owner"))
    return path


def _truncated(tmp_path: Path) -> Path:
    whole = make_text_pdf(tmp_path / "whole.pdf", BORN_LINES).read_bytes()
    path = tmp_path / "cut.pdf"
    path.write_bytes(whole[: len(whole) // 2])
    return path


def _garbage_png(tmp_path: Path) -> Path:
    path = tmp_path / "bad.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x01" * 64)
    return path


@pytest.mark.parametrize(
    ("make", "doc_format", "reason"),
    [
        pytest.param(_encrypted, "pdf", "encrypted", id="encrypted-pdf"),
        pytest.param(_truncated, "pdf", "corrupt", id="truncated-pdf"),
        pytest.param(_garbage_png, "png", "corrupt", id="garbage-png"),
    ],
)
def test_extract_pages_unreadable_documents_raise(
    tmp_path: Path, make, doc_format: str, reason: str
) -> None:
    with pytest.raises(DocumentError) as raised:
        extract_pages(make(tmp_path), doc_format)

    assert raised.value.reason == reason


def test_page_frames_follow_the_contract(tmp_path: Path) -> None:
    path = make_text_pdf(tmp_path / "born.pdf", BORN_LINES)
    extraction = extract_pages(path, "pdf")

    page_texts, page_words = page_frames("abc123", date(2026, 12, 3), extraction)

    assert page_texts.schema == pl.Schema(PAGE_TEXTS_SCHEMA)
    assert page_words.schema == pl.Schema(PAGE_WORDS_SCHEMA)
    assert page_texts.select("document_id", "page_number", "method").rows() == [
        ("abc123", 1, "text_layer")
    ]
    assert page_words["word_index"].to_list() == list(range(9))


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2], ids=["inline", "pool"])
def test_extract_documents_yields_every_document(tmp_path: Path, workers: int) -> None:
    scan = tmp_path / "scan.png"
    render_page(SCAN_LINES[1:], size=(1200, 400)).save(scan, dpi=(300, 300))
    note = tmp_path / "note.txt"
    note.write_text("Procedure: EGD.\n")
    items = [
        ("scan", scan, "png"),
        ("note", note, "text"),
        ("locked", _encrypted(tmp_path), "pdf"),
    ]

    results = dict(extract_documents(items, workers=workers))

    assert sorted(results) == ["locked", "note", "scan"]
    assert results["note"].pages[0].text == "Procedure: EGD.\n"
    assert character_error_rate(results["scan"].pages[0].text, "No bleeding.") < 0.1
    assert isinstance(results["locked"], DocumentError)
    assert results["locked"].reason == "encrypted"
