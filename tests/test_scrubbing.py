"""Claim scrubbing against the full shared CMS tables and the bundled extract."""

from datetime import date

import duckdb
import polars as pl
import pytest
from shared_inputs import shared_path

from cptflow.transforms.reference.load import load_bundled, load_reference
from cptflow.transforms.scrubbing.claim_input import claim_frames
from cptflow.transforms.scrubbing.engine import has_reject, is_valid_npi, scrub

DOS = "2024-08-15"
VALID_NPI = "1234567893"


@pytest.fixture(scope="module")
def full_reference():
    """The shared 2024Q3 tables (2.5M PTP rows), loaded once for the module."""
    source = shared_path("data", "reference")
    conn = duckdb.connect()
    load_reference(conn, source, version="2024q3")
    yield conn
    conn.close()


def _claim(lines, *, diagnoses=("K63.5",), dos=DOS, **overrides):
    raw = {
        "claim_id": "CF000000000001",
        "date_of_service": dos,
        "place_of_service": "22",
        "rendering_npi": VALID_NPI,
        "billing_npi": VALID_NPI,
        "payer_id": "60054",
        "patient": {"id": "P1", "sex": "F", "birth_date": "1960-02-03"},
        "subscriber": {"name": "DOE, JANE", "id": "M1"},
        "billing_provider": {"name": "PRACTICE", "id": VALID_NPI},
        "diagnoses": list(diagnoses),
        "lines": [
            {
                "cpt": cpt,
                "modifiers": list(mods),
                "units": units,
                "diagnosis_pointers": [1],
                "charge_amount": 100.0,
                **extra,
            }
            for cpt, mods, units, extra in lines
        ],
    }
    raw.update(overrides)
    return claim_frames(raw)


def _edits(conn, *args, **kwargs):
    edits = scrub(conn, *_claim(*args, **kwargs))
    # The bundled NCCI quarter is 2024Q3: later dates get a reference_version warning
    # that the tests on other rules leave aside.
    return [
        (e["rule_id"], e["severity"], e["line_numbers"], e["codes"])
        for e in edits.iter_rows(named=True)
        if e["rule_id"] != "reference_version"
    ]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        # 45385/45378: indicator 0 ("CPT separate procedure"); 59 cannot bypass it.
        ([("45385", [], 1, {}), ("45378", ["59"], 1, {})],
         [("ncci_ptp", "reject", [2], ["45385", "45378"])]),
        # 45385/45380: indicator 1 ("more extensive procedure").
        ([("45385", [], 1, {}), ("45380", [], 1, {})],
         [("ncci_ptp", "reject", [2], ["45385", "45380"])]),
        ([("45385", [], 1, {}), ("45380", ["XS"], 1, {})], []),
        # A distinct site documented for each line lets the scrubber add XS itself.
        ([("45385", [], 1, {"sites": ["sigmoid"]}),
          ("45380", [], 1, {"sites": ["cecum"]})],
         [("ncci_ptp", "warn", [2], ["45385", "45380"])]),
        # 45385 has a practitioner MUE of 1 with adjudication indicator 2.
        ([("45385", [], 2, {})], [("mue", "reject", [1], ["45385"])]),
        # 99292 is a type 1 add-on of critical care 99291 only.
        ([("99292", [], 1, {})], [("add_on", "reject", [1], ["99292"])]),
        ([("99291", [], 1, {}), ("99292", [], 1, {})], []),
        # C1300 (hyperbaric oxygen) left HCPCS on 2014-12-31.
        ([("C1300", [], 1, {})], [("invalid_code", "reject", [1], ["C1300"])]),
        # 99201 was retired at the end of 2020 (the project's E/M table says so).
        ([("99201", [], 1, {})], [("invalid_code", "reject", [1], ["99201"])]),
    ],
    ids=[
        "ptp-indicator-0-with-59", "ptp-indicator-1-bare", "ptp-indicator-1-with-xs",
        "ptp-distinct-site-auto-xs", "mue-exceeded", "add-on-alone",
        "add-on-with-primary", "hcpcs-deleted-2014", "cpt-retired-2020",
    ],
)  # fmt: skip
def test_scrub_applies_cms_edits_from_the_full_tables(full_reference, lines, expected):
    assert _edits(full_reference, lines) == expected


