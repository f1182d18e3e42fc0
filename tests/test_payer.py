"""Tests of the seeded payer simulator and the 835 it writes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import polars as pl
import pytest
import yaml

from cptflow.transforms.payer import (
    DEFAULT_RULES_PATH,
    PaymentRun,
    adjudicate,
    adjudicate_runs_to_files,
    load_payer_rules,
    reversal_of,
    write_835,
)
from cptflow.transforms.remits import remit_json_objects
from cptflow.transforms.x12.remit835 import (
    Adjustment,
    balance_findings,
    parse_835,
    validate_with_pyx12,
)

PAYMENT_DATE = date(2026, 12, 1)
SERVICE_DATE = date(2026, 11, 2)


def _claims(rows: list[tuple[str, str, list[str], str]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "claim_id": [row[0] for row in rows],
            "patient_id": [f"P-{row[0]}" for row in rows],
            "payer_id": [row[1] for row in rows],
            "date_of_service": [SERVICE_DATE] * len(rows),
            "diagnosis_codes": [row[2] for row in rows],
            "status": [row[3] for row in rows],
        }
    )


def _lines(rows: list[tuple[str, str, list[str], int, float]]) -> pl.DataFrame:
    numbers: dict[str, int] = {}
    line_numbers = []
    for row in rows:
        numbers[row[0]] = numbers.get(row[0], 0) + 1
        line_numbers.append(numbers[row[0]])
    return pl.DataFrame(
        {
            "claim_id": [row[0] for row in rows],
            "claim_line_number": line_numbers,
            "line_control_number": [
                f"{row[0]}-{number}"
                for row, number in zip(rows, line_numbers, strict=True)
            ],
            "cpt_code": [row[1] for row in rows],
            "modifiers": [row[2] for row in rows],
            "units": [row[3] for row in rows],
            "charge_amount": [row[4] for row in rows],
            "date_of_service": [SERVICE_DATE] * len(rows),
        }
    )


CLAIMS = _claims(
    [
        ("CF0000000000A1", "87726", ["E55.9"], "ready"),
        ("CF0000000000B2", "60054", ["R51.9"], "ready"),
        ("CF0000000000C3", "87726", ["Z00.00"], "ready"),
        ("CF0000000000D4", "00431", ["K63.5"], "ready"),
        ("CF0000000000E5", "87726", ["I10"], "held"),
    ]
)
LINES = _lines(
    [
        ("CF0000000000A1", "99214", ["25"], 1, 180.0),
        ("CF0000000000A1", "82306", [], 1, 60.0),
        ("CF0000000000A1", "36415", [], 3, 30.0),
        ("CF0000000000B2", "70450", [], 1, 650.0),
        ("CF0000000000B2", "99213", [], 1, 120.0),
        ("CF0000000000C3", "82306", [], 1, 60.0),
        ("CF0000000000D4", "45380", [], 1, 900.0),
        ("CF0000000000D4", "45378", [], 1, 700.0),
        ("CF0000000000E5", "99213", [], 1, 120.0),
    ]
)


@pytest.fixture
def quiet_rules(tmp_path):
    """Demo rules without random noise, dated policies or contract rates, so every
    amount can be worked by hand."""
    raw = yaml.safe_load(DEFAULT_RULES_PATH.read_text())
    raw["defaults"].update(
        allowed_fraction=0.70,
        deductible_rate=0.0,
        coinsurance_rate=0.0,
        eligibility_denial_rate=0.0,
        missing_information_rate=0.0,
        policy_changes=[],
    )
    for payer in raw["payers"]:
        payer.pop("allowed_fraction", None)
        payer.pop("copay_amount", None)
        payer.pop("contract_rates", None)
    path = tmp_path / "quiet.yaml"
    path.write_text(yaml.safe_dump(raw))
    return load_payer_rules(path)


def _write(adjudicated) -> str:
    return write_835(
        adjudicated,
        payer_name="DEMO HEALTH PLAN",
        payer_id="87726",
        payee_name="DEMO CLINIC",
        payee_npi="1234567893",
        payment_date=PAYMENT_DATE,
        control_number=42,
    )


def test_adjudicate_applies_each_rule(quiet_rules):
    result = adjudicate(
        CLAIMS, LINES, payer_rules=quiet_rules, payment_date=PAYMENT_DATE
    )

    by_id = {claim.claim_id: claim for claim in result}
    first, second, third, fourth = (
        by_id[f"CF0000000000{k}"] for k in ("A1", "B2", "C3", "D4")
    )
    assert "CF0000000000E5" not in by_id
    # 99214: 180 * 0.70 = 126 allowed, CO-45 54, copay 25, paid 101.
    assert first.lines[0].adjustments == [
        Adjustment("CO", "45", Decimal("54.00")),
        Adjustment("PR", "3", Decimal("25.00")),
    ]
    # 36415 x3 with a cap of 2: one unit (10.00) denied, 20 priced to 14.
    assert first.lines[2].adjustments == [
        Adjustment("CO", "151", Decimal("10.00"), Decimal("1")),
        Adjustment("CO", "45", Decimal("6.00")),
    ]
    assert (first.paid_amount, first.patient_responsibility_amount) == (
        Decimal("157.00"),
        Decimal("25.00"),
    )
    assert second.lines[0].adjustments == [Adjustment("CO", "197", Decimal("650.00"))]
    assert (second.status_code, second.paid_amount) == ("1", Decimal("59.00"))
    assert third.lines[0].adjustments == [Adjustment("CO", "50", Decimal("60.00"))]
    assert (third.status_code, third.lines[0].rarcs) == ("4", ["N115"])
    assert fourth.lines[1].adjustments == [Adjustment("CO", "97", Decimal("700.00"))]
    assert fourth.lines[1].rarcs == ["M15"]
    assert fourth.paid_amount == Decimal("630.00")


def test_write_835_round_trip_keeps_amounts(quiet_rules):
    adjudicated = adjudicate(
        CLAIMS, LINES, payer_rules=quiet_rules, payment_date=PAYMENT_DATE
    )

    remittance = parse_835(_write(adjudicated).encode(), file_name="sim.835")

    transaction = remittance.transactions[0]
    assert transaction.total_paid_amount == Decimal("846.00")
    assert transaction.payment_date == PAYMENT_DATE
    assert balance_findings(remittance) == []
    for written, read in zip(adjudicated, transaction.claims, strict=True):
        assert (read.claim_id, read.status_code) == (
            written.claim_id,
            written.status_code,
        )
        assert (read.charge_amount, read.paid_amount) == (
            written.charge_amount,
            written.paid_amount,
        )
        for line, read_line in zip(written.lines, read.lines, strict=True):
            assert read_line.code == line.cpt_code
            assert read_line.modifiers == line.modifiers
            assert read_line.units == line.units
            assert read_line.paid_amount == line.paid_amount
            assert read_line.adjustments == line.adjustments
            assert read_line.line_control_number == line.line_control_number
            assert read_line.rarcs == line.rarcs


def test_write_835_denials_read_back_as_categories(quiet_rules):
    adjudicated = adjudicate(
        CLAIMS, LINES, payer_rules=quiet_rules, payment_date=PAYMENT_DATE
    )

    objects = remit_json_objects(parse_835(_write(adjudicated).encode(), file_name="s"))

    assert [(o["cpt"], o["denial_category"]) for o in objects] == [
        ("99214", None),
        ("82306", None),
        ("36415", "units_frequency"),
        ("70450", "authorization"),
        ("99213", None),
        ("82306", "medical_necessity"),
        ("45380", None),
        ("45378", "bundling"),
    ]


def test_write_835_passes_pyx12(tmp_path):
    adjudicated = adjudicate(CLAIMS, LINES, payment_date=PAYMENT_DATE)
    path = tmp_path / "sim.835"
    path.write_text(_write(adjudicated))

    assert validate_with_pyx12(path) == []


def test_write_835_zero_pay_passes_pyx12(tmp_path, quiet_rules):
    adjudicated = adjudicate(
        CLAIMS.filter(pl.col("claim_id") == "CF0000000000C3"),
        LINES,
        payer_rules=quiet_rules,
        payment_date=PAYMENT_DATE,
    )
    path = tmp_path / "zero.835"
    path.write_text(_write(adjudicated))

    assert "BPR*H*0*C*NON" in path.read_text()
    assert validate_with_pyx12(path) == []


def test_adjudicate_same_input_same_835():
    first = _write(adjudicate(CLAIMS, LINES, seed=11, payment_date=PAYMENT_DATE))
    second = _write(adjudicate(CLAIMS, LINES, seed=11, payment_date=PAYMENT_DATE))

    assert first == second


def test_adjudicate_claim_outcome_independent_of_batch():
    alone = adjudicate(
        CLAIMS.filter(pl.col("claim_id") == "CF0000000000A1"),
        LINES,
        seed=11,
        payment_date=PAYMENT_DATE,
    )
    batch = adjudicate(CLAIMS, LINES, seed=11, payment_date=PAYMENT_DATE)

    assert alone[0] == batch[0]


def test_adjudicate_seed_changes_noise():
    claim_ids = [f"CF{number:012d}" for number in range(60)]
    claims = _claims([(claim_id, "99999", [], "ready") for claim_id in claim_ids])
    lines = _lines([(claim_id, "99213", [], 1, 120.0) for claim_id in claim_ids])

    outcomes = [
        [
            claim.lines[0].adjustments
            for claim in adjudicate(claims, lines, seed=seed, payment_date=PAYMENT_DATE)
        ]
        for seed in (1, 2)
    ]

    assert outcomes[0] != outcomes[1]


@pytest.mark.parametrize(
    ("rate_key", "carcs"),
    [
        ("eligibility_denial_rate", {"27", "31"}),
        ("missing_information_rate", {"16"}),
    ],
    ids=["eligibility", "missing-information"],
)
def test_adjudicate_noise_denies_with_expected_carcs(tmp_path, rate_key, carcs):
    raw = yaml.safe_load(DEFAULT_RULES_PATH.read_text())
    raw["defaults"][rate_key] = 1.0
    # Only the noise under test: no dated policy denies first.
    raw["defaults"]["policy_changes"] = []
    path = tmp_path / "noisy.yaml"
    path.write_text(yaml.safe_dump(raw))
    claims = CLAIMS.filter(pl.col("claim_id") == "CF0000000000A1")

    result = adjudicate(
        claims, LINES, payer_rules=load_payer_rules(path), payment_date=PAYMENT_DATE
    )

    found = {a.carc_code for line in result[0].lines for a in line.adjustments}
    assert found <= carcs
    assert result[0].status_code == "4"


@pytest.mark.parametrize(
    ("day", "expected"),
    [(date(2025, 12, 31), False), (date(2026, 1, 1), True), (date(2030, 6, 1), True)],
    ids=["before", "first-day", "open-ended"],
)
def test_payer_rules_effective_dates(day, expected):
    assert load_payer_rules().is_effective_on(day) is expected


@pytest.fixture
def dated_rules(tmp_path):
    """Demo rules without noise but with their dated policies and contract rates."""
    raw = yaml.safe_load(DEFAULT_RULES_PATH.read_text())
    raw["defaults"].update(
        deductible_rate=0.0,
        coinsurance_rate=0.0,
        eligibility_denial_rate=0.0,
        missing_information_rate=0.0,
    )
    path = tmp_path / "dated.yaml"
    path.write_text(yaml.safe_dump(raw))
    return load_payer_rules(path)


def _one_line_claim(claim_id: str, payer_id: str, cpt_code: str, charge: float):
    claims = _claims([(claim_id, payer_id, ["I10"], "ready")]).with_columns(
        pl.lit("1234567893").alias("billing_npi")
    )
    return claims, _lines([(claim_id, cpt_code, [], 1, charge)])


@pytest.mark.parametrize(
    ("day", "adjustments"),
    [
        (
            date(2026, 11, 19),
            # 250 * 0.74 = 185 allowed: CO-45 65, copay 25.
            [
                Adjustment("CO", "45", Decimal("65.00")),
                Adjustment("PR", "3", Decimal("25.00")),
            ],
        ),
        (date(2026, 11, 20), [Adjustment("CO", "150", Decimal("250.00"))]),
    ],
    ids=["day-before", "first-day"],
)
def test_adjudicate_policy_change_denies_from_its_date(dated_rules, day, adjustments):
    claims, lines = _one_line_claim("CF0000000000P1", "87726", "99214", 250.0)

    [claim] = adjudicate(claims, lines, payer_rules=dated_rules, payment_date=day)

    assert claim.lines[0].adjustments == adjustments


def test_adjudicate_contract_rate_prices_below_fraction(dated_rules):
    claims, lines = _one_line_claim("CF0000000000R1", "SX141", "71046", 120.0)

    [claim] = adjudicate(
        claims, lines, payer_rules=dated_rules, payment_date=PAYMENT_DATE
    )

    # The contract's 30.00 instead of 120 * 0.70 = 84; no copay on imaging.
    assert (claim.lines[0].allowed_amount, claim.paid_amount) == (
        Decimal("30.00"),
        Decimal("30.00"),
    )
    assert claim.lines[0].adjustments == [Adjustment("CO", "45", Decimal("90.00"))]


def test_adjudicate_runs_reverse_and_repay_when_rate_is_corrected(
    dated_rules, tmp_path
):
    first, first_lines = _one_line_claim("CF0000000000S1", "SX141", "99213", 175.0)
    second, second_lines = _one_line_claim("CF0000000000S2", "SX141", "99213", 175.0)
    runs = [
        PaymentRun(date(2026, 11, 13), second, second_lines),
        PaymentRun(date(2026, 11, 6), first, first_lines),
    ]

    paths = adjudicate_runs_to_files(
        runs, folder=tmp_path / "remits", payer_rules=dated_rules
    )
    remittances = [parse_835(p.read_bytes(), file_name=p.name) for p in paths]

    assert [r.transactions[0].payment_date for r in remittances] == [
        date(2026, 11, 6),
        date(2026, 11, 13),
    ]
    assert all(balance_findings(r) == [] for r in remittances)
    [original] = remittances[0].transactions[0].claims
    reversal, corrected, new = remittances[1].transactions[0].claims
    # Old rate 70: CO-45 105, copay 25, paid 45. New rate 92: CO-45 83, paid 67.
    assert (original.claim_id, original.status_code, original.paid_amount) == (
        "CF0000000000S1",
        "1",
        Decimal("45.00"),
    )
    assert (reversal.claim_id, reversal.status_code, reversal.paid_amount) == (
        "CF0000000000S1",
        "22",
        Decimal("-45.00"),
    )
    assert reversal.payer_claim_control_number == original.payer_claim_control_number
    assert [(a.carc_code, a.amount) for a in reversal.lines[0].adjustments] == [
        ("45", Decimal("-105.00")),
        ("3", Decimal("-25.00")),
    ]
    assert (corrected.claim_id, corrected.status_code, corrected.paid_amount) == (
        "CF0000000000S1",
        "1",
        Decimal("67.00"),
    )
    assert corrected.payer_claim_control_number != original.payer_claim_control_number
    assert (new.claim_id, new.paid_amount) == ("CF0000000000S2", Decimal("67.00"))
    # BPR02 of the second run: -45 + 67 + 67.
    assert remittances[1].transactions[0].total_paid_amount == Decimal("89.00")


def test_write_835_reversal_and_repayment_passes_pyx12(tmp_path, quiet_rules):
    [claim] = adjudicate(
        CLAIMS.filter(pl.col("claim_id") == "CF0000000000A1"),
        LINES,
        payer_rules=quiet_rules,
        payment_date=PAYMENT_DATE,
    )
    path = tmp_path / "reversal.835"
    path.write_text(_write([reversal_of(claim), claim]))

    remittance = parse_835(path.read_bytes(), file_name=path.name)

    assert validate_with_pyx12(path) == []
    assert balance_findings(remittance) == []
    # The reversal and the payment cancel out: BPR02 is 0, an advice only.
    assert remittance.transactions[0].total_paid_amount == Decimal("0.00")
    assert [c.status_code for c in remittance.transactions[0].claims] == ["22", "1"]
