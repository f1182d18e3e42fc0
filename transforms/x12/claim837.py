"""Write X12 005010X222A1 837P claim files and read them back for checking."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import duckdb

from cptflow.transforms.x12.tokenizer import tokenize
from cptflow.transforms.x12.write835 import (
    DELIMITERS,
    format_amount,
    format_date,
    format_quantity,
    render,
)

IMPLEMENTATION_GUIDE = "005010X222A1"
CONTROL_TABLE = "claims.x12_control_numbers"
MAX_DIAGNOSES = 12


@dataclass(frozen=True)
class Party:
    """A named participant: submitter, receiver, billing provider or payer.

    Attributes:
        name: organization name (NM103).
        identifier: NPI for providers, ETIN for submitter and receiver, payer id.
        address: street line, city, state and ZIP, for providers.
        tax_id: the billing provider's EIN (REF*EI).
        contact_phone: the submitter's phone (PER).
    """

    name: str
    identifier: str
    address: tuple[str, str, str, str] | None = None
    tax_id: str | None = None
    contact_phone: str | None = None


@dataclass(frozen=True)
class Submission:
    """Who sends a batch and to whom."""

    submitter: Party
    receiver: Party
    billing_provider: Party


@dataclass
class ClaimLine837:
    """One service line (loop 2400)."""

    line_number: int
    cpt_code: str
    modifiers: list[str]
    units: int
    charge_amount: Decimal
    diagnosis_pointers: list[int]
    line_control_number: str


@dataclass
class Claim837:
    """One claim (loops 2000B to 2400) with its patient, who is the subscriber.

    `rendering_provider` is (last name, first name, NPI) when another clinician
    than the billing provider gave the service (loop 2310B).
    """

    claim_id: str
    date_of_service: date
    place_of_service: str
    payer: Party
    member_id: str
    patient_last_name: str
    patient_first_name: str
    patient_birth_date: date
    patient_sex: str
    diagnosis_codes: list[str]
    lines: list[ClaimLine837] = field(default_factory=list)
    rendering_provider: tuple[str, str, str] | None = None

    @property
    def total_charge(self) -> Decimal:
        """CLM02: the sum of the line charges."""
        return sum((line.charge_amount for line in self.lines), Decimal("0"))


def reserve_control_number(
    conn: duckdb.DuckDBPyConnection, *, file_name: str, claim_count: int
) -> int:
    """Take the next interchange control number, recorded so it never repeats."""
    conn.execute("create schema if not exists claims")
    conn.execute(
        f"create table if not exists {CONTROL_TABLE} (control_number bigint "
        "primary key, file_name varchar, claim_count integer, created_at timestamp)"
    )
    conn.execute("begin")
    row = conn.execute(
        f"select coalesce(max(control_number), 0) + 1 from {CONTROL_TABLE}"
    ).fetchone()
    number = int(row[0]) if row else 1
    conn.execute(
        f"insert into {CONTROL_TABLE} values (?, ?, ?, now())",
        [number, file_name, claim_count],
    )
    conn.execute("commit")
    return number


def write_837p(
    claims: Sequence[Claim837],
    *,
    submission: Submission,
    control_number: int,
    created: datetime,
) -> str:
    """One interchange with one 837P transaction holding every claim.

    Args:
        claims: the clean claims of the batch.
        submission: submitter, receiver and billing provider.
        control_number: ISA13/GS06/ST02 (from `reserve_control_number`).
        created: when the file is made (BHT, GS and ISA dates).

    Returns:
        The file's text, one segment per line.
    """
    body: list[list[str]] = [
        ["ST", "837", _st_control(control_number), IMPLEMENTATION_GUIDE],
        [
            "BHT", "0019", "00", str(control_number), format_date(created.date()),
            created.strftime("%H%M"), "CH",
        ],
        *_submitter_loops(submission),
        *_billing_provider_loop(submission.billing_provider),
    ]  # fmt: skip
    for index, claim in enumerate(claims, start=2):
        body.extend(_claim_loops(claim, hl_number=index))
    body.append(["SE", str(len(body) + 1), _st_control(control_number)])

    sender = submission.submitter.identifier
    receiver = submission.receiver.identifier
    isa_control = f"{control_number:09d}"
    segments = [
        _isa(sender, receiver, isa_control, created),
        [
            "GS", "HC", sender, receiver, format_date(created.date()),
            created.strftime("%H%M"), str(control_number), "X", IMPLEMENTATION_GUIDE,
        ],
        *body,
        ["GE", "1", str(control_number)],
        ["IEA", "1", isa_control],
    ]  # fmt: skip
    return render(segments)


def _st_control(control_number: int) -> str:
    return f"{control_number % 10**9:04d}"


def _isa(sender: str, receiver: str, control: str, created: datetime) -> list[str]:
    return [
        "ISA", "00", " " * 10, "00", " " * 10,
        "ZZ", sender.ljust(15)[:15], "ZZ", receiver.ljust(15)[:15],
        created.strftime("%y%m%d"), created.strftime("%H%M"),
        DELIMITERS.repetition or "^", "00501", control, "0", "P",
        DELIMITERS.component,
    ]  # fmt: skip


def _submitter_loops(submission: Submission) -> list[list[str]]:
    submitter, receiver = submission.submitter, submission.receiver
    return [
        ["NM1", "41", "2", submitter.name, "", "", "", "", "46", submitter.identifier],
        ["PER", "IC", submitter.name, "TE", submitter.contact_phone or "0000000000"],
        ["NM1", "40", "2", receiver.name, "", "", "", "", "46", receiver.identifier],
    ]


def _billing_provider_loop(provider: Party) -> list[list[str]]:
    street, city, state, postal = provider.address or ("", "", "", "")
    return [
        ["HL", "1", "", "20", "1"],
        ["NM1", "85", "2", provider.name, "", "", "", "", "XX", provider.identifier],
        ["N3", street],
        ["N4", city, state, postal],
        ["REF", "EI", provider.tax_id or ""],
    ]


def _claim_loops(claim: Claim837, *, hl_number: int) -> list[list[str]]:
    """Subscriber (who is the patient), payer, claim and its service lines."""
    segments = [
        ["HL", str(hl_number), "1", "22", "0"],
        ["SBR", "P", "18", "", "", "", "", "", "", "CI"],
        [
            "NM1", "IL", "1", claim.patient_last_name, claim.patient_first_name,
            "", "", "", "MI", claim.member_id,
        ],
        ["DMG", "D8", format_date(claim.patient_birth_date), claim.patient_sex],
        [
            "NM1", "PR", "2", claim.payer.name, "", "", "", "", "PI",
            claim.payer.identifier,
        ],
        [
            "CLM", claim.claim_id, format_amount(claim.total_charge), "", "",
            DELIMITERS.component.join([claim.place_of_service, "B", "1"]),
            "Y", "A", "Y", "Y",
        ],
        _hi(claim.diagnosis_codes),
    ]  # fmt: skip
    if claim.rendering_provider:
        last, first, npi = claim.rendering_provider
        segments.append(["NM1", "82", "1", last, first, "", "", "", "XX", npi])
    for line in claim.lines:
        segments.extend(_line_loop(line, claim.date_of_service))
    return segments


def _hi(diagnoses: list[str]) -> list[str]:
    # ABK marks the principal ICD-10-CM diagnosis, ABF the others; codes lose the dot.
    codes = [code.replace(".", "") for code in diagnoses[:MAX_DIAGNOSES]]
    return ["HI"] + [
        DELIMITERS.component.join(["ABK" if index == 0 else "ABF", code])
        for index, code in enumerate(codes)
    ]


def _line_loop(line: ClaimLine837, on: date) -> list[list[str]]:
    procedure = DELIMITERS.component.join(["HC", line.cpt_code, *line.modifiers[:4]])
    pointers = DELIMITERS.component.join(str(p) for p in line.diagnosis_pointers[:4])
    return [
        ["LX", str(line.line_number)],
        [
            "SV1", procedure, format_amount(line.charge_amount), "UN",
            format_quantity(line.units), "", "", pointers,
        ],
        ["DTP", "472", "D8", format_date(on)],
        ["REF", "6R", line.line_control_number],
    ]  # fmt: skip


def read_837p(data: bytes, *, file_name: str) -> list[dict[str, Any]]:
    """Read claims back from an 837P with the project's tokenizer.

    Returns:
        One dict per CLM: claim_id, total_charge, diagnosis_codes (as in the file,
        with their qualifiers), control_number (ISA13), and lines with cpt_code,
        modifiers, charge_amount, units, diagnosis_pointers and line_control_number.
    """
    delimiters, segments = tokenize(data, file_name=file_name)
    component = delimiters.component
    claims: list[dict[str, Any]] = []
    control = ""
    for segment in segments:
        sid = segment.segment_id
        if sid == "ISA":
            control = segment.get(13)
        elif sid == "CLM":
            claims.append(
                {
                    "claim_id": segment.get(1),
                    "total_charge": Decimal(segment.get(2)),
                    "control_number": control,
                    "diagnosis_codes": [],
                    "lines": [],
                }
            )
        elif sid == "HI" and claims:
            claims[-1]["diagnosis_codes"] = list(segment.elements[1:])
        elif sid == "SV1" and claims:
            procedure = segment.get(1).split(component)
            claims[-1]["lines"].append(
                {
                    "cpt_code": procedure[1],
                    "modifiers": procedure[2:],
                    "charge_amount": Decimal(segment.get(2)),
                    "units": Decimal(segment.get(4)),
                    "diagnosis_pointers": [
                        int(p) for p in segment.get(7).split(component)
                    ],
                }
            )
        elif sid == "REF" and segment.get(1) == "6R" and claims and claims[-1]["lines"]:
            claims[-1]["lines"][-1]["line_control_number"] = segment.get(2)
    return claims
