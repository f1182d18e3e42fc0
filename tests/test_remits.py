"""Tests of the denial taxonomy, remittance frames and remit JSON objects."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from cptflow.transforms.remits import (
    ADJUSTMENTS_SCHEMA,
    CARC_CATEGORIES_PATH,
    DENIAL_CATEGORIES_PATH,
    LINES_SCHEMA,
    classify_adjustment,
    load_code_descriptions,
    remit_json_objects,
    remittance_frames,
)
from cptflow.transforms.x12.remit835 import balance_findings, parse_835
from cptflow.transforms.x12.tokenizer import tokenize

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
X12_DIR = SHARED / "data" / "x12"
REFERENCE_DIR = SHARED / "data" / "reference"
PARTITION = date(2026, 12, 3)

needs_shared = pytest.mark.skipif(
    not X12_DIR.is_dir(), reason="shared X12 samples not found at ../shared/data/x12"
)

# Claim CF1: 99213 paid with CO-45 and a copay; 93010 denied as bundled into 93000
# (CO-97, M15); 36415 partly denied for units (CO-151 on 1 of 3 units). A claim-level
# CO-253 sequestration of 2.00 sits on the claim. Claim CF2 has no service lines.
PARTIAL_835 = (
    "ST*835*0001~"
    "BPR*I*147.4*C*CHK************20261130~"
    "TRN*1*55*1999999999~"
    "N1*PR*DEMO PAYER~"
    "N1*PE*DEMO CLINIC*XX*1234567893~"
    "LX*1~"
    "CLP*CF1*1*300*147.4*25*12*PCN1~"
    "CAS*CO*253*2~"
    "NM1*QC*1*DOE*JANE****MI*M1~"
    "DTM*232*20261102~"
    "SVC*HC:99213:25*150*95**1~"
    "CAS*CO*45*30~"
    "CAS*PR*3*25~"
    "REF*6R*CF1-1~"
    "SVC*HC:93010*60*0**1~"
    "DTM*472*20261103~"
    "CAS*CO*97*60~"
    "REF*6R*CF1-2~"
    "LQ*HE*M15~"
    "SVC*HC:36415*90*54.4**3*HC:36416~"
    "CAS*CO*151*30*1*45*5.6~"
    "REF*6R*CF1-3~"
    "LQ*HE*N362~"
    "CLP*CF2*4*80*0*0*12*PCN2~"
    "CAS*CO*29*80~"
    "NM1*QC*1*ROE*JIM****MI*M2~"
    "MOA***MA01~"
    "SE*28*0001~"
)


@pytest.mark.parametrize(
    ("group", "carc", "category", "is_denial"),
    [
        ("CO", "45", "contractual", False),
        ("CO", "253", "contractual", False),
        ("CO", "59", "contractual", False),
        ("PR", "1", "patient_cost_share", False),
        ("PR", "2", "patient_cost_share", False),
        ("PR", "16", "patient_responsibility", False),
        ("OA", "23", "prior_payer", False),
        ("CO", "97", "bundling", True),
        ("CO", "16", "missing_information", True),
        ("CO", "151", "units_frequency", True),
        ("CO", "4", "modifier", True),
        ("CO", "181", "invalid_code", True),
        ("CO", "50", "medical_necessity", True),
        ("CO", "27", "eligibility", True),
        ("CR", "31", "eligibility", True),
        ("CO", "197", "authorization", True),
        ("CO", "29", "timely_filing", True),
        ("OA", "18", "duplicate", True),
        ("CO", "ZZ9", "other", True),
    ],
    ids=lambda value: str(value),
)
def test_classify_adjustment_taxonomy(group, carc, category, is_denial):
    result = classify_adjustment(group, carc)

    assert (result.category, result.is_denial) == (category, is_denial)


def test_classify_adjustment_coding_avoidable_flags():
    assert classify_adjustment("CO", "97").is_avoidable_by_coding
    assert not classify_adjustment("CO", "29").is_avoidable_by_coding
    assert not classify_adjustment("PR", "97").is_avoidable_by_coding


def test_carc_categories_file_is_well_formed():
    with DENIAL_CATEGORIES_PATH.open(newline="") as handle:
        categories = {row["category"] for row in csv.DictReader(handle)}
    with CARC_CATEGORIES_PATH.open(newline="") as handle:
        rows = list(csv.DictReader(handle))

    assert list(rows[0]) == ["carc_code", "category", "is_avoidable_by_coding", "note"]
    assert {row["category"] for row in rows} <= categories
    assert len({row["carc_code"] for row in rows}) == len(rows)
    assert all(len(row["note"].split()) <= 10 for row in rows)


@needs_shared
def test_carc_categories_cover_every_carc_in_shared_files():
    with CARC_CATEGORIES_PATH.open(newline="") as handle:
        known = {row["carc_code"] for row in csv.DictReader(handle)}
    found = set()
    for path in X12_DIR.glob("835_*"):
        if "malformed" in path.name:
            continue
        remittance = parse_835(path.read_bytes(), file_name=path.name)
        for transaction in remittance.transactions:
            for claim in transaction.claims:
                found.update(a.carc_code for a in claim.adjustments)
                for line in claim.lines:
                    found.update(a.carc_code for a in line.adjustments)

    assert found == found & known
    assert {"1", "2", "3", "16", "18", "23", "31", "45", "97", "A7"} <= found


def test_remit_json_objects_partial_denial_and_claim_adjustment():
    remittance = parse_835(PARTIAL_835.encode(), file_name="partial.835")

    objects = remit_json_objects(remittance)

    claim_adjustments = [{"group": "CO", "carc": "253", "amount": 2.0}]
    assert objects[0] == {
        "claim_id": "CF1",
        "claim_status_code": "1",
        "line_control_number": "CF1-1",
        "cpt": "99213",
        "modifiers": ["25"],
        "units": 1,
        "charge_amount": 150.0,
        "paid_amount": 95.0,
        "adjustments": [
            {"group": "CO", "carc": "45", "amount": 30.0},
            {"group": "PR", "carc": "3", "amount": 25.0},
        ],
        "rarcs": [],
        "is_denied": False,
        "denial_category": None,
        "claim_adjustments": claim_adjustments,
    }
    assert (objects[1]["is_denied"], objects[1]["denial_category"]) == (
        True,
        "bundling",
    )
    assert objects[1]["rarcs"] == ["M15"]
    assert objects[2]["submitted_cpt"] == "36416"
    assert (objects[2]["units"], objects[2]["denial_category"]) == (
        3,
        "units_frequency",
    )
    assert objects[2]["claim_adjustments"] == claim_adjustments
    assert "submitted_cpt" not in objects[0]


def test_remit_json_objects_claim_without_lines():
    remittance = parse_835(PARTIAL_835.encode(), file_name="partial.835")

    last = remit_json_objects(remittance)[-1]

    assert (last["claim_id"], last["cpt"], last["line_control_number"]) == (
        "CF2",
        None,
        None,
    )
    assert (last["charge_amount"], last["paid_amount"]) == (80.0, 0.0)
    assert (last["is_denied"], last["denial_category"]) == (True, "timely_filing")
    assert last["rarcs"] == ["MA01"]


def test_remittance_frames_columns_and_ids():
    data = PARTIAL_835.encode()
    remittance = parse_835(data, file_name="partial.835")

    lines, adjustments = remittance_frames(remittance, partition_date=PARTITION)

    prefix = remittance.file_sha256[:12]
    assert lines.schema == pl.Schema(LINES_SCHEMA)
    assert adjustments.schema == pl.Schema(ADJUSTMENTS_SCHEMA)
    assert lines["remittance_line_id"].to_list() == [
        f"{prefix}:1:1:1",
        f"{prefix}:1:1:2",
        f"{prefix}:1:1:3",
        f"{prefix}:1:2:1",
    ]
    assert lines["cpt_code"].to_list() == ["99213", "93010", "36415", None]
    assert lines["submitted_cpt_code"].to_list() == [None, None, "36416", None]
    assert lines["service_date"].to_list() == [
        date(2026, 11, 2),
        date(2026, 11, 3),
        date(2026, 11, 2),
        None,
    ]
    assert lines["payment_date"].unique().to_list() == [date(2026, 11, 30)]
    assert lines["is_denied"].to_list() == [False, True, True, True]
    assert lines["denial_category"].to_list() == [
        None,
        "bundling",
        "units_frequency",
        "timely_filing",
    ]


def test_remittance_frames_adjustment_rows():
    remittance = parse_835(PARTIAL_835.encode(), file_name="partial.835")

    _, adjustments = remittance_frames(remittance, partition_date=PARTITION)

    rows = adjustments.select(
        "level", "group_code", "carc_code", "amount", "quantity", "is_denial"
    ).rows()
    # The claim-level CO-253 is stored once, on the claim's first line.
    assert rows == [
        ("claim", "CO", "253", 2.0, None, False),
        ("line", "CO", "45", 30.0, None, False),
        ("line", "PR", "3", 25.0, None, False),
        ("line", "CO", "97", 60.0, None, True),
        ("line", "CO", "151", 30.0, 1.0, True),
        ("line", "CO", "45", 5.6, None, False),
        ("claim", "CO", "29", 80.0, None, True),
    ]
    assert adjustments["partition_date"].unique().to_list() == [PARTITION]


@needs_shared
def test_remittance_frames_masked_file_denials():
    path = next(X12_DIR.glob("835_4010_large_deidentified*"))
    remittance = parse_835(path.read_bytes(), file_name=path.name)

    lines, adjustments = remittance_frames(remittance, partition_date=PARTITION)

    counts = dict(
        lines.filter(pl.col("is_denied")).group_by("denial_category").len().rows()
    )
    # The file's 69 CR-31 lines all sit on reversal claims (CLP02 22): taken-back
    # figures, not eligibility denials.
    assert (lines.height, adjustments.height) == (365, 378)
    assert counts == {"duplicate": 46, "bundling": 4}
    assert lines.filter(pl.col("is_reversal")).height == 69


@needs_shared
def test_remittance_frames_nevada_claims_without_lines():
    path = next(X12_DIR.glob("835_5010_nevada-medicaid*"))
    remittance = parse_835(path.read_bytes(), file_name=path.name)

    lines, _ = remittance_frames(remittance, partition_date=PARTITION)

    # Claim 1: OA-147 50016 outweighs CO-26 22216; claim 3: CO-26 31866 wins.
    assert lines.select("claim_id", "cpt_code", "denial_category").rows() == [
        ("77777777", None, "other"),
        ("77777778", None, "missing_information"),
        ("77777779", None, "eligibility"),
    ]


@pytest.mark.skipif(
    not (REFERENCE_DIR / "carc_claim_adjustment_reason_codes_2024-06.csv").is_file(),
    reason="shared CARC list not found at ../shared/data/reference",
)
def test_load_code_descriptions_reads_user_file():
    path = REFERENCE_DIR / "carc_claim_adjustment_reason_codes_2024-06.csv"

    descriptions = load_code_descriptions(path)

    assert len(descriptions) == 405
    assert "45" in descriptions and "97" in descriptions
    assert descriptions["45"]


def test_load_code_descriptions_with_bom(tmp_path):
    path = tmp_path / "rarc.csv"
    path.write_text("\ufeffcode,description\nZ1,first\nZ2,second\n", encoding="utf-8")

    assert load_code_descriptions(path) == {"Z1": "first", "Z2": "second"}


def test_partial_fixture_is_a_balanced_bare_transaction():
    _, segments = tokenize(PARTIAL_835.encode(), file_name="partial.835")

    remittance = parse_835(PARTIAL_835.encode(), file_name="partial.835")

    assert balance_findings(remittance) == []

    assert segments[0].elements == ("ST", "835", "0001")
    assert len(segments) == 28


# A reversal (CLP02 22) of a bundling denial and of a paid line, followed by the
# corrected claim (CLP09 7): 20 paid back, 30 paid anew, BPR02 = -20 + 30 = 10.
REVERSAL_835 = (
    "ST*835*0003~"
    "BPR*I*10*C*CHK************20261207~"
    "TRN*1*56*1999999999~"
    "N1*PR*DEMO PAYER~"
    "LX*1~"
    "CLP*CF3*22*-80*-20*0*12*ICN9~"
    "SVC*HC:99212*-50*-20**-1~"
    "CAS*CO*45*-30~"
    "REF*6R*CF3-1~"
    "SVC*HC:93010*-30*0**-1~"
    "CAS*CO*97*-30~"
    "REF*6R*CF3-2~"
    "CLP*CF3*1*80*30*0*12*ICN10*11*7~"
    "SVC*HC:99212*50*30**1~"
    "CAS*CO*45*20~"
    "REF*6R*CF3-1~"
    "SVC*HC:93010*30*0**1~"
    "CAS*CO*97*30~"
    "REF*6R*CF3-2~"
    "SE*19*0003~"
)


def test_remittance_frames_reversal_is_never_a_denial():
    remittance = parse_835(REVERSAL_835.encode(), file_name="reversal.835")

    lines, adjustments = remittance_frames(remittance, partition_date=PARTITION)

    assert balance_findings(remittance) == []
    assert lines.select(
        "claim_status_code",
        "claim_frequency_code",
        "is_reversal",
        "cpt_code",
        "paid_amount",
        "is_denied",
        "denial_category",
    ).rows() == [
        ("22", None, True, "99212", -20.0, False, None),
        ("22", None, True, "93010", 0.0, False, None),
        ("1", "7", False, "99212", 30.0, False, None),
        ("1", "7", False, "93010", 0.0, True, "bundling"),
    ]
    assert adjustments.select("carc_code", "amount", "is_denial").rows() == [
        ("45", -30.0, False),
        ("97", -30.0, False),
        ("45", 20.0, False),
        ("97", 30.0, True),
    ]
