"""Tests of the demo inbox generator: formats, manifest, answer key, determinism."""

from __future__ import annotations

import csv
import json
import random
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path
from typing import Any

import pypdfium2
import pytest
from PIL import Image
from stdnum import luhn

from cptflow.transforms.demo import DemoInbox, write_demo_inbox
from cptflow.transforms.demo.cast import is_valid_npi, make_cast, make_npi
from cptflow.transforms.demo.inbox import MANIFEST_COLUMNS
from cptflow.transforms.demo.notes import NoteContext, load_kinds, render_note

RECEIVED = date(2026, 12, 3)
SEED = 2026


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoInbox:
    root = tmp_path_factory.mktemp("demo")
    return write_demo_inbox(
        root / "inbox", answers_path=root / "answers.json", received_date=RECEIVED
    )


@pytest.fixture(scope="module")
def answers(demo: DemoInbox) -> dict[str, dict[str, Any]]:
    key = json.loads(demo.answers_path.read_text(encoding="utf-8"))
    return {document["file"]: document for document in key["documents"]}


@pytest.fixture(scope="module")
def manifest(demo: DemoInbox) -> list[dict[str, str]]:
    with demo.manifest_path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _files_rendered_as(answers: dict[str, dict[str, Any]], render: str) -> list[str]:
    return [name for name, document in answers.items() if document["render"] == render]


def _pdf_text(path: Path) -> list[str]:
    document = pypdfium2.PdfDocument(path)
    try:
        return [page.get_textpage().get_text_range() for page in document]
    finally:
        document.close()


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def _us_date(iso: str) -> str:
    return date.fromisoformat(iso).strftime("%m/%d/%Y")


def test_write_demo_inbox_writes_planned_mix(demo: DemoInbox) -> None:
    expected = {
        "scanned_pdf": 8,
        "digital_pdf": 5,
        "text": 6,
        "tiff": 1,
        "duplicate": 1,
        "corrupt": 1,
    }

    on_disk = sorted(path.name for path in demo.inbox.iterdir())

    assert demo.format_counts == expected
    assert len(demo.paths) == 22
    assert on_disk == sorted([path.name for path in demo.paths] + ["manifest.csv"])
    assert demo.manifest_path == demo.inbox / "manifest.csv"


@pytest.mark.parametrize(
    ("suffix", "magics"),
    [
        pytest.param(".pdf", (b"%PDF",), id="pdf"),
        pytest.param(".tif", (b"II*\x00", b"MM\x00*"), id="tiff"),
    ],
)
def test_write_demo_inbox_files_start_with_magic_bytes(
    demo: DemoInbox, suffix: str, magics: tuple[bytes, ...]
) -> None:
    paths = [path for path in demo.paths if path.suffix == suffix]

    heads = {path.name: path.read_bytes()[:4] for path in paths}

    assert paths
    assert all(head.startswith(magics) for head in heads.values()), heads


def test_write_demo_inbox_text_notes_are_utf8_with_header(
    demo: DemoInbox, answers: dict[str, dict[str, Any]]
) -> None:
    for name in _files_rendered_as(answers, "text"):
        text = (demo.inbox / name).read_text(encoding="utf-8")
        patient_id = answers[name]["patient_id"]

        assert f"Patient ID: {patient_id}\n" in text, name
        assert not text.startswith(("%PDF", "\x89PNG")), name


def test_write_demo_inbox_scanned_pdfs_have_no_text_layer(
    demo: DemoInbox, answers: dict[str, dict[str, Any]]
) -> None:
    scanned = _files_rendered_as(answers, "scanned_pdf")

    texts = {name: _pdf_text(demo.inbox / name) for name in scanned}

    assert len(scanned) == 8
    assert all(page.strip() == "" for pages in texts.values() for page in pages)


def test_write_demo_inbox_long_scanned_note_spans_two_pages(demo: DemoInbox) -> None:
    document = pypdfium2.PdfDocument(demo.inbox / "scan_0007.pdf")

    sizes = [document[index].get_size() for index in range(len(document))]
    document.close()

    assert sizes == [(612.0, 792.0), (612.0, 792.0)]


def test_write_demo_inbox_digital_pdfs_carry_header_lines(
    demo: DemoInbox, answers: dict[str, dict[str, Any]]
) -> None:
    for name in _files_rendered_as(answers, "digital_pdf"):
        document = answers[name]
        text = _squash(" ".join(_pdf_text(demo.inbox / name)))
        expected_lines = [
            f"Patient: {document['patient_name']}",
            f"Patient ID: {document['patient_id']}",
            f"DOB: {_us_date(document['patient_birth_date'])}",
            f"Date of Service: {_us_date(document['date_of_service'])}",
            f"NPI: {document['rendering_npi']}",
            f"({document['payer_id']})",
            f"Place of Service: {document['place_of_service']}",
        ]

        assert [line for line in expected_lines if line not in text] == [], name


