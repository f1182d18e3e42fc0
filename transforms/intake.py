"""Register the files of an inbox: identify, sniff, count pages, flag duplicates."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl

from cptflow.transforms.errors import DocumentError
from cptflow.transforms.manifest import (
    MANIFEST_NAMES,
    EncounterMetadata,
    read_manifest,
)
from cptflow.transforms.ocr.plain_text import decode_text
from cptflow.transforms.ocr.readers import (
    count_image_pages,
    count_pdf_pages,
    count_text_pages,
)

logger = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 200 * 1024 * 1024
SNIFF_BYTES = 8192
PRINTABLE_SHARE = 0.9
HASH_CHUNK = 1024 * 1024

DOCUMENTS_SCHEMA = {
    "document_id": pl.Utf8,
    "partition_date": pl.Date,
    "file_path": pl.Utf8,
    "file_name": pl.Utf8,
    "size_bytes": pl.Int64,
    "doc_format": pl.Utf8,
    "page_count": pl.Int32,
    "status": pl.Utf8,
    "reason": pl.Utf8,
    "duplicate_of_path": pl.Utf8,
    "encounter_id": pl.Utf8,
    "patient_id": pl.Utf8,
    "patient_name": pl.Utf8,
    "patient_birth_date": pl.Date,
    "patient_sex": pl.Utf8,
    "date_of_service": pl.Date,
    "rendering_npi": pl.Utf8,
    "billing_npi": pl.Utf8,
    "payer_id": pl.Utf8,
    "place_of_service": pl.Utf8,
    "metadata_source": pl.Utf8,
    "received_at": pl.Datetime("us"),
}

MAGIC_NUMBERS = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
    (b"II+\x00", "tiff"),
    (b"MM\x00+", "tiff"),
)


@dataclass(frozen=True)
class FileInspection:
    """What intake learned about one file without reading its text.

    Attributes:
        document_id: sha256 hex of the file bytes.
        size_bytes: file size.
        doc_format: `pdf`, `tiff`, `png`, `jpeg`, `text`, or None when unknown.
        page_count: pages, or None when the file cannot be read.
        status: `processed` or `quarantined`.
        reason: the DocumentError reason when quarantined, else None.
        detail: a sentence saying what was wrong, else None.
    """

    document_id: str
    size_bytes: int
    doc_format: str | None
    page_count: int | None
    status: str
    reason: str | None = None
    detail: str | None = None


def sniff_format(head: bytes) -> str | None:
    """Name a file's format from its first bytes, never from its extension.

    Args:
        head: the first few kilobytes of the file.

    Returns:
        `pdf`, `tiff`, `png`, `jpeg` or `text`, or None when unrecognized.
    """
    for magic, doc_format in MAGIC_NUMBERS:
        if head.startswith(magic):
            return doc_format

    # Readers accept a PDF header anywhere in the first kilobyte.
    if b"%PDF-" in head[:1024]:
        return "pdf"

    if head and _looks_like_text(head):
        return "text"
    return None


def _looks_like_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False

    text = decode_text(head)
    printable = sum(
        1
        for char in text
        if char != "\ufffd" and (char.isprintable() or char.isspace())
    )
    return printable >= PRINTABLE_SHARE * len(text)


def inspect_file(path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> FileInspection:
    """Identify a file and count its pages; bad content is reported, never raised.

    Args:
        path: the file to inspect.
        max_bytes: files larger than this are quarantined as `too_large`.

    Returns:
        The inspection, `quarantined` with a reason when the file cannot be used.
    """
    size = path.stat().st_size
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
    document_id = _sha256_file(path)
    doc_format = sniff_format(head)

    try:
        page_count = _count_pages(path, size, doc_format, max_bytes=max_bytes)
    except DocumentError as error:
        logger.warning("quarantined document %s: %s", document_id, error.reason)
        return FileInspection(
            document_id=document_id,
            size_bytes=size,
            doc_format=doc_format,
            page_count=None,
            status="quarantined",
            reason=error.reason,
            detail=error.detail,
        )
    return FileInspection(document_id, size, doc_format, page_count, "processed")


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _count_pages(
    path: Path, size: int, doc_format: str | None, *, max_bytes: int
) -> int:
    if size == 0:
        raise DocumentError("empty", "the file has no bytes")
    if size > max_bytes:
        raise DocumentError("too_large", f"{size} bytes is over the {max_bytes} limit")
    if doc_format is None:
        raise DocumentError("unsupported_format", "the bytes match no known format")

    if doc_format == "pdf":
        return count_pdf_pages(path)
    if doc_format == "text":
        return count_text_pages(path)
    return count_image_pages(path)


def scan_inbox(
    inbox: Path,
    *,
    partition_date: date | None = None,
    partition_of: Callable[[Path], date | None] | None = None,
    registered: Mapping[str, str],
    manifest: Mapping[str, EncounterMetadata] | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> pl.DataFrame:
    """List an inbox's documents as intake.documents rows.

    Files directly in the inbox and in its subfolders are taken in sorted order;
    hidden files and the manifest are skipped. A file whose bytes were already
    registered in another partition, or seen earlier in this batch, is a duplicate.

    Args:
        inbox: the folder to scan.
        partition_date: the partition every row belongs to.
        partition_of: instead of partition_date, each file's partition, or None
            to leave the file out unread. Files are then taken by partition,
            then path, so the earliest day's copy of a document is the original.
        registered: document_id -> file_path registered in other partitions.
        manifest: metadata by file name; read from the inbox when None.
        max_bytes: files larger than this are quarantined as `too_large`.

    Returns:
        One row per file with the columns of intake.documents.

    Raises:
        CptflowError: when the inbox's manifest is unreadable.
        ValueError: unless exactly one of partition_date and partition_of is given.
    """
    if (partition_date is None) == (partition_of is None):
        raise ValueError("give exactly one of partition_date and partition_of")
    if manifest is None:
        manifest = read_manifest(inbox)
    of_file = partition_of or (lambda _path: partition_date)

    rows = []
    first_paths: dict[str, str] = {}
    for path, day in _files_by_partition(inbox, of_file):
        inspection = inspect_file(path, max_bytes=max_bytes)
        file_path = str(path.resolve())
        duplicate_of = _duplicate_of(inspection, file_path, registered, first_paths)
        metadata = _metadata_for(manifest, inbox, path)
        rows.append(
            _document_row(path, file_path, day, inspection, duplicate_of, metadata)
        )

    documents = pl.DataFrame(rows, schema=DOCUMENTS_SCHEMA)
    logger.info(
        "scanned %d files: %s",
        documents.height,
        dict(documents.group_by("status").len().iter_rows()),
    )
    return documents


def _files_by_partition(
    inbox: Path, partition_of: Callable[[Path], date | None]
) -> list[tuple[Path, date]]:
    """The inbox files to register with their partitions, in registration order."""
    found = []
    for path in _inbox_files(inbox):
        day = partition_of(path)
        if day is not None:
            found.append((path, day))
    # The sort is stable, so the files of one day keep the inbox's path order.
    return sorted(found, key=lambda pair: pair[1])


def _inbox_files(inbox: Path) -> list[Path]:
    def is_document(path: Path) -> bool:
        relative = path.relative_to(inbox)
        is_hidden = any(part.startswith(".") for part in relative.parts)
        is_manifest = len(relative.parts) == 1 and relative.name in MANIFEST_NAMES
        return path.is_file() and not is_hidden and not is_manifest

    files = [path for path in inbox.rglob("*") if is_document(path)]
    return sorted(files, key=lambda path: path.relative_to(inbox).as_posix())


def _duplicate_of(
    inspection: FileInspection,
    file_path: str,
    registered: Mapping[str, str],
    first_paths: dict[str, str],
) -> str | None:
    # Quarantined files keep their quarantine reason: it says more than duplicate.
    if inspection.status != "processed":
        return None

    # The registry holds other partitions only: the same file there, even at
    # this path, was processed already and must not be coded and billed twice.
    document_id = inspection.document_id
    registered_path = registered.get(document_id)
    if registered_path is not None:
        return registered_path
    if document_id in first_paths:
        return first_paths[document_id]
    first_paths[document_id] = file_path
    return None


def _metadata_for(
    manifest: Mapping[str, EncounterMetadata], inbox: Path, path: Path
) -> EncounterMetadata | None:
    relative = path.relative_to(inbox).as_posix()
    return manifest.get(relative) or manifest.get(path.name)


def encounter_id_for(
    document_id: str,
    patient_id: str | None,
    date_of_service: date | None,
    rendering_npi: str | None,
) -> str:
    """Derive an encounter id the way docs/architecture.md defines it."""
    parts = [
        patient_id or "",
        date_of_service.isoformat() if date_of_service else "",
        rendering_npi or "",
        document_id,
    ]
    digest = hashlib.sha256("|".join(parts).encode("utf-8")).hexdigest()
    return "enc-" + digest[:16]


def _document_row(
    path: Path,
    file_path: str,
    partition_date: date,
    inspection: FileInspection,
    duplicate_of: str | None,
    metadata: EncounterMetadata | None,
) -> dict[str, object]:
    meta = metadata or EncounterMetadata(file=path.name)
    encounter_id = meta.encounter_id or encounter_id_for(
        inspection.document_id,
        meta.patient_id,
        meta.date_of_service,
        meta.rendering_npi,
    )
    mtime = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)

    return {
        "document_id": inspection.document_id,
        "partition_date": partition_date,
        "file_path": file_path,
        "file_name": path.name,
        "size_bytes": inspection.size_bytes,
        "doc_format": inspection.doc_format,
        "page_count": inspection.page_count,
        "status": "duplicate" if duplicate_of else inspection.status,
        "reason": inspection.reason,
        "duplicate_of_path": duplicate_of,
        "encounter_id": encounter_id,
        "patient_id": meta.patient_id,
        "patient_name": meta.patient_name,
        "patient_birth_date": meta.patient_birth_date,
        "patient_sex": meta.patient_sex,
        "date_of_service": meta.date_of_service,
        "rendering_npi": meta.rendering_npi,
        "billing_npi": meta.billing_npi,
        "payer_id": meta.payer_id,
        "place_of_service": meta.place_of_service,
        "metadata_source": "manifest" if metadata else "none",
        # TIMESTAMP columns hold naive UTC.
        "received_at": mtime.replace(tzinfo=None),
    }
