"""A batch of broken, odd and hostile inputs: the run finishes and accounts for all."""

from __future__ import annotations

import io
import json
import random
import shutil
import struct
import zlib
from pathlib import Path

import duckdb
import img2pdf
import pikepdf
import pytest
from fpdf import FPDF
from PIL import Image, ImageDraw, ImageFont
from typer.testing import CliRunner

from cptflow.orchestration.cli import app

pytestmark = pytest.mark.slow

runner = CliRunner()
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
PARTITION = "2026-11-02"

ENGLISH_NOTE = """PATIENT: Test Subject-Alpha
DATE OF SERVICE: 10/30/2026

PROCEDURE PERFORMED: Colonoscopy.
INDICATION: Screening for colon cancer in a patient at average risk.
FINDINGS: The colonoscope was advanced to the cecum. The preparation was good.
No polyps were seen. The mucosa of the whole colon looked normal.
IMPRESSION: Normal colonoscopy. Repeat the screening in ten years.
"""

SPANISH_NOTE = """PROCEDIMIENTO: Colonoscopia de control.
Paciente de 54 años que acude para colonoscopia de control. Se realizó la
colonoscopia hasta el ciego sin complicaciones. Se encontró un pólipo de seis
milímetros en el colon sigmoide que fue resecado con asa fría. La preparación
intestinal fue adecuada. Se recomienda repetir el estudio en cinco años y
mantener una dieta rica en fibra.
"""

# Six lines: fewer and Tesseract cannot tell which way up a page is.
SCAN_LINES = [
    "PROCEDURE PERFORMED: Upper endoscopy.",
    "FINDINGS: The esophagus and the stomach looked normal.",
    "IMPRESSION: Normal upper endoscopy.",
    "INDICATION: Heartburn for two months despite treatment.",
    "The scope was passed into the duodenum without difficulty.",
    "The patient tolerated the procedure well and went home.",
]

# Every file of the corpus and the verdict worked out for it by hand.
EXPECTED = {
    "zero_bytes.pdf": ("quarantined", "empty"),
    "random_bytes.pdf": ("quarantined", "unsupported_format"),
    "encrypted.pdf": ("quarantined", "encrypted"),
    "png_named.pdf": ("processed", None),
    "bomb.png": ("quarantined", "decompression_bomb"),
    "fax_g4.tif": ("processed", None),
    "fax_g3.tif": ("processed", None),
    "rotated.pdf": ("processed", None),
    "mixed.pdf": ("processed", None),
    "invalid_utf8.txt": ("processed", None),
    "empty_note.txt": ("quarantined", "empty"),
    "one_line.txt": ("quarantined", "too_large"),
    "chart_200_pages.pdf": ("processed", None),
    "note.txt": ("processed", None),
    "note_again.txt": ("duplicate", None),
    "spanish_note.txt": ("processed", None),
    "malformed.835": ("quarantined", "ISA segment has fewer than 16 elements"),
}