def test_write_demo_inbox_tiff_is_bilevel_300_dpi(demo: DemoInbox) -> None:
    with Image.open(demo.inbox / "fax_0020.tif") as image:
        mode, dpi, compression = (
            image.mode,
            image.info["dpi"],
            image.info["compression"],
        )

    assert (mode, tuple(round(value) for value in dpi)) == ("1", (300, 300))
    assert compression == "group4"


def test_write_demo_inbox_duplicate_has_same_bytes(demo: DemoInbox) -> None:
    original = (demo.inbox / "scan_0002.pdf").read_bytes()

    copy = (demo.inbox / "scan_0002_resent.pdf").read_bytes()

    assert copy == original


def test_write_demo_inbox_corrupt_file_is_unreadable(demo: DemoInbox) -> None:
    with pytest.raises(pypdfium2.PdfiumError):
        pypdfium2.PdfDocument(demo.inbox / "scan_corrupt.pdf")


def test_write_demo_inbox_manifest_leaves_three_files_out(
    demo: DemoInbox, manifest: list[dict[str, str]]
) -> None:
    with demo.manifest_path.open(encoding="utf-8", newline="") as handle:
        header = next(csv.reader(handle))
    listed = {row["file"] for row in manifest}

    left_out = {path.name for path in demo.paths} - listed

    assert tuple(header) == MANIFEST_COLUMNS
    assert left_out == {"scan_0007.pdf", "visit_0012.pdf", "note_0018.txt"}
    assert len(manifest) == 19


def test_write_demo_inbox_dates_of_service_precede_received_date(
    manifest: list[dict[str, str]],
) -> None:
    gaps = {
        (RECEIVED - date.fromisoformat(row["date_of_service"])).days for row in manifest
    }

    assert gaps <= {1, 2, 3, 4, 5}
    assert {row["received_date"] for row in manifest} == {"2026-12-03"}
    assert {row["place_of_service"] for row in manifest} == {"11", "22", "24"}


def test_write_demo_inbox_uses_three_payers_and_four_providers(
    manifest: list[dict[str, str]],
) -> None:
    payers = {row["payer_id"] for row in manifest}
    providers = {row["rendering_npi"] for row in manifest}

    assert payers == {"60054", "87726", "SX141"}
    assert len(providers) == 4
    assert len({row["billing_npi"] for row in manifest}) == 1


def test_write_demo_inbox_npis_pass_luhn_check(
    manifest: list[dict[str, str]],
) -> None:
    npis = {row["rendering_npi"] for row in manifest}
    npis |= {row["billing_npi"] for row in manifest}

    assert all(luhn.is_valid("80840" + npi) and len(npi) == 10 for npi in npis)


@pytest.mark.parametrize(
    ("npi", "is_valid"),
    [
        # CMS's own worked example of the check digit.
        pytest.param("1234567893", True, id="cms-example"),
        pytest.param("1234567890", False, id="wrong-check-digit"),
        pytest.param("123456789", False, id="nine-digits"),
        pytest.param("12345678A3", False, id="letter"),
    ],
)
def test_is_valid_npi_checks_luhn_with_prefix(npi: str, is_valid: bool) -> None:
    assert is_valid_npi(npi) is is_valid


def test_make_npi_gives_valid_individual_and_group_npis() -> None:
    rng = random.Random(7)

    people = [make_npi(rng, is_organization=False) for _ in range(50)]
    groups = [make_npi(rng, is_organization=True) for _ in range(50)]

    assert all(is_valid_npi(npi) and npi[0] == "1" for npi in people)
    assert all(is_valid_npi(npi) and npi[0] == "2" for npi in groups)


@pytest.mark.parametrize(
    ("file", "expected"),
    [
        pytest.param("scan_0001.pdf", [("45378", ["33"])], id="screening-normal"),
        pytest.param("scan_0002.pdf", [("45385", [])], id="cold-snare"),
        pytest.param(
            "scan_0003.pdf", [("45385", []), ("45380", ["59"])], id="snare-and-biopsy"
        ),
        pytest.param("scan_0004.pdf", [("43239", [])], id="egd-biopsy"),
        pytest.param("report_0011.pdf", [("43235", [])], id="egd-diagnostic"),
        pytest.param("scan_0005.pdf", [("44970", [])], id="lap-appendectomy"),
        pytest.param("scan_0006.pdf", [("47562", [])], id="lap-chole"),
        pytest.param("scan_0007.pdf", [("47563", [])], id="lap-chole-ioc"),
        pytest.param("scan_0008.pdf", [("71046", [])], id="chest-two-views"),
        pytest.param("report_0009.pdf", [("74177", [])], id="ct-abd-pelvis"),
        pytest.param("report_0010.pdf", [("76700", [])], id="us-abdomen"),
        pytest.param("visit_0012.pdf", [("99204", [])], id="new-moderate"),
        pytest.param("note_0014.txt", [("99213", [])], id="established-low"),
        pytest.param("note_0016.txt", [("99214", [])], id="established-rx"),
        pytest.param("note_0015.txt", [("99214", [])], id="established-32-min"),
        pytest.param("scan_corrupt.pdf", [], id="corrupt"),
    ],
)
def test_write_demo_inbox_answer_key_has_expected_codes(
    answers: dict[str, dict[str, Any]], file: str, expected: list[tuple[str, list]]
) -> None:
    codes = answers[file]["expected_codes"]

    assert [(code["cpt_code"], code["modifiers"]) for code in codes] == expected


