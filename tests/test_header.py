"""Header metadata read from labelled lines."""

from __future__ import annotations

import datetime as dt

import pytest

from cptflow.transforms.header import HeaderMetadata, read_header


def test_read_header_all_fields() -> None:
    text = (
        "Patient ID: P-0042\nDate of Service: 03/14/2025\nNPI: 1234567893\n"
        "Payer: Acme Health Plan\nPlace of Service: 11\n\nHPI: knee pain.\n"
    )

    assert read_header(text) == HeaderMetadata(
        patient_id="P-0042",
        date_of_service=dt.date(2025, 3, 14),
        rendering_npi="1234567893",
        payer="Acme Health Plan",
        place_of_service="11",
    )


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("DOS: 2025-01-31", dt.date(2025, 1, 31)),
        ("Date of Service: January 5, 2024", dt.date(2024, 1, 5)),
        ("DOS: sometime last week", None),
    ],
    ids=["iso", "long_form", "unreadable"],
)
def test_read_header_date_of_service(line: str, expected: dt.date | None) -> None:
    assert read_header(line).date_of_service == expected


def test_read_header_mrn_label() -> None:
    assert read_header("MRN: 778812\n").patient_id == "778812"


def test_read_header_without_labels_is_empty() -> None:
    assert read_header("The patient presents with a cough.") == HeaderMetadata()


def test_read_header_ignores_labels_inside_prose() -> None:
    text = "We spoke with the payer: it agreed.\n"

    assert read_header(text).payer is None
