"""Document page images with a code's evidence words boxed, for the review page."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pypdfium2 as pdfium
from PIL import Image, ImageDraw

IMAGE_FORMATS = ("tiff", "png", "jpeg")
RENDER_WIDTH = 1100
HIGHLIGHT = (255, 200, 0, 90)
OUTLINE = (220, 120, 0, 255)


def evidence_boxes(
    words: pl.DataFrame, evidence: Sequence[Mapping[str, Any]], page_number: int
) -> list[tuple[float, float, float, float]]:
    """Boxes (x0, y0, x1, y1) of the page's words that overlap an evidence span."""
    spans = [(e["start"], e["end"]) for e in evidence if e["page"] == page_number]
    boxes = []
    for word in words.filter(pl.col("page_number") == page_number).iter_rows(
        named=True
    ):
        if any(word["start"] < end and word["end"] > start for start, end in spans):
            boxes.append((word["x0"], word["y0"], word["x1"], word["y1"]))
    return boxes


def page_words(conn: duckdb.DuckDBPyConnection, document_id: str) -> pl.DataFrame:
    """The document's words with boxes, from ocr.page_words."""
    return conn.execute(
        'select page_number, start, "end", x0, y0, x1, y1 from ocr.page_words '
        "where document_id = ? order by page_number, word_index",
        [document_id],
    ).pl()


def render_page(path: Path, doc_format: str, page_number: int) -> Image.Image | None:
    """The page as an RGB image rendered from the original file, None for text."""
    if doc_format == "pdf":
        pdf = pdfium.PdfDocument(str(path))
        try:
            page = pdf[page_number - 1]
            scale = RENDER_WIDTH / page.get_width()
            return page.render(scale=scale).to_pil().convert("RGB")
        finally:
            pdf.close()
    if doc_format in IMAGE_FORMATS:
        with Image.open(path) as image:
            image.seek(page_number - 1)
            return image.convert("RGB")
    return None


def highlight(
    image: Image.Image,
    boxes: Sequence[tuple[float, float, float, float]],
    *,
    page_width: float,
    page_height: float,
) -> Image.Image:
    """Draw the boxes, given in page units, over the image scaled to its size."""
    scale_x, scale_y = image.width / page_width, image.height / page_height
    layer = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    for x0, y0, x1, y1 in boxes:
        draw.rectangle(
            (x0 * scale_x - 2, y0 * scale_y - 2, x1 * scale_x + 2, y1 * scale_y + 2),
            fill=HIGHLIGHT,
            outline=OUTLINE,
            width=2,
        )
    return Image.alpha_composite(image.convert("RGBA"), layer).convert("RGB")


def evidence_pages(
    conn: duckdb.DuckDBPyConnection,
    document: Mapping[str, Any],
    evidence: Sequence[Mapping[str, Any]],
) -> list[tuple[int, Image.Image]]:
    """Every page of the document as an image with the evidence words boxed.

    Args:
        conn: an open connection.
        document: the intake.documents row (file_path, doc_format, document_id).
        evidence: evidence spans (page, start, end) to highlight.

    Returns:
        (page number, image) pairs; empty for a text note or a missing file.
    """
    path = Path(document["file_path"])
    if not path.is_file() or document["doc_format"] not in ("pdf", *IMAGE_FORMATS):
        return []
    sizes = conn.execute(
        "select page_number, width, height from ocr.page_texts "
        "where document_id = ? order by page_number",
        [document["document_id"]],
    ).fetchall()
    words = page_words(conn, document["document_id"])
    images = []
    for number, width, height in sizes:
        image = render_page(path, document["doc_format"], number)
        if image is None:
            continue
        # Page sizes are the word boxes' units; without them nothing can be placed.
        if width and height:
            boxes = evidence_boxes(words, evidence, number)
            image = highlight(image, boxes, page_width=width, page_height=height)
        images.append((number, image))
    return images
