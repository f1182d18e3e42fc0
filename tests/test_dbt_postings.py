"""Reversals, replacement claims and underpayments: hand-written 835s through dbt.

Three claims of one encounter-like shape, priced from the fee schedule's expected
amounts, are remitted in two weekly 835 files (amounts worked out by hand below).

Week 1 (paid 2026-11-16):
    CFR1 line 1 99214 charge 250: paid 100, CO-45 125, PR-3 25 -> allowed 125,
        under 128 * 0.98 = 125.44, so underpaid by 3.00 on this adjudication.
    CFR1 line 2 36415 charge 25: paid 20, CO-45 5 -> allowed 20 (expected 3).
    CFU1 line 1 99213 charge 175: paid 70, CO-45 105 -> allowed 70 < 88.20,
        underpaid by 90 - 70 = 20.00.
    CFU1 line 2 71046 charge 120: paid 36, CO-45 84 -> allowed 36, expected 36.
    CFS1 line 1 99212 charge 110: paid 50, CO-45 60 -> allowed 50 < 54.88.
Week 2 (paid 2026-11-23):
    CFR1 reversed (CLP02 22, same CLP07 ICN1, every figure negated), then paid
        again as a replacement (CLP09 7): 99214 paid 108, CO-45 117, PR-3 25
        (allowed 133); 36415 paid 20, CO-45 5.
    CFS1 replaced (CLP09 7) without a reversal: 99212 paid 56, CO-45 54.
    CFD1 line 1 99211 charge 45 denied CO-16 (missing information).
So CFR1 nets 108 + 20 (not 100 + 20 + 108 + 20 - 120), CFS1 nets 56 (not 106),
and only CFU1 line 1 stays underpaid.
"""

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import pytest
from test_dbt_project import create_fixture_database, invoke_dbt, query_rows

from cptflow.transforms.remits import remittance_frames
from cptflow.transforms.x12.remit835 import balance_findings, parse_835

pytestmark = pytest.mark.slow

WEEK_1 = date(2026, 11, 16)
WEEK_2 = date(2026, 11, 23)

WEEK_1_835 = (
    "ST*835*0001~"
    "BPR*I*276*C*CHK************20261116~"
    "TRN*1*71*1999999999~"
    "N1*PR*POSTING TEST PAYER~"
    "N1*PE*DEMO CLINIC*XX*1234567893~"
    "LX*1~"
    "CLP*CFR1*1*275*120*25*12*ICN1~"
    "DTM*232*20261102~"
    "SVC*HC:99214*250*100**1~"
    "CAS*CO*45*125~"
    "CAS*PR*3*25~"
    "REF*6R*CFR1-1~"
    "SVC*HC:36415*25*20**1~"
    "CAS*CO*45*5~"
    "REF*6R*CFR1-2~"
    "CLP*CFU1*1*295*106*0*12*ICN2~"
    "DTM*232*20261102~"
    "SVC*HC:99213*175*70**1~"
    "CAS*CO*45*105~"
    "REF*6R*CFU1-1~"
    "SVC*HC:71046*120*36**1~"
    "CAS*CO*45*84~"
    "REF*6R*CFU1-2~"
    "CLP*CFS1*1*110*50*0*12*ICN4~"
    "DTM*232*20261102~"
    "SVC*HC:99212*110*50**1~"
    "CAS*CO*45*60~"
    "REF*6R*CFS1-1~"
    "SE*29*0001~"
)

# BPR02 = -120 (reversal) + 128 (CFR1 corrected) + 56 (CFS1 replaced) = 64.
WEEK_2_835 = (
    "ST*835*0002~"
    "BPR*I*64*C*CHK************20261123~"
    "TRN*1*72*1999999999~"
    "N1*PR*POSTING TEST PAYER~"
    "N1*PE*DEMO CLINIC*XX*1234567893~"
    "LX*1~"
    "CLP*CFR1*22*-275*-120*-25*12*ICN1~"
    "DTM*232*20261102~"
    "SVC*HC:99214*-250*-100**-1~"
    "CAS*CO*45*-125~"
    "CAS*PR*3*-25~"
    "REF*6R*CFR1-1~"
    "SVC*HC:36415*-25*-20**-1~"
    "CAS*CO*45*-5~"
    "REF*6R*CFR1-2~"
    "CLP*CFR1*1*275*128*25*12*ICN3*11*7~"
    "DTM*232*20261102~"
    "SVC*HC:99214*250*108**1~"
    "CAS*CO*45*117~"
    "CAS*PR*3*25~"
    "REF*6R*CFR1-1~"
    "SVC*HC:36415*25*20**1~"
    "CAS*CO*45*5~"
    "REF*6R*CFR1-2~"
    "CLP*CFS1*1*110*56*0*12*ICN5*11*7~"
    "DTM*232*20261102~"
    "SVC*HC:99212*110*56**1~"
    "CAS*CO*45*54~"
    "REF*6R*CFS1-1~"
    "CLP*CFD1*4*45*0*0*12*ICN6~"
    "DTM*232*20261102~"
    "SVC*HC:99211*45*0**1~"
    "CAS*CO*16*45~"
    "REF*6R*CFD1-1~"
    "LQ*HE*N290~"
    "SE*35*0002~"
)

