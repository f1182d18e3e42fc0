"""Tests of inbox intake: sniffing, inspection, duplicates and manifest merge."""

from __future__ import annotations

import hashlib
import os
import random
from datetime import date, datetime
from pathlib import Path

import pikepdf
import polars as pl
import pytest
from fpdf import FPDF
from PIL import Image

from cptflow.transforms.intake import (
    DOCUMENTS_SCHEMA,
    FileInspection,
    inspect_file,
    scan_inbox,
    sniff_format,
)

PARTITION = date(2026, 12, 3)
# 2026-12-01 08:30:00 UTC
MTIME = 1796113800


def make_text_pdf(path: Path, pages: list[str]) -> Path:
    pdf = FPDF(unit="pt", format="letter")
    pdf.set_font("Helvetica", size=12)
    for text in pages:
        pdf.add_page()
        pdf.text(72, 72, text)
    pdf.output(str(path))
    return path


def make_png(path: Path, size: tuple[int, int] = (40, 30)) -> Path:
    Image.new("L", size, 255).save(path, format="PNG")
    return path


def make_encrypted_pdf(path: Path, source: Path) -> Path:
    with pikepdf.open(source) as pdf:
        pdf.save(path, encryption=pikepdf.Encryption(user="secret", owner="owner"))
    return path


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        pytest.param(b"%PDF-1.7\n%\xe2\xe3", "pdf", id="pdf"),
        pytest.param(b"\r\n%PDF-1.4\n", "pdf", id="pdf-after-junk"),
        pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00", "png", id="png"),
        pytest.param(b"\xff\xd8\xff\xe0\x00\x10JFIF", "jpeg", id="jpeg"),
        pytest.param(b"II*\x00\x08\x00", "tiff", id="tiff-little-endian"),
        pytest.param(b"MM\x00*\x00\x00", "tiff", id="tiff-big-endian"),
        pytest.param(b"OPERATIVE NOTE\nProcedure: EGD\n", "text", id="ascii-text"),
        pytest.param("Diagnóstico: café\n".encode(), "text", id="utf8-text"),
        pytest.param(
            b"Seen in caf\xe9 clinic today for follow up.", "text", id="latin1"
        ),
        pytest.param(b"GIF89a\x01\x00\x01\x00\x00", None, id="gif-has-nul"),
        pytest.param(bytes(range(1, 32)) * 4, None, id="control-bytes"),
        pytest.param(b"", None, id="empty"),
    ],
)
def test_sniff_format_reads_magic_bytes(head: bytes, expected: str | None) -> None:
    assert sniff_format(head) == expected


def test_inspect_file_born_digital_pdf(tmp_path: Path) -> None:
    path = make_text_pdf(tmp_path / "note.pdf", ["Page one of the note.", "Two."])

    inspection = inspect_file(path)

    expected_id = hashlib.sha256(path.read_bytes()).hexdigest()
    assert inspection == FileInspection(
        expected_id, path.stat().st_size, "pdf", 2, "processed"
    )


def test_inspect_file_counts_tiff_frames(tmp_path: Path) -> None:
    path = tmp_path / "scan.tif"
    frames = [Image.new("L", (50, 60), 255), Image.new("L", (50, 60), 0)]
    frames[0].save(path, save_all=True, append_images=frames[1:])

    inspection = inspect_file(path)

    assert (inspection.doc_format, inspection.page_count) == ("tiff", 2)
    assert inspection.status == "processed"


def test_inspect_file_counts_form_feed_pages(tmp_path: Path) -> None:
    path = tmp_path / "note.txt"
    path.write_bytes(b"page one\fpage two\fpage three\f")

    inspection = inspect_file(path)

    assert (inspection.doc_format, inspection.page_count) == ("text", 3)


def _zero_bytes(tmp_path: Path) -> Path:
    path = tmp_path / "zero.pdf"
    path.write_bytes(b"")
    return path


def _random_bytes(tmp_path: Path) -> Path:
    path = tmp_path / "random.pdf"
    path.write_bytes(random.Random(7).randbytes(4096))
    return path


def _truncated_pdf(tmp_path: Path) -> Path:
    whole = make_text_pdf(tmp_path / "whole.pdf", ["A note that will be cut."])
    path = tmp_path / "truncated.pdf"
    path.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    return path


def _png_named_pdf(tmp_path: Path) -> Path:
    return make_png(tmp_path / "picture.pdf")


def _encrypted_pdf(tmp_path: Path) -> Path:
    source = make_text_pdf(tmp_path / "plain.pdf", ["A note behind a password."])
    return make_encrypted_pdf(tmp_path / "locked.pdf", source)


