"""ocr.page_texts: the text of every page, read from its text layer or OCRed."""

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import polars as pl
from dagster import AssetExecutionContext, MaterializeResult, asset

from cptflow.assets.checks import check_specs_for
from cptflow.assets.publishing import count_metadata, stage_check_publish
from cptflow.orchestration.partitions import DayRange, daily_partitions, single_run
from cptflow.orchestration.resources import (
    PipelineSettings,
    WarehouseResource,
    replace_keyed_rows,
)
from cptflow.transforms.errors import DocumentError
from cptflow.transforms.ocr import PageExtraction, extract_documents, page_frames

KEY = ("ocr", "page_texts")
# OCR output depends only on the bytes and these settings, so it is cached by
# document id: reruns and resumed runs do not OCR a document twice.
CACHE_PAGES = "ocr.cached_pages"
CACHE_WORDS = "ocr.cached_words"
# A cache write costs about half a second (a DuckDB checkpoint), so documents read
# in milliseconds (plain text, text layers) are written in batches: a batch goes
# out once it holds this much reading time, and at the end.
CACHE_BATCH_SECONDS = 2.0


@asset(
    key=list(KEY),
    deps=[["intake", "documents"]],
    partitions_def=daily_partitions,
    backfill_policy=single_run,
    check_specs=check_specs_for(KEY),
    group_name="ocr",
)
def page_texts(
    context: AssetExecutionContext,
    warehouse: WarehouseResource,
    settings: PipelineSettings,
) -> MaterializeResult:
    """One row per page of the partition's processed documents.

    Source: intake.documents. Pages with a usable text layer are read directly;
    image pages go through ocrmypdf and Tesseract, keeping word boxes (side table
    ocr.page_words) and the mean word confidence. Documents that fail are listed in
    ocr.document_status with their reason and left out of the pages.
    """
    days = DayRange.of(context)
    profile = _ocr_profile(settings)
    todo = warehouse.read(
        "select document_id, file_path, doc_format, partition_date "
        "from intake.documents where partition_date between ? and ? "
        "and status = 'processed' order by partition_date, file_path",
        [days.first, days.last],
    )

    cached = _cached_ids(warehouse, profile)
    pending = [row[:3] for row in todo.iter_rows() if row[0] not in cached]
    context.log.info(
        "ocr %s: %d documents, %d cached, %d to read",
        days,
        todo.height,
        todo.height - len(pending),
        len(pending),
    )
    failures, seconds = _extract_pending(warehouse, settings, pending, profile)

    pages, words = _published_frames(warehouse, todo, failures, days, profile)
    status = _status_frame(todo, failures, seconds)
    return stage_check_publish(
        context,
        warehouse,
        asset_key=KEY,
        frames={"page_texts": pages, "page_words": words, "document_status": status},
        extra_metadata=count_metadata(
            {
                "documents": todo.height,
                "ocr_pages": pages.filter(pl.col("method") == "ocr").height,
                "text_layer_pages": pages.filter(
                    pl.col("method") == "text_layer"
                ).height,
                "quarantined_documents": len(failures),
            }
        ),
    )


def _ocr_profile(settings: PipelineSettings) -> str:
    """The settings that change OCR output; a cache entry is valid only for them."""
    return f"deskew={settings.deskew}"


def _cached_ids(warehouse: WarehouseResource, profile: str) -> set[str]:
    """Document ids whose pages are already cached for this OCR profile."""
    if not warehouse.table_exists("ocr", "cached_pages"):
        return set()
    rows = warehouse.read(
        f"select distinct document_id from {CACHE_PAGES} where ocr_profile = ?",
        [profile],
    )
    return set(rows["document_id"])