# (claim_id, line, cpt_code, charge, expected) of the claims the 835s pay.
CLAIM_LINES = [
    ("CFR1", 1, "99214", 250.00, 128.00),
    ("CFR1", 2, "36415", 25.00, 3.00),
    ("CFU1", 1, "99213", 175.00, 90.00),
    ("CFU1", 2, "71046", 120.00, 36.00),
    ("CFS1", 1, "99212", 110.00, 56.00),
    ("CFD1", 1, "99211", 45.00, 23.00),
]
SOURCE_ENCOUNTER = "enc-5e0c7d2a91b34f68"


def _add_claims(connection: duckdb.DuckDBPyConnection) -> None:
    """Copy the fixture's first encounter and claim as the shape of three new ones."""
    for claim_id in ("CFR1", "CFU1", "CFS1", "CFD1"):
        encounter_id = f"enc-{claim_id.lower()}"
        connection.execute(
            "insert into coding.encounters select * replace (? as encounter_id,"
            " ? as document_id) from coding.encounters where encounter_id = ?",
            [encounter_id, f"doc-{claim_id.lower()}", SOURCE_ENCOUNTER],
        )
        connection.execute(
            "insert into claims.claims select * replace (? as claim_id,"
            " ? as encounter_id) from claims.claims where encounter_id = ?",
            [claim_id, encounter_id, SOURCE_ENCOUNTER],
        )
    for claim_id, number, cpt_code, charge, expected in CLAIM_LINES:
        connection.execute(
            "insert into claims.claim_lines select * replace (? as claim_id,"
            " ? as claim_line_number, ? as line_control_number, ? as encounter_id,"
            " ? as document_id, ? as cpt_code, ? as charge_amount,"
            " ? as expected_amount, [] as modifiers) from claims.claim_lines"
            " where line_control_number = 'CF5e0c7d2a91b3-1'",
            [
                claim_id,
                number,
                f"{claim_id}-{number}",
                f"enc-{claim_id.lower()}",
                f"doc-{claim_id.lower()}",
                cpt_code,
                charge,
                expected,
            ],
        )
        connection.execute(
            "insert into coding.encounter_codes select * replace (? as encounter_id,"
            " ? as document_id, ? as code_sequence, ? as cpt_code)"
            " from coding.encounter_codes where encounter_id = ? and code_sequence = 1",
            [
                f"enc-{claim_id.lower()}",
                f"doc-{claim_id.lower()}",
                number,
                cpt_code,
                SOURCE_ENCOUNTER,
            ],
        )
    connection.execute(
        "update claims.claims set total_charge_amount = ("
        "select sum(charge_amount) from claims.claim_lines as lines"
        " where lines.claim_id = claims.claim_id) where claim_id like 'CF_1'"
    )