def test_write_demo_inbox_answer_key_statuses(
    answers: dict[str, dict[str, Any]],
) -> None:
    statuses = {name: document["expected_status"] for name, document in answers.items()}

    assert statuses.pop("scan_0002_resent.pdf") == "duplicate"
    assert statuses.pop("scan_corrupt.pdf") == "quarantined"
    assert set(statuses.values()) == {"processed"}
    assert answers["scan_0002_resent.pdf"]["duplicate_of"] == "scan_0002.pdf"


def test_write_demo_inbox_keeps_answer_key_out_of_inbox(
    demo: DemoInbox, answers: dict[str, dict[str, Any]]
) -> None:
    codes = {
        code["cpt_code"]
        for document in answers.values()
        for code in document["expected_codes"]
    }
    readable = [demo.manifest_path] + [p for p in demo.paths if p.suffix == ".txt"]

    leaked = [
        (path.name, code)
        for path in readable
        for code in codes
        if re.search(rf"\b{code}\b", path.read_text(encoding="utf-8"))
    ]

    assert not demo.answers_path.is_relative_to(demo.inbox)
    assert not list(demo.inbox.glob("*.json"))
    assert leaked == []


def test_write_demo_inbox_refuses_answer_key_inside_inbox(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"

    with pytest.raises(ValueError, match="outside"):
        write_demo_inbox(
            inbox, answers_path=inbox / "answers.json", received_date=RECEIVED
        )

    assert not inbox.exists()


def test_write_demo_inbox_same_seed_gives_same_bytes(
    demo: DemoInbox, tmp_path: Path
) -> None:
    again = write_demo_inbox(
        tmp_path / "inbox", answers_path=tmp_path / "key.json", received_date=RECEIVED
    )

    changed = [
        path.name
        for path in (*demo.paths, demo.manifest_path)
        if path.read_bytes() != (again.inbox / path.name).read_bytes()
    ]

    assert changed == []
    assert again.answers_path.read_bytes() == demo.answers_path.read_bytes()


def test_make_cast_other_seed_gives_other_people() -> None:
    first = make_cast(3, seed=SEED, today=RECEIVED)
    second = make_cast(3, seed=SEED + 1, today=RECEIVED)

    assert first == make_cast(3, seed=SEED, today=RECEIVED)
    assert first.patients[1].name != second.patients[1].name


@pytest.mark.parametrize(
    ("birth_date", "expected_age"),
    [
        pytest.param(date(1960, 12, 3), 66, id="birthday-today"),
        pytest.param(date(1960, 12, 4), 65, id="birthday-tomorrow"),
        pytest.param(date(1961, 2, 28), 65, id="earlier-in-year"),
    ],
)
def test_patient_age_on_counts_whole_years(birth_date: date, expected_age: int) -> None:
    patient = make_cast(1, seed=SEED, today=RECEIVED).patients[1]

    aged = type(patient)(**{**patient.__dict__, "birth_date": birth_date})

    assert aged.age_on(RECEIVED) == expected_age


def test_render_note_every_kind_has_headers_and_decoys() -> None:
    cast = make_cast(1, seed=SEED, today=RECEIVED)
    patient = cast.patients[1]
    facts = {"polyp_site": "sigmoid colon", "polyp_mm": 8}

    for kind in load_kinds().values():
        context = NoteContext.for_visit(kind, patient, cast, date(2026, 11, 30), facts)
        text = render_note(kind, context)
        sections = re.findall(r"^([A-Z][A-Z ,]+):", text, flags=re.MULTILINE)

        assert "Date of Service: 11/30/2026\n" in text, kind.key
        assert f"Place of Service: {kind.place_of_service}\n" in text, kind.key
        assert len(sections) >= 4, kind.key
        for decoy in kind.decoys:
            assert decoy.text.lower() in text.lower(), (kind.key, decoy.text)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("tesseract") is None, reason="tesseract not installed")
def test_write_demo_inbox_scanned_page_reads_back_with_tesseract(
    demo: DemoInbox, answers: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    document = pypdfium2.PdfDocument(demo.inbox / "scan_0001.pdf")
    image = document[0].render(scale=300 / 72).to_pil()
    document.close()
    image.save(tmp_path / "page.png")

    result = subprocess.run(
        ["tesseract", str(tmp_path / "page.png"), "-"],
        capture_output=True,
        check=True,
        text=True,
    )
    text = _squash(result.stdout)

    assert f"Patient ID: {answers['scan_0001.pdf']['patient_id']}" in text
    assert "PROCEDURE PERFORMED: Screening colonoscopy" in text