def _extract_pending(
    warehouse: WarehouseResource,
    settings: PipelineSettings,
    pending: list[tuple[str, str, str]],
    profile: str,
) -> tuple[dict[str, DocumentError], dict[str, float]]:
    """OCR the documents not cached yet, caching them as they finish.

    Returns:
        The documents that failed, and the seconds each successful one took.
    """
    failures: dict[str, DocumentError] = {}
    seconds: dict[str, float] = {}
    batch: list[tuple[str, PageExtraction]] = []
    for document_id, result in _extractions(pending, settings):
        if isinstance(result, DocumentError):
            failures[document_id] = result
            continue
        seconds[document_id] = result.seconds
        batch.append((document_id, result))
        if sum(extraction.seconds for _, extraction in batch) >= CACHE_BATCH_SECONDS:
            _cache_extractions(warehouse, batch, profile)
            batch = []
    _cache_extractions(warehouse, batch, profile)
    return failures, seconds


def _extractions(
    pending: list[tuple[str, str, str]], settings: PipelineSettings
) -> Iterator[tuple[str, PageExtraction | DocumentError]]:
    """Every pending document's extraction, plain text first."""
    items = [(doc_id, Path(path), fmt) for doc_id, path, fmt in pending]
    # Plain text needs no OCR: reading it here spares starting the worker pool.
    text = [item for item in items if item[2] == "text"]
    others = [item for item in items if item[2] != "text"]
    yield from extract_documents(text, workers=1, deskew=settings.deskew)
    yield from extract_documents(
        others, workers=settings.ocr_workers, deskew=settings.deskew
    )


def _cache_extractions(
    warehouse: WarehouseResource,
    batch: list[tuple[str, PageExtraction]],
    profile: str,
) -> None:
    """Write documents' pages and words to the cache tables (by document id,
    so without a partition)."""
    if not batch:
        return
    frames = [page_frames(doc_id, date.min, result) for doc_id, result in batch]
    tag = pl.lit(profile).alias("ocr_profile")
    for table, parts in (
        (CACHE_PAGES, [p for p, _ in frames]),
        (CACHE_WORDS, [w for _, w in frames]),
    ):
        replace_keyed_rows(
            warehouse,
            table,
            pl.concat(parts, how="vertical").drop("partition_date").with_columns(tag),
            key="document_id",
        )


def _published_frames(
    warehouse: WarehouseResource,
    todo: pl.DataFrame,
    failures: dict[str, DocumentError],
    days: DayRange,
    profile: str,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The pages and words of the run's documents, taken from the cache, each
    under its document's partition."""
    documents = todo.filter(~pl.col("document_id").is_in(list(failures)))
    empty = page_frames("", days.first, PageExtraction(pages=[], words=[]))
    if not documents.height:
        return empty
    partitions = documents.select("document_id", "partition_date").unique()
    frames = []
    for cache, shape in zip((CACHE_PAGES, CACHE_WORDS), empty, strict=True):
        frame = warehouse.read(
            f"select * exclude (ocr_profile) from {cache} "
            "where ocr_profile = ? and list_contains(?, document_id) "
            "order by all",
            [profile, documents["document_id"].to_list()],
        )
        frames.append(
            frame.join(
                partitions, on="document_id", how="inner", maintain_order="left"
            ).select(shape.columns)
        )
    return frames[0], frames[1]


def _status_frame(
    todo: pl.DataFrame,
    failures: dict[str, DocumentError],
    seconds: dict[str, float],
) -> pl.DataFrame:
    """One row per document: processed, or quarantined with its reason.

    `seconds` is this run's reading time; NULL when the pages came from the cache.
    """
    rows = []
    for document_id, partition_date in todo.select(
        "document_id", "partition_date"
    ).iter_rows():
        error = failures.get(document_id)
        rows.append(
            {
                "document_id": document_id,
                "partition_date": partition_date,
                "status": "quarantined" if error else "processed",
                "reason": error.reason if error else None,
                "detail": error.detail if error else None,
                "seconds": seconds.get(document_id),
            }
        )
    return pl.DataFrame(
        rows,
        schema={
            "document_id": pl.Utf8,
            "partition_date": pl.Date,
            "status": pl.Utf8,
            "reason": pl.Utf8,
            "detail": pl.Utf8,
            "seconds": pl.Float64,
        },
    )