def _add_remittances(connection: duckdb.DuckDBPyConnection) -> None:
    """Parse both 835s and append their rows as the remits stage would."""
    for name, text, paid in (
        ("era_week1.835", WEEK_1_835, WEEK_1),
        ("era_week2.835", WEEK_2_835, WEEK_2),
    ):
        remittance = parse_835(text.encode(), file_name=name)
        assert balance_findings(remittance) == []
        lines, adjustments = remittance_frames(remittance, partition_date=paid)
        connection.register("new_lines", lines.to_arrow())
        connection.register("new_adjustments", adjustments.to_arrow())
        connection.execute(
            "insert into remits.remittance_lines by name select * from new_lines"
        )
        connection.execute(
            "insert into remits.remittance_adjustments by name"
            " select * from new_adjustments"
        )


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The contract fixture plus the three claims and two 835s, after dbt build."""
    work_dir = tmp_path_factory.mktemp("dbt_postings")
    path = work_dir / "cptflow.duckdb"
    create_fixture_database(path)
    with duckdb.connect(str(path)) as connection:
        _add_claims(connection)
        _add_remittances(connection)

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CPTFLOW_DB", str(path))
        patch.setenv("DO_NOT_TRACK", "1")
        result = invoke_dbt(["build", "--threads", "2"], work_dir)
    warned = [str(r.node.name) for r in result.result if str(r.status) == "warn"]
    assert result.success, result.exception
    assert warned == []
    yield path


def test_fct_claim_lines_nets_reversal_and_replacement(database: Path) -> None:
    rows = query_rows(
        database,
        "select line_control_number, paid_amount, allowed_amount,"
        " contractual_adjustment_amount, patient_responsibility_amount,"
        " reversed_paid_amount, remittance_line_count, reversal_count,"
        " payment_status, is_denied, latest_payment_date"
        " from marts.fct_claim_lines where claim_id in ('CFR1', 'CFS1')"
        " order by line_control_number",
    )

    assert [tuple(row.values()) for row in rows] == [
        ("CFR1-1", 108.0, 133.0, 117.0, 25.0, 100.0, 3, 1, "paid", False, WEEK_2),
        ("CFR1-2", 20.0, 20.0, 5.0, 0.0, 20.0, 3, 1, "paid", False, WEEK_2),
        ("CFS1-1", 56.0, 56.0, 54.0, 0.0, 0.0, 2, 0, "paid", False, WEEK_2),
    ]


def test_fct_claim_lines_flags_partial_underpayment(database: Path) -> None:
    rows = query_rows(
        database,
        "select line_control_number, expected_amount, allowed_amount, is_underpaid,"
        " underpaid_amount from marts.fct_claim_lines"
        " where claim_id in ('CFR1', 'CFU1', 'CFS1') order by line_control_number",
    )

    assert [tuple(row.values()) for row in rows] == [
        ("CFR1-1", 128.0, 133.0, False, 0.0),
        ("CFR1-2", 3.0, 20.0, False, 0.0),
        ("CFS1-1", 56.0, 56.0, False, 0.0),
        ("CFU1-1", 90.0, 70.0, True, 20.0),
        ("CFU1-2", 36.0, 36.0, False, 0.0),
    ]


def test_fct_remittance_lines_keeps_reversal_history(database: Path) -> None:
    rows = query_rows(
        database,
        "select claim_id, line_number, payment_date, claim_status_code, paid_amount,"
        " is_reversal, is_reversed, is_superseded, is_denied, is_underpaid,"
        " underpaid_amount from marts.fct_remittance_lines"
        " where claim_id in ('CFR1', 'CFS1') and line_number = 1"
        " order by claim_id, payment_date, remittance_line_id",
    )

    assert [tuple(row.values()) for row in rows] == [
        ("CFR1", 1, WEEK_1, "1", 100.0, False, True, True, False, True, 3.0),
        ("CFR1", 1, WEEK_2, "22", -100.0, True, False, False, False, False, 0.0),
        ("CFR1", 1, WEEK_2, "1", 108.0, False, False, False, False, False, 0.0),
        ("CFS1", 1, WEEK_1, "1", 50.0, False, False, True, False, True, 6.0),
        ("CFS1", 1, WEEK_2, "1", 56.0, False, False, False, False, False, 0.0),
    ]


def test_reversal_points_at_the_payment_it_takes_back(database: Path) -> None:
    rows = query_rows(
        database,
        "select reversal.line_number, original.payment_date, original.paid_amount"
        " from marts.fct_remittance_lines as reversal"
        " join marts.fct_remittance_lines as original"
        " on reversal.reverses_remittance_line_id = original.remittance_line_id"
        " order by reversal.line_number",
    )

    assert [tuple(row.values()) for row in rows] == [
        (1, WEEK_1, 100.0),
        (2, WEEK_1, 20.0),
    ]


def test_denials_by_provider_counts_underpaid_lines(database: Path) -> None:
    [row] = query_rows(
        database,
        "select remitted_line_count, denied_line_count, underpaid_line_count,"
        " underpaid_amount, paid_amount from marts.denials_by_provider"
        " where rendering_npi = '1234567893'",
    )

    # Fixture lines 45380 (paid 480) and 99213 (denied), plus the six above:
    # 480 + 108 + 20 + 70 + 36 + 56 + 0 = 770.
    assert row == {
        "remitted_line_count": 8,
        "denied_line_count": 2,
        "underpaid_line_count": 1,
        "underpaid_amount": 20.0,
        "paid_amount": 770.0,
    }


def test_denial_trend_weekly_leaves_reversals_out_of_remitted_lines(
    database: Path,
) -> None:
    rows = query_rows(
        database,
        "select week_start_date, denial_category, denied_line_count,"
        " remitted_line_count from marts.denial_trend_weekly"
        " order by week_start_date, denial_category",
    )

    # Week of 2026-11-16: the fixture's 3 lines and week 1's 5. Week of 2026-11-23:
    # CFR1's two corrected lines, CFS1 and CFD1 (the two reversal lines left out).
    assert [tuple(row.values()) for row in rows] == [
        (WEEK_1, "bundling", 1, 8),
        (WEEK_1, "missing_information", 1, 8),
        (WEEK_2, "missing_information", 1, 4),
    ]
