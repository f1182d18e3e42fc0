"""Writers that turn note text into scanned-looking, born-digital and plain files."""

from __future__ import annotations

import io
import random
from datetime import datetime
from pathlib import Path

import img2pdf
import numpy as np
from fpdf import FPDF
from PIL import Image, ImageDraw, ImageFont

_Font = ImageFont.FreeTypeFont | ImageFont.ImageFont

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
SANS_FONT = FONT_DIR / "DejaVuSans.ttf"

# A US letter page scanned at 300 dpi.
SCAN_DPI = 300
PAGE_SIZE_PX = (2550, 3300)
MARGIN_PX = (225, 240)

# About 11 pt at 300 dpi: large enough for Tesseract to read almost every character.
FONT_SIZE_PX = 46
LINE_HEIGHT_PX = 62

# Light speckle: dust on the glass, not a fax from a broken machine.
SPECKLE_PER_MEGAPIXEL = 70
GRAIN_SIGMA = 30.0
INK_THRESHOLD = 170
ROTATION_DEGREES = (0.3, 1.2)

DIGITAL_FONT_SIZE_PT = 10.5
DIGITAL_LINE_HEIGHT_PT = 14.0
DIGITAL_MARGIN_PT = 54.0


def write_text_note(text: str, path: Path) -> None:
    """Writes the note as a UTF-8 text file.

    Args:
        text: the note text.
        path: where the file goes.
    """
    path.write_text(text, encoding="utf-8")


def write_digital_pdf(text: str, path: Path, *, created_at: datetime) -> None:
    """Writes the note as a born-digital PDF with a real text layer.

    Args:
        text: the note text.
        path: where the PDF goes.
        created_at: the fixed creation date, so the same note gives the same bytes.
    """
    pdf = FPDF(orientation="portrait", unit="pt", format="letter")
    pdf.set_creation_date(created_at)
    pdf.set_margins(DIGITAL_MARGIN_PT, DIGITAL_MARGIN_PT, DIGITAL_MARGIN_PT)
    pdf.set_auto_page_break(auto=True, margin=DIGITAL_MARGIN_PT)
    _set_digital_font(pdf)

    pdf.add_page()
    pdf.multi_cell(0, DIGITAL_LINE_HEIGHT_PT, text, align="L")
    pdf.output(str(path))


def write_scanned_pdf(text: str, path: Path, *, rng: random.Random) -> None:
    """Writes the note as an image-only PDF that looks like a paper scan.

    Args:
        text: the note text.
        path: where the PDF goes.
        rng: the seeded random source for tilt and speckle.
    """
    pages = [_encode_group4(page) for page in scan_pages(text, rng=rng)]
    path.write_bytes(
        img2pdf.convert(pages, nodate=True, engine=img2pdf.Engine.internal)
    )


def write_scanned_tiff(text: str, path: Path, *, rng: random.Random) -> None:
    """Writes the note as a bilevel multi-page TIFF, as a fax server would.

    Args:
        text: the note text.
        path: where the TIFF goes.
        rng: the seeded random source for tilt and speckle.
    """
    first, *rest = scan_pages(text, rng=rng)
    first.save(
        path,
        format="TIFF",
        compression="group4",
        dpi=(SCAN_DPI, SCAN_DPI),
        save_all=True,
        append_images=rest,
    )


def write_corrupt_pdf(path: Path, *, rng: random.Random, size_bytes: int) -> None:
    """Writes a file that claims to be a PDF but holds only random bytes.

    Args:
        path: where the file goes.
        rng: the seeded random source.
        size_bytes: total file size.
    """
    header = b"%PDF-1.4\n"
    path.write_bytes(header + rng.randbytes(size_bytes - len(header)))