def _invalid_utf8(tmp_path: Path) -> Path:
    path = tmp_path / "latin1.txt"
    path.write_bytes(b"Patient seen in caf\xe9 clinic.\nPlan: return in 2 weeks.\n")
    return path


def _whitespace_text(tmp_path: Path) -> Path:
    path = tmp_path / "blank.txt"
    path.write_bytes(b"  \n\t\f \r\n")
    return path


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        pytest.param(_zero_bytes, (None, None, "quarantined", "empty"), id="zero"),
        pytest.param(
            _random_bytes,
            (None, None, "quarantined", "unsupported_format"),
            id="random-named-pdf",
        ),
        pytest.param(
            _truncated_pdf, ("pdf", None, "quarantined", "corrupt"), id="truncated"
        ),
        pytest.param(_png_named_pdf, ("png", 1, "processed", None), id="png-named-pdf"),
        pytest.param(
            _encrypted_pdf, ("pdf", None, "quarantined", "encrypted"), id="encrypted"
        ),
        pytest.param(_invalid_utf8, ("text", 1, "processed", None), id="bad-utf8"),
        pytest.param(
            _whitespace_text, ("text", None, "quarantined", "empty"), id="whitespace"
        ),
    ],
)
def test_inspect_file_classifies_bad_content(
    tmp_path: Path, make, expected: tuple[str | None, int | None, str, str | None]
) -> None:
    inspection = inspect_file(make(tmp_path))

    found = (
        inspection.doc_format,
        inspection.page_count,
        inspection.status,
        inspection.reason,
    )
    assert found == expected