def _text_image(lines: list[str], *, dpi: int = 200) -> Image.Image:
    """A half letter page of black text on white, as a scanner at `dpi` sees it."""
    font = ImageFont.truetype(FONT, size=dpi // 6)
    page = Image.new("L", (int(8.5 * dpi), int(4 * dpi)), 255)
    draw = ImageDraw.Draw(page)
    for number, line in enumerate(lines):
        draw.text((dpi // 2, dpi // 2 + number * dpi // 4), line, font=font, fill=0)
    return page


def _png_bytes(image: Image.Image, *, dpi: int = 200) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", dpi=(dpi, dpi))
    return buffer.getvalue()


def _digital_pdf(pages: list[str]) -> FPDF:
    pdf = FPDF(format="letter")
    pdf.set_font("helvetica", size=11)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 6, text)
    return pdf


def _write_encrypted(path: Path) -> None:
    plain = io.BytesIO(bytes(_digital_pdf([ENGLISH_NOTE]).output()))
    with pikepdf.open(plain) as pdf:
        pdf.save(path, encryption=pikepdf.Encryption(user="unknown", owner="owner"))


def _write_bomb(path: Path, side: int = 20000) -> None:
    # A valid one-bit PNG of side x side white pixels: a few kilobytes that would
    # take side**2 bytes once decoded.
    row = b"\x00" + b"\xff" * ((side + 7) // 8)
    packer = zlib.compressobj(9)
    data = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", data)
        + chunk(b"IEND", b"")
    )


def _write_fax(path: Path, compression: str, *, with_blank: bool) -> None:
    # Fax resolution is 204 x 196 dpi, one bit per pixel.
    text = _text_image(SCAN_LINES, dpi=200).convert("1")
    frames = [text]
    if with_blank:
        frames.append(Image.new("1", text.size, 1))
    frames[0].save(
        path,
        compression=compression,
        dpi=(204, 196),
        save_all=True,
        append_images=frames[1:],
    )


def _write_rotated(path: Path) -> None:
    page = _text_image(SCAN_LINES)
    images = [_png_bytes(page.rotate(90, expand=True)), _png_bytes(page.rotate(180))]
    path.write_bytes(img2pdf.convert(images))


def _write_mixed(path: Path) -> None:
    pdf = _digital_pdf([ENGLISH_NOTE])
    pdf.add_page()
    pdf.image(io.BytesIO(_png_bytes(_text_image(SCAN_LINES))), x=0, y=0, w=pdf.w)
    pdf.output(str(path))


def _chart_page(number: int) -> str:
    return (
        f"PROGRESS NOTE, page {number} of the inpatient chart.\n"
        "The patient rested overnight and reports no new complaints. Vital signs "
        "were stable through the shift. The plan of care is unchanged and the "
        "team will review the medications again in the morning.\n"
    )


def write_corpus(inbox: Path, remits: Path) -> None:
    """Write every file of EXPECTED into the inbox and the remits folder."""
    rng = random.Random(7)
    digital = bytes(_digital_pdf([ENGLISH_NOTE]).output())

    (inbox / "zero_bytes.pdf").write_bytes(b"")
    (inbox / "truncated.pdf").write_bytes(digital[: len(digital) * 2 // 3])
    (inbox / "random_bytes.pdf").write_bytes(b"\x00" + rng.randbytes(4096))
    _write_encrypted(inbox / "encrypted.pdf")
    (inbox / "png_named.pdf").write_bytes(_png_bytes(_text_image(SCAN_LINES)))
    _write_bomb(inbox / "bomb.png")
    _write_fax(inbox / "fax_g4.tif", "group4", with_blank=True)
    _write_fax(inbox / "fax_g3.tif", "group3", with_blank=False)
    _write_rotated(inbox / "rotated.pdf")
    _write_mixed(inbox / "mixed.pdf")

    latin1 = ENGLISH_NOTE.replace("cecum", "c\xe6cum").encode("latin-1")
    (inbox / "invalid_utf8.txt").write_bytes(latin1 + b"\xff\xfe broken tail\n")
    (inbox / "empty_note.txt").write_text("  \n\n\t\n")
    (inbox / "one_line.txt").write_text("lorem ipsum dolor " * 300_000)
    _digital_pdf([_chart_page(n) for n in range(1, 201)]).output(
        str(inbox / "chart_200_pages.pdf")
    )
    (inbox / "note.txt").write_text(ENGLISH_NOTE)
    shutil.copyfile(inbox / "note.txt", inbox / "note_again.txt")
    (inbox / "spanish_note.txt").write_text(SPANISH_NOTE)

    (remits / "malformed.835").write_bytes(b"ISA*00*garbage~GS*HP~ST*835*0001~")
    _write_manifest(inbox)


def _write_manifest(inbox: Path) -> None:
    # Encounter metadata for every file, as a practice management system sends it.
    header = (
        "file,patient_id,patient_name,patient_birth_date,patient_sex,"
        "date_of_service,rendering_npi,billing_npi,payer_id,place_of_service"
    )
    rows = [
        f"{path.name},PT{number:07d},Test Patient {number},1960-01-01,F,"
        "2026-10-30,1158813992,2317784868,60054,24"
        for number, path in enumerate(sorted(inbox.iterdir()), start=1)
    ]
    (inbox / "manifest.csv").write_text("\n".join([header, *rows]) + "\n")


@pytest.fixture(scope="module")
def bad_batch(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Run `cptflow run` once over the whole corpus, then list the documents."""
    root = tmp_path_factory.mktemp("bad-inputs")
    inbox, remits, db = root / "inbox", root / "remits", root / "bad.duckdb"
    inbox.mkdir()
    remits.mkdir()
    write_corpus(inbox, remits)

    args = ["--inbox", str(inbox), "--remits", str(remits), "--db", str(db)]
    result = runner.invoke(app, ["run", *args, "--partition", PARTITION])
    listing = runner.invoke(app, ["documents", "--db", str(db), "--format", "jsonl"])
    return {
        "result": result,
        "listing": listing,
        "inbox": inbox,
        "db": db,
        "documents": [json.loads(line) for line in listing.stdout.splitlines()],
    }


def test_run_finishes_a_batch_of_bad_inputs(bad_batch: dict) -> None:
    result = bad_batch["result"]
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    assert "Traceback" not in bad_batch["listing"].output


def test_run_accounts_for_every_input_file(bad_batch: dict) -> None:
    verdicts = {d["file"]: d for d in bad_batch["documents"]}
    inbox_files = {p.name for p in bad_batch["inbox"].iterdir()} - {"manifest.csv"}
    inputs = inbox_files | {"malformed.835"}

    assert set(verdicts) == inputs
    assert len(bad_batch["documents"]) == len(inputs)
    assert verdicts["truncated.pdf"]["status"] in {"processed", "quarantined"}
    got = {
        name: (verdicts[name]["status"], verdicts[name]["reason"]) for name in EXPECTED
    }
    assert got == EXPECTED


@pytest.mark.parametrize(
    ("file_name", "min_pages", "method"),
    [
        pytest.param("png_named.pdf", 1, "ocr", id="image-named-pdf"),
        pytest.param("fax_g4.tif", 2, "ocr", id="fax-with-blank-page"),
        pytest.param("rotated.pdf", 2, "ocr", id="rotated-pages"),
        pytest.param("chart_200_pages.pdf", 200, "text_layer", id="long-chart"),
        pytest.param("invalid_utf8.txt", 1, "plain_text", id="invalid-utf8"),
    ],
)
def test_run_reads_odd_documents(
    bad_batch: dict, file_name: str, min_pages: int, method: str
) -> None:
    with duckdb.connect(str(bad_batch["db"]), read_only=True) as conn:
        methods = conn.execute(
            "select p.method, count(*) from ocr.page_texts p "
            "join intake.documents d using (document_id) "
            "where d.file_name = ? group by 1",
            [file_name],
        ).fetchall()
    assert dict(methods).get(method, 0) >= min_pages


def test_run_reads_turned_pages_upright(bad_batch: dict) -> None:
    with duckdb.connect(str(bad_batch["db"]), read_only=True) as conn:
        pages = conn.execute(
            "select p.page_number, p.rotation, p.text from ocr.page_texts p "
            "join intake.documents d using (document_id) "
            "where d.file_name = 'rotated.pdf' order by 1"
        ).fetchall()
    assert [rotation % 360 != 0 for _, rotation, _ in pages] == [True, True]
    assert all("endoscopy" in text.lower() for _, _, text in pages)


def test_run_reads_a_mixed_pdf_by_layer_and_by_ocr(bad_batch: dict) -> None:
    with duckdb.connect(str(bad_batch["db"]), read_only=True) as conn:
        methods = conn.execute(
            "select p.page_number, p.method from ocr.page_texts p "
            "join intake.documents d using (document_id) "
            "where d.file_name = 'mixed.pdf' order by 1"
        ).fetchall()
    assert methods == [(1, "text_layer"), (2, "ocr")]


def test_run_flags_a_non_english_note_for_review(bad_batch: dict) -> None:
    with duckdb.connect(str(bad_batch["db"]), read_only=True) as conn:
        flags = conn.execute(
            "select d.file_name, e.needs_review, list_contains("
            "list_transform(e.review_reasons, r -> split_part(r, ':', 1)), "
            "'not_english') "
            "from coding.encounters e join intake.documents d using (document_id) "
            "where d.file_name in ('spanish_note.txt', 'note.txt') order by 1"
        ).fetchall()
    assert [(name, is_flagged) for name, _, is_flagged in flags] == [
        ("note.txt", False),
        ("spanish_note.txt", True),
    ]
    assert flags[1][1] is True