def scan_pages(text: str, *, rng: random.Random) -> list[Image.Image]:
    """Lays the text out on letter pages and makes each look scanned.

    Args:
        text: the note text.
        rng: the seeded random source for tilt and speckle.

    Returns:
        One bilevel (mode "1") 300 dpi image per page.
    """
    font = _scan_font()
    lines = wrap_lines(text, font=font, width_px=PAGE_SIZE_PX[0] - 2 * MARGIN_PX[0])
    lines_per_page = (PAGE_SIZE_PX[1] - 2 * MARGIN_PX[1]) // LINE_HEIGHT_PX
    chunks = [
        lines[start : start + lines_per_page]
        for start in range(0, len(lines), lines_per_page)
    ]
    return [_degrade(_draw_page(chunk, font), rng) for chunk in chunks]


def wrap_lines(text: str, *, font: _Font, width_px: int) -> list[str]:
    """Breaks each paragraph line into lines that fit the width in the font.

    Args:
        text: the note text; its own line breaks are kept.
        font: the font the lines will be drawn in.
        width_px: the widest a line may be.

    Returns:
        The lines to draw, blank lines included.
    """
    wrapped: list[str] = []
    for paragraph in text.splitlines():
        line = ""
        for word in paragraph.split(" "):
            candidate = f"{line} {word}" if line else word
            if line and font.getlength(candidate) > width_px:
                wrapped.append(line)
                candidate = word
            line = candidate
        wrapped.append(line)
    return wrapped


def _set_digital_font(pdf: FPDF) -> None:
    if SANS_FONT.exists():
        pdf.add_font("DejaVuSans", "", str(SANS_FONT))
        pdf.set_font("DejaVuSans", size=DIGITAL_FONT_SIZE_PT)
    else:
        pdf.set_font("Helvetica", size=DIGITAL_FONT_SIZE_PT)


def _scan_font() -> _Font:
    if SANS_FONT.exists():
        return ImageFont.truetype(str(SANS_FONT), FONT_SIZE_PX)
    return ImageFont.load_default(size=FONT_SIZE_PX)


def _draw_page(lines: list[str], font: _Font) -> Image.Image:
    page = Image.new("L", PAGE_SIZE_PX, color=255)
    draw = ImageDraw.Draw(page)
    left, top = MARGIN_PX
    for number, line in enumerate(lines):
        draw.text((left, top + number * LINE_HEIGHT_PX), line, font=font, fill=0)
    return page


def _degrade(page: Image.Image, rng: random.Random) -> Image.Image:
    angle = rng.uniform(*ROTATION_DEGREES) * rng.choice((-1, 1))
    # Nearest-neighbour keeps rotation fast; the stair-stepped strokes it leaves
    # are what a tilted bilevel scan shows anyway.
    tilted = page.rotate(angle, resample=Image.Resampling.NEAREST, fillcolor=255)
    pixels = np.asarray(tilted, dtype=np.float32)

    # Grain on the grey stroke edges only, before thresholding, roughens them the
    # way a scanner does; white paper stays white, which keeps this step cheap.
    noise = np.random.default_rng(rng.getrandbits(64))
    edges = np.nonzero((pixels > 0) & (pixels < 255))
    grain = noise.normal(0.0, GRAIN_SIGMA, size=edges[0].size)
    pixels[edges] += grain.astype(np.float32)
    _add_speckle(pixels, noise)

    ink = pixels < INK_THRESHOLD
    return Image.fromarray(~ink).convert("1")


def _add_speckle(pixels: np.ndarray, noise: np.random.Generator) -> None:
    height, width = pixels.shape
    count = int(width * height / 1e6 * SPECKLE_PER_MEGAPIXEL)
    rows = noise.integers(0, height - 3, size=count)
    cols = noise.integers(0, width - 3, size=count)
    sizes = noise.integers(1, 3, size=count)
    for row, col, size in zip(rows, cols, sizes, strict=True):
        pixels[row : row + size, col : col + size] = 0.0


def _encode_group4(page: Image.Image) -> bytes:
    buffer = io.BytesIO()
    page.save(buffer, format="TIFF", compression="group4", dpi=(SCAN_DPI, SCAN_DPI))
    return buffer.getvalue()