@pytest.mark.slow
def test_scrub_ignores_ptp_edit_after_its_deletion_date(full_reference):
    # 44970/44950 was deleted on 2013-09-30; laparoscopic then open appendectomy.
    lines = [("44970", [], 1, {}), ("44950", [], 1, {})]
    before = _edits(full_reference, lines, dos="2013-06-01")
    after = _edits(full_reference, lines, dos=DOS)

    assert ("ncci_ptp", "reject", [2], ["44970", "44950"]) in before
    assert ("ncci_ptp", "reject", [2], ["44970", "44950"]) not in after


@pytest.mark.parametrize(
    ("diagnoses", "expected"),
    [
        (["K63"], [("invalid_diagnosis", "reject", [1], ["K63"])]),
        (["K57.3"], [("invalid_diagnosis", "reject", [1], ["K57.3"])]),
        (["Q99.99"], [("invalid_diagnosis", "reject", [1], ["Q99.99"])]),
        (["K63.5"], []),
    ],
    ids=["category-header", "subcategory-header", "not-a-code", "billable"],
)
def test_scrub_rejects_non_billable_diagnoses(diagnoses, expected):
    conn = duckdb.connect()
    load_bundled(conn)
    found = _edits(conn, [("45378", [], 1, {})], diagnoses=diagnoses, dos="2026-05-01")
    assert found == expected


@pytest.mark.parametrize(
    ("npi", "expected"),
    [("1234567893", True), ("1234567890", False), ("123456789", False),
     ("12345678AB", False)],
    ids=["valid", "bad-check-digit", "nine-digits", "letters"],
)  # fmt: skip
def test_is_valid_npi_checks_luhn_with_80840(npi, expected):
    assert is_valid_npi(npi) is expected


def test_scrub_flags_bad_npi_missing_fields_and_modifiers():
    conn = duckdb.connect()
    load_bundled(conn)
    lines = [("45378", ["LT", "RT"], 1, {}), ("45380", ["25"], 1, {})]

    found = _edits(
        conn, lines, dos="2026-05-01", billing_npi="1234567890", subscriber=None,
        payer_id=None,
    )  # fmt: skip

    assert found == [
        ("missing_field", "reject", [], ["payer_id"]),
        ("missing_field", "warn", [], ["subscriber"]),
        ("npi", "reject", [], ["1234567890"]),
        ("ncci_ptp", "reject", [1], ["45380", "45378"]),
        ("modifier", "warn", [1], ["45378", "LT", "RT"]),
        ("modifier", "warn", [2], ["45380", "25"]),
    ]


def test_scrub_warns_when_no_version_covers_the_date():
    conn = duckdb.connect()
    load_bundled(conn)
    edits = scrub(conn, *_claim([("45378", [], 1, {})], dos="2019-03-01"))

    versions = edits.filter(pl.col("rule_id") == "reference_version")
    assert versions["severity"].to_list() == ["warn"]
    assert "ncci_ptp (used demo, 2024-07-01 to 2024-09-30)" in versions["message"][0]
    assert not has_reject(edits)


def test_scrub_returns_no_edits_for_a_clean_claim_in_force():
    conn = duckdb.connect()
    load_bundled(conn)
    load_reference(
        conn,
        shared_icd_or_bundled(),
        version="icd-2024",
        effective_from=date(2023, 10, 1),
        effective_to=date(2024, 9, 30),
    )
    assert _edits(conn, [("45385", [], 1, {})]) == []


def shared_icd_or_bundled():
    from cptflow.transforms.reference.load import BUNDLED_DIR

    return BUNDLED_DIR.parent / "icd10cm_2026_april_codes.csv.gz"