def test_inspect_file_too_large(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    path.write_text("x" * 2048)

    inspection = inspect_file(path, max_bytes=1024)

    assert (inspection.status, inspection.reason) == ("quarantined", "too_large")
    assert inspection.document_id == hashlib.sha256(b"x" * 2048).hexdigest()


def test_inspect_file_image_over_pixel_limit_is_a_bomb(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = make_png(tmp_path / "wide.png", size=(200, 100))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10_000)

    inspection = inspect_file(path)

    assert (inspection.status, inspection.reason) == (
        "quarantined",
        "decompression_bomb",
    )


def test_inspect_file_pdf_page_over_pixel_limit_is_a_bomb(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = make_text_pdf(tmp_path / "note.pdf", ["A letter page."])
    # A letter page at 300 dpi is 2550 x 3300 = 8,415,000 pixels.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 8_000_000)

    inspection = inspect_file(path)

    assert inspection.reason == "decompression_bomb"


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, (MTIME, MTIME))
    return path


def test_scan_inbox_columns_follow_the_contract(tmp_path: Path) -> None:
    _write(tmp_path / "a.txt", b"Procedure: colonoscopy.\n")

    documents = scan_inbox(tmp_path, partition_date=PARTITION, registered={})

    assert documents.schema == pl.Schema(DOCUMENTS_SCHEMA)
    assert list(documents.columns) == [
        "document_id", "partition_date", "file_path", "file_name", "size_bytes",
        "doc_format", "page_count", "status", "reason", "duplicate_of_path",
        "encounter_id", "patient_id", "patient_name", "patient_birth_date",
        "patient_sex", "date_of_service", "rendering_npi", "billing_npi",
        "payer_id", "place_of_service", "metadata_source", "received_at",
    ]  # fmt: skip


def test_scan_inbox_walks_sorted_and_skips_hidden_and_manifest(tmp_path: Path) -> None:
    _write(tmp_path / "b.txt", b"note b\n")
    _write(tmp_path / "a.txt", b"note a\n")
    _write(tmp_path / "sub" / "c.txt", b"note c\n")
    _write(tmp_path / ".hidden.txt", b"hidden\n")
    _write(tmp_path / ".cache" / "d.txt", b"cached\n")
    _write(tmp_path / "manifest.csv", b"file\na.txt\n")

    documents = scan_inbox(tmp_path, partition_date=PARTITION, registered={})

    root = tmp_path.resolve()
    assert documents["file_path"].to_list() == [
        str(root / "a.txt"),
        str(root / "b.txt"),
        str(root / "sub" / "c.txt"),
    ]
    assert documents["metadata_source"].to_list() == ["manifest", "none", "none"]


def test_scan_inbox_marks_duplicates_within_the_batch(tmp_path: Path) -> None:
    _write(tmp_path / "b_copy.txt", b"the same note\n")
    _write(tmp_path / "a_first.txt", b"the same note\n")

    documents = scan_inbox(tmp_path, partition_date=PARTITION, registered={})

    first = str(tmp_path.resolve() / "a_first.txt")
    assert documents.select("status", "duplicate_of_path").rows() == [
        ("processed", None),
        ("duplicate", first),
    ]


def test_scan_inbox_takes_a_range_by_day_so_the_earliest_copy_is_original(
    tmp_path: Path,
) -> None:
    _write(tmp_path / "a_late.txt", b"the same note\n")
    _write(tmp_path / "b_early.txt", b"the same note\n")
    _write(tmp_path / "c_outside.txt", b"another day's note\n")
    received = {
        "a_late.txt": date(2026, 10, 2),
        "b_early.txt": date(2026, 10, 1),
        "c_outside.txt": None,
    }

    documents = scan_inbox(
        tmp_path, partition_of=lambda path: received[path.name], registered={}
    )

    early = str(tmp_path.resolve() / "b_early.txt")
    assert documents.select(
        "file_name", "partition_date", "status", "duplicate_of_path"
    ).rows() == [
        ("b_early.txt", date(2026, 10, 1), "processed", None),
        ("a_late.txt", date(2026, 10, 2), "duplicate", early),
    ]


@pytest.mark.parametrize(
    "partitions",
    [
        pytest.param({}, id="neither"),
        pytest.param(
            {"partition_date": PARTITION, "partition_of": lambda _path: PARTITION},
            id="both",
        ),
    ],
)
def test_scan_inbox_needs_exactly_one_way_to_partition(
    tmp_path: Path, partitions: dict
) -> None:
    with pytest.raises(ValueError, match="exactly one"):
        scan_inbox(tmp_path, registered={}, **partitions)


def test_scan_inbox_marks_duplicates_of_registered_documents(tmp_path: Path) -> None:
    path = _write(tmp_path / "note.txt", b"registered yesterday\n")
    document_id = hashlib.sha256(path.read_bytes()).hexdigest()
    elsewhere = "/srv/inbox/2026-12-02/note.txt"

    again = scan_inbox(
        tmp_path,
        partition_date=PARTITION,
        registered={document_id: str(path.resolve())},
    )
    moved = scan_inbox(
        tmp_path, partition_date=PARTITION, registered={document_id: elsewhere}
    )

    # Same path, another partition: a second registration would bill it twice.
    assert again.select("status", "duplicate_of_path").row(0) == (
        "duplicate",
        str(path.resolve()),
    )
    assert moved.select("status", "duplicate_of_path").row(0) == (
        "duplicate",
        elsewhere,
    )


def test_scan_inbox_merges_manifest_and_derives_encounter_ids(tmp_path: Path) -> None:
    noted = _write(tmp_path / "noted.txt", b"EGD with biopsy.\n")
    _write(tmp_path / "given.txt", b"Colonoscopy.\n")
    bare = _write(tmp_path / "bare.txt", b"Office visit.\n")
    _write(
        tmp_path / "manifest.csv",
        b"file,encounter_id,patient_id,date_of_service,rendering_npi,patient_birth_date\n"
        b"noted.txt,,P001,11/30/2026,1234567893,1961-04-09\n"
        b"given.txt,E-77,P002,2026-11-29,,\n",
    )

    documents = scan_inbox(tmp_path, partition_date=PARTITION, registered={})

    def sha(data: bytes) -> str:
        return hashlib.sha256(data).hexdigest()

    noted_key = f"P001|2026-11-30|1234567893|{sha(noted.read_bytes())}"
    bare_key = f"|||{sha(bare.read_bytes())}"
    rows = documents.select(
        "file_name", "encounter_id", "patient_birth_date", "metadata_source"
    ).rows()
    assert rows == [
        ("bare.txt", "enc-" + sha(bare_key.encode())[:16], None, "none"),
        ("given.txt", "E-77", None, "manifest"),
        (
            "noted.txt",
            "enc-" + sha(noted_key.encode())[:16],
            date(1961, 4, 9),
            "manifest",
        ),
    ]


def test_scan_inbox_reports_bad_files_without_raising(tmp_path: Path) -> None:
    _write(tmp_path / "empty.pdf", b"")
    _write(tmp_path / "note.txt", b"Procedure: colonoscopy.\n")

    documents = scan_inbox(tmp_path, partition_date=PARTITION, registered={})

    expected_received = datetime(2026, 12, 1, 8, 30)
    assert documents.select(
        "file_name", "status", "reason", "page_count", "received_at"
    ).rows() == [
        ("empty.pdf", "quarantined", "empty", None, expected_received),
        ("note.txt", "processed", None, 1, expected_received),
    ]


def test_scan_inbox_empty_inbox_gives_empty_frame(tmp_path: Path) -> None:
    documents = scan_inbox(tmp_path, partition_date=PARTITION, registered={})

    assert documents.height == 0
    assert documents.schema == pl.Schema(DOCUMENTS_SCHEMA)
