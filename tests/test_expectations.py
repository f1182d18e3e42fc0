"""Great Expectations suites: they load, pass clean frames and name failing keys."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from cptflow.expectations.runner import SUITES_DIR, load_suite, validate_frame

ASSET_KEYS = [tuple(p.stem.split(".")) for p in sorted(SUITES_DIR.glob("*.yml"))]


def test_every_stage_has_a_suite() -> None:
    assert set(ASSET_KEYS) == {
        ("intake", "documents"),
        ("ocr", "page_texts"),
        ("nlp", "procedure_mentions"),
        ("coding", "encounter_codes"),
        ("claims", "claim_lines"),
        ("claims", "claim_edits"),
        ("remits", "remittance_lines"),
    }


@pytest.mark.parametrize("key", ASSET_KEYS, ids=[".".join(k) for k in ASSET_KEYS])
def test_suite_checks_are_named_as_claims(key: tuple[str, str]) -> None:
    suite = load_suite(key)
    assert suite.checks
    assert all(name.startswith("expect_") for name in suite.checks)
    assert set(suite.checks.values()) <= {"error", "warn"}


def _pages(**overrides: list) -> pl.DataFrame:
    columns = {
        "document_id": ["a" * 64, "a" * 64, "b" * 64],
        "partition_date": [date(2026, 11, 2)] * 3,
        "page_number": [1, 2, 1],
        "method": ["ocr", "ocr", "text_layer"],
        "text": ["one", "two", "three"],
        "char_count": [3, 3, 5],
        "mean_confidence": [91.0, 88.5, None],
    }
    columns.update(overrides)
    return pl.DataFrame(columns)


def test_page_suite_passes_a_clean_partition() -> None:
    outcomes = validate_frame(_pages(), load_suite(("ocr", "page_texts")))
    assert all(o.passed for o in outcomes)


def test_page_suite_fails_duplicate_pages_and_names_their_keys() -> None:
    frame = _pages(page_number=[1, 1, 1])
    outcomes = {
        o.check: o for o in validate_frame(frame, load_suite(("ocr", "page_texts")))
    }
    duplicate = outcomes["expect_pages_to_be_unique"]
    assert not duplicate.passed
    assert duplicate.severity == "error"
    assert duplicate.failing_keys == ["a" * 64 + "/1"]


def test_page_suite_blocks_when_most_pages_are_blank() -> None:
    frame = _pages(char_count=[0, 0, 5], text=["", "", "three"])
    outcomes = {
        o.check: o for o in validate_frame(frame, load_suite(("ocr", "page_texts")))
    }
    assert not outcomes["expect_page_text_to_be_present"].passed


def test_low_ocr_confidence_only_warns() -> None:
    frame = _pages(mean_confidence=[40.0, 35.0, None])
    outcomes = {
        o.check: o for o in validate_frame(frame, load_suite(("ocr", "page_texts")))
    }
    low = outcomes["expect_ocr_confidence_to_be_usable"]
    assert not low.passed
    assert low.severity == "warn"


def test_failing_keys_never_carry_column_values() -> None:
    frame = _pages(
        method=["ocr", "handwriting", "text_layer"], text=["x", "SECRET", "y"]
    )
    outcomes = validate_frame(frame, load_suite(("ocr", "page_texts")))
    reported = " ".join(" ".join(o.failing_keys) for o in outcomes)
    assert "SECRET" not in reported
    assert "handwriting" not in reported
    assert "a" * 64 + "/2" in reported
