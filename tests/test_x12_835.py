"""Tests of the X12 tokenizer and the 835 reader on the shared sample files."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from cptflow.transforms.errors import X12Error
from cptflow.transforms.x12.remit835 import (
    Adjustment,
    balance_findings,
    parse_835,
    validate_with_pyx12,
)
from cptflow.transforms.x12.tokenizer import tokenize

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
X12_DIR = SHARED / "data" / "x12"
MALFORMED = (
    "835_5010_professional_cpt-71045-26_with-placeholder-values_malformed"
    "__edi835parser.txt"
)

needs_shared = pytest.mark.skipif(
    not X12_DIR.is_dir(), reason="shared X12 samples not found at ../shared/data/x12"
)


def _shared(prefix: str) -> Path:
    matches = sorted(X12_DIR.glob(f"{prefix}*"))
    assert len(matches) == 1, prefix
    return matches[0]


def _parse_shared(prefix: str):
    path = _shared(prefix)
    return parse_835(path.read_bytes(), file_name=path.name)


SMALL_835 = (
    "ISA*00*          *00*          *ZZ*PAYER          *ZZ*PAYEE          "
    "*261201*1200*^*00501*000000001*0*P*:~"
    "GS*HP*PAYER*PAYEE*20261201*1200*1*X*005010X221A1~"
    "ST*835*0001~"
    "BPR*I*100*C*CHK************20261201~"
    "TRN*1*1*1999999999~"
    "N1*PR*DEMO PAYER~"
    "N3*1 MAIN ST~"
    "N4*SPRINGFIELD*IL*62701~"
    "PER*BL*EDI DESK*TE*8005550100~"
    "N1*PE*DEMO CLINIC*XX*1234567893~"
    "LX*1~"
    "CLP*CF1*1*250*100*20*12*PCN1~"
    "NM1*QC*1*DOE*JANE****MI*M1~"
    "SVC*HC:99213*150*100**1~"
    "CAS*CO*45*30~"
    "CAS*PR*3*20~"
    "SVC*HC:36415*100*0**1~"
    "CAS*CO*97*100~"
    "SE*17*0001~GE*1*1~IEA*1*000000001~"
)


@needs_shared
@pytest.mark.parametrize(
    ("prefix", "segments", "transactions", "claims", "lines"),
    [
        ("835_5010_medicare-part-a", 32, 1, 2, 0),
        ("835_5010_managed-care", 30, 1, 2, 2),
        ("835_5010_secondary-payment", 42, 1, 2, 2),
        ("835_5010_ny-medicaid", 69, 1, 3, 10),
        ("835_5010_nevada-medicaid", 67, 3, 3, 0),
        ("835_5010_bcbs-nc", 32, 1, 1, 3),
        ("835_5010_uhc_dme", 65, 1, 2, 5),
        ("835_5010_michigan-style", 35, 1, 1, 3),
        ("835_4010_uhc_pipe", 51, 1, 2, 2),
        ("835_4010_large_deidentified", 2361, 1, 96, 365),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_parse_835_counts_every_shared_file(
    prefix, segments, transactions, claims, lines
):
    path = _shared(prefix)
    _, tokens = tokenize(path.read_bytes(), file_name=path.name)

    remittance = parse_835(path.read_bytes(), file_name=path.name)

    claim_list = [c for t in remittance.transactions for c in t.claims]
    assert len(tokens) == segments
    assert len(remittance.transactions) == transactions
    assert len(claim_list) == claims
    assert sum(len(c.lines) for c in claim_list) == lines


@needs_shared
def test_parse_835_managed_care_figures():
    remittance = _parse_shared("835_5010_managed-care")

    transaction = remittance.transactions[0]
    first = transaction.claims[0]
    assert transaction.payer_name == "RUSHMORE LIFE"
    assert transaction.payee_name == "ACME MEDICAL CENTER"
    assert transaction.total_paid_amount == Decimal("945.00")
    assert transaction.trace_number == "7170066655"
    # BPR16 holds 20002316, not a date: DTM*405 gives the payment date.
    assert transaction.payment_date == date(2002, 3, 14)
    assert (first.claim_id, first.status_code) == ("5554555444", "1")
    assert first.paid_amount == Decimal("450.00")
    assert first.payer_claim_control_number == "94060555410000"
    assert first.adjustments == [Adjustment("CO", "A2", Decimal("50.00"))]
    assert first.lines[0].code == "99211"
    assert first.lines[0].paid_amount == Decimal("500.00")
    assert first.lines[0].adjustments == [Adjustment("PR", "1", Decimal("300.00"))]
    assert first.lines[0].service_date == date(2002, 3, 1)


@needs_shared
def test_parse_835_medicare_claims_without_lines_and_plb():
    remittance = _parse_shared("835_5010_medicare-part-a")

    transaction = remittance.transactions[0]
    assert transaction.total_paid_amount == Decimal("150000.00")
    assert [c.paid_amount for c in transaction.claims] == [
        Decimal("138018.40"),
        Decimal("11980.33"),
    ]
    assert transaction.claims[0].adjustments[0].amount == Decimal("73348.57")
    assert transaction.claims[1].remark_codes == ["MA02"]
    assert transaction.provider_adjustments[0].reason_code == "CV"
    assert transaction.provider_adjustments[0].amount == Decimal("-1.27")
    assert balance_findings(remittance) == []


@needs_shared
def test_parse_835_secondary_payment_modifier_and_multi_reason_cas():
    remittance = _parse_shared("835_5010_secondary-payment")

    claims = remittance.transactions[0].claims
    line = claims[1].lines[1]
    assert claims[0].adjustments == [Adjustment("OA", "23", Decimal("9411.64"))]
    # ISA16 declares ":" but SVC01 is written with ">": the reader follows SVC01.
    assert (line.code, line.modifiers) == ("66543", ["26"])
    assert [(a.group_code, a.carc_code, a.amount) for a in line.adjustments] == [
        ("PR", "1", Decimal("150.00")),
        ("PR", "2", Decimal("70.00")),
        ("CO", "42", Decimal("85.00")),
    ]


@needs_shared
def test_parse_835_ny_medicaid_denied_lines_with_rarc():
    remittance = _parse_shared("835_5010_ny-medicaid")

    claims = remittance.transactions[0].claims
    denied = claims[2].lines[2]
    assert [c.status_code for c in claims] == ["1", "2", "2"]
    assert (denied.code, denied.units, denied.paid_amount) == (
        "V2700",
        Decimal("0"),
        Decimal("0.00"),
    )
    assert denied.adjustments == [Adjustment("CO", "251", Decimal("2.75"))]
    assert denied.rarcs == ["N206"]
    assert claims[1].lines[0].adjustments[0].carc_code == "29"


@needs_shared
def test_parse_835_nevada_three_transactions_plb_only():
    remittance = _parse_shared("835_5010_nevada-medicaid")

    third = remittance.transactions[2]
    assert [len(t.claims) for t in remittance.transactions] == [1, 2, 0]
    assert third.total_paid_amount == Decimal("1812.27")
    assert len(third.provider_adjustments) == 6
    assert sum(p.amount for p in third.provider_adjustments) == Decimal("-1812.27")
    assert balance_findings(remittance) == []


@needs_shared
def test_parse_835_bare_transaction_with_submitted_code():
    remittance = _parse_shared("835_5010_bcbs-nc")

    lines = remittance.transactions[0].claims[0].lines
    assert remittance.version is None
    assert [line.code for line in lines] == ["59430", "59440", "59426"]
    assert [line.submitted_code for line in lines] == ["59410", "59410", None]
    assert [line.line_control_number for line in lines] == ["0001", "0002", "0003"]
    assert remittance.transactions[0].claims[0].paid_amount == Decimal("1922.86")


@needs_shared
def test_parse_835_uhc_component_separator_and_units():
    remittance = _parse_shared("835_5010_uhc_dme")

    line = remittance.transactions[0].claims[0].lines[0]
    assert remittance.delimiters.component == ">"
    assert (line.code, line.units, line.paid_amount) == (
        "B4152",
        Decimal("234"),
        Decimal("88.92"),
    )
    assert line.adjustments == [Adjustment("CO", "45", Decimal("67.50"))]
    assert line.line_control_number == "800941258001"


@needs_shared
def test_parse_835_4010_pipe_delimited_unbalanced_sample():
    remittance = _parse_shared("835_4010_uhc_pipe")

    transaction = remittance.transactions[0]
    findings = balance_findings(remittance)
    assert remittance.version == "004010X091A1"
    assert transaction.claims[1].lines[0].rarcs == ["N220", "M68"]
    assert transaction.provider_adjustments[0].amount == Decimal("-361.19")
    # 200.02 + 12000.65 paid, PLB -361.19: 12561.86, yet BPR02 says 12345.67.
    assert [(f.rule, f.expected_amount, f.actual_amount) for f in findings] == [
        ("transaction_balance", Decimal("12345.67"), Decimal("12561.86"))
    ]


@needs_shared
def test_parse_835_masked_file_keeps_group_and_reason_codes():
    remittance = _parse_shared("835_4010_large_deidentified")

    adjustments = [
        (a.group_code, a.carc_code)
        for c in remittance.transactions[0].claims
        for line in c.lines
        for a in line.adjustments
    ]
    assert remittance.transactions[0].total_paid_amount == Decimal("99999.99")
    assert adjustments.count(("CO", "97")) == 4
    assert adjustments.count(("CR", "31")) == 69


@needs_shared
def test_parse_835_malformed_file_names_file_and_segment():
    path = X12_DIR / MALFORMED

    with pytest.raises(X12Error) as caught:
        parse_835(path.read_bytes(), file_name=path.name)

    # CAS*grp_code*reason_code*amount*quantity is the 23rd segment of the file.
    assert caught.value.file == MALFORMED
    assert (caught.value.segment_index, caught.value.segment_id) == (23, "CAS")
    assert "'amount'" in caught.value.reason
    assert MALFORMED in str(caught.value)


@pytest.mark.parametrize(
    "text",
    [
        SMALL_835,
        SMALL_835.replace("~", "~\n"),
        SMALL_835.replace("~", "~\r\n  "),
        "\ufeff" + SMALL_835,
    ],
    ids=["one-line", "newlines", "crlf-indent", "bom"],
)
def test_tokenize_layouts_give_same_segments(text):
    _, expected = tokenize(SMALL_835.encode(), file_name="a.835")

    delimiters, segments = tokenize(text.encode(), file_name="a.835")

    assert (delimiters.element, delimiters.component, delimiters.segment) == (
        "*",
        ":",
        "~",
    )
    assert delimiters.repetition == "^"
    assert [s.elements for s in segments] == [s.elements for s in expected]


def test_tokenize_pipe_delimiters_and_terminator_on_next_line():
    text = SMALL_835.replace("*", "|").replace("|:~", "|^\n~\n")
    text = text.replace("HC:", "HC^").replace("~", "\n~\n")

    delimiters, segments = tokenize(text.encode(), file_name="pipe.835")

    assert (delimiters.element, delimiters.component, delimiters.segment) == (
        "|",
        "^",
        "~",
    )
    assert segments[13].elements[:2] == ("SVC", "HC^99213")


def test_tokenize_newline_as_terminator():
    text = SMALL_835.replace("~", "\n")

    delimiters, segments = tokenize(text.encode(), file_name="nl.835")

    assert delimiters.segment == "\n"
    assert len(segments) == 21
    assert segments[-1].elements == ("IEA", "1", "000000001")


def test_tokenize_collapsed_isa_padding():
    text = SMALL_835.replace("PAYER          *", "PAYER*").replace(
        "*00*          ", "*00* "
    )

    delimiters, segments = tokenize(text.encode(), file_name="short.835")

    assert delimiters.component == ":"
    assert segments[1].segment_id == "GS"


def test_tokenize_no_envelope_guesses_delimiters():
    body = SMALL_835[SMALL_835.index("ST*") : SMALL_835.index("GE*")]

    delimiters, segments = tokenize(body.encode(), file_name="bare.835")

    assert (delimiters.element, delimiters.component, delimiters.segment) == (
        "*",
        ":",
        "~",
    )
    assert [s.segment_id for s in segments][:2] == ["ST", "BPR"]
    assert segments[-1].segment_id == "SE"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "does not start"),
        (b"HELLO WORLD", "does not start"),
        (b"ISA*00*  *00", "fewer than 16"),
    ],
    ids=["empty", "not-x12", "short-isa"],
)
def test_tokenize_rejects_non_x12(data, reason):
    with pytest.raises(X12Error, match=reason) as caught:
        tokenize(data, file_name="bad.txt")

    assert caught.value.file == "bad.txt"


def test_parse_835_rejects_other_transaction_sets():
    text = SMALL_835.replace("ST*835*", "ST*837*")

    with pytest.raises(X12Error, match="not 835") as caught:
        parse_835(text.encode(), file_name="claim.837")

    assert (caught.value.segment_index, caught.value.segment_id) == (3, "ST")


def test_balance_findings_balanced_file_has_none():
    remittance = parse_835(SMALL_835.encode(), file_name="a.835")

    assert balance_findings(remittance) == []


def test_balance_findings_reports_each_broken_rule():
    # Line 1 pays 110 instead of 100; CLP04 and BPR02 are left as they were.
    text = SMALL_835.replace("SVC*HC:99213*150*100", "SVC*HC:99213*150*110")
    text = text.replace("BPR*I*100", "BPR*I*90")

    findings = balance_findings(parse_835(text.encode(), file_name="u.835"))

    assert [(f.rule, f.claim_id, f.line_number) for f in findings] == [
        ("line_balance", "CF1", 1),
        ("transaction_balance", None, None),
    ]
    assert (findings[0].expected_amount, findings[0].actual_amount) == (
        Decimal("150.00"),
        Decimal("160.00"),
    )
    assert (findings[1].expected_amount, findings[1].actual_amount) == (
        Decimal("90.00"),
        Decimal("100.00"),
    )
    assert "line 1" in findings[0].detail


def test_balance_findings_claim_charge_mismatch():
    text = SMALL_835.replace("CLP*CF1*1*250", "CLP*CF1*1*260")

    findings = balance_findings(parse_835(text.encode(), file_name="c.835"))

    assert [(f.rule, f.expected_amount, f.actual_amount) for f in findings] == [
        ("claim_balance", Decimal("260.00"), Decimal("250.00"))
    ]


def test_validate_with_pyx12_clean_file(tmp_path):
    path = tmp_path / "small.835"
    path.write_text(SMALL_835)

    assert validate_with_pyx12(path) == []


@needs_shared
def test_validate_with_pyx12_reports_real_errors():
    errors = validate_with_pyx12(_shared("835_5010_managed-care"))

    assert any("BPR16" in message for message in errors)
    assert not any("999" in message for message in errors)
