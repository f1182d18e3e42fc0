"""Read 835 remittances (5010 and 4010) into claims, lines and adjustments."""

from __future__ import annotations

import hashlib
import io
import logging
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

from cptflow.transforms.errors import X12Error
from cptflow.transforms.x12.tokenizer import Delimiters, Segment, tokenize

logger = logging.getLogger(__name__)

CENT = Decimal("0.01")
_NUMBER = re.compile(r"^-?(\d+\.?\d*|\.\d+)$")
_DATE = re.compile(r"^\d{8}$")
_CAS_TRIPLES = 6
_PLB_PAIRS = 6
_LINE_DATE_QUALIFIERS = ("472", "150")
_PYX12_SPURIOUS = "Failed to create 999 response"


@dataclass(frozen=True)
class Adjustment:
    """One CAS reason: group code, CARC, amount and optional quantity."""

    group_code: str
    carc_code: str
    amount: Decimal
    quantity: Decimal | None = None


@dataclass
class ServiceLine:
    """One SVC loop (2110) with its dates, references, adjustments and remarks."""

    line_number: int
    qualifier: str
    code: str
    modifiers: list[str]
    charge_amount: Decimal
    paid_amount: Decimal
    units: Decimal
    submitted_qualifier: str | None = None
    submitted_code: str | None = None
    submitted_modifiers: list[str] = field(default_factory=list)
    service_date: date | None = None
    line_control_number: str | None = None
    allowed_amount: Decimal | None = None
    adjustments: list[Adjustment] = field(default_factory=list)
    rarcs: list[str] = field(default_factory=list)
    segment_index: int = 0


@dataclass
class Claim:
    """One CLP loop (2100): claim figures, claim-level CAS, remarks and lines.

    `status_code` is CLP02 (22 is the reversal of an earlier payment);
    `frequency_code` is CLP09, the claim frequency (7 for a replacement claim).
    """

    claim_id: str
    status_code: str
    charge_amount: Decimal
    paid_amount: Decimal
    patient_responsibility_amount: Decimal
    filing_indicator: str
    payer_claim_control_number: str | None
    frequency_code: str | None = None
    service_date: date | None = None
    service_end_date: date | None = None
    adjustments: list[Adjustment] = field(default_factory=list)
    remark_codes: list[str] = field(default_factory=list)
    lines: list[ServiceLine] = field(default_factory=list)
    segment_index: int = 0


@dataclass(frozen=True)
class ProviderAdjustment:
    """One PLB reason/amount pair; a positive amount reduces the payment."""

    provider_id: str
    fiscal_period_date: date | None
    reason_code: str
    reference_id: str | None
    amount: Decimal


@dataclass
class Transaction:
    """One ST/SE transaction: the payment, its parties, claims and PLB."""

    control_number: str
    total_paid_amount: Decimal = Decimal("0.00")
    credit_debit_flag: str = ""
    payment_method: str = ""
    payment_date: date | None = None
    trace_number: str | None = None
    payer_name: str | None = None
    payer_id: str | None = None
    payee_name: str | None = None
    payee_id: str | None = None
    claims: list[Claim] = field(default_factory=list)
    provider_adjustments: list[ProviderAdjustment] = field(default_factory=list)
    segment_index: int = 0


@dataclass
class Remittance:
    """A whole 835 file: its name, hash, version and transactions."""

    file_name: str
    file_sha256: str
    version: str | None
    delimiters: Delimiters
    transactions: list[Transaction] = field(default_factory=list)


@dataclass(frozen=True)
class Finding:
    """A balancing rule an 835 breaks; reported, never raised.

    Attributes:
        rule: `line_balance`, `claim_balance` or `transaction_balance`.
        transaction_number: 1-based transaction within the file.
        claim_id: CLP01, or None for a transaction finding.
        line_number: 1-based line within the claim, or None.
        expected_amount: the amount the rule wants (a charge or BPR02).
        actual_amount: what the figures add up to.
    """

    rule: str
    transaction_number: int
    claim_id: str | None
    line_number: int | None
    expected_amount: Decimal
    actual_amount: Decimal

    @property
    def detail(self) -> str:
        """One sentence naming the rule and the two amounts."""
        where = f"transaction {self.transaction_number}"
        if self.claim_id is not None:
            where += f", claim {self.claim_id}"
        if self.line_number is not None:
            where += f", line {self.line_number}"
        return (
            f"{self.rule} fails at {where}: expected {self.expected_amount}, "
            f"figures add up to {self.actual_amount}"
        )


class _Reader:
    """Walks the segments once, keeping the current transaction, claim and line."""

    def __init__(self, file_name: str, delimiters: Delimiters) -> None:
        self.file_name = file_name
        self.delimiters = delimiters
        self.transactions: list[Transaction] = []
        self.version: str | None = None
        self.transaction: Transaction | None = None
        self.claim: Claim | None = None
        self.line: ServiceLine | None = None
        self.header_date: date | None = None

    def read(self, segment: Segment) -> None:
        """Hand the segment to its `_read_<id>` method; other segments are skipped."""
        handler = getattr(self, f"_read_{segment.segment_id.lower()}", None)
        if handler is None:
            return
        if segment.segment_id not in ("GS", "ST") and self.transaction is None:
            return
        handler(segment)

    def _read_gs(self, segment: Segment) -> None:
        self.version = segment.get(8) or self.version

    def _read_st(self, segment: Segment) -> None:
        if segment.get(1) != "835":
            raise self._error(segment, f"transaction set {segment.get(1)!r} is not 835")
        self.transaction = Transaction(segment.get(2), segment_index=segment.index)
        self.transactions.append(self.transaction)
        self.version = segment.get(3) or self.version
        self.claim = self.line = None
        self.header_date = None

    def _read_se(self, segment: Segment) -> None:
        transaction = self._current_transaction(segment)
        if transaction.payment_date is None:
            transaction.payment_date = self.header_date
        self.transaction = self.claim = self.line = None

    def _read_bpr(self, segment: Segment) -> None:
        transaction = self._current_transaction(segment)
        transaction.credit_debit_flag = segment.get(3)
        transaction.total_paid_amount = self._amount(segment, 2, "BPR02")
        transaction.payment_method = segment.get(4)
        # A BPR16 that is not a real date (seen in samples) falls back to DTM*405.
        transaction.payment_date = self._date(segment, 16, "BPR16")

    def _read_trn(self, segment: Segment) -> None:
        self._current_transaction(segment).trace_number = segment.get(2) or None

    def _read_dtm(self, segment: Segment) -> None:
        qualifier = segment.get(1)
        value = self._date(segment, 2, f"DTM*{qualifier}")
        if self.line is not None and qualifier in _LINE_DATE_QUALIFIERS:
            self.line.service_date = self.line.service_date or value
        elif self.claim is not None and qualifier in ("232", "233"):
            if qualifier == "232":
                self.claim.service_date = value
            else:
                self.claim.service_end_date = value
        elif self.claim is None and qualifier == "405":
            self.header_date = value

    def _read_n1(self, segment: Segment) -> None:
        transaction = self._current_transaction(segment)
        if self.claim is not None:
            return
        if segment.get(1) == "PR":
            transaction.payer_name = segment.get(2) or None
            transaction.payer_id = segment.get(4) or None
        elif segment.get(1) == "PE":
            transaction.payee_name = segment.get(2) or None
            transaction.payee_id = segment.get(4) or None

    def _read_clp(self, segment: Segment) -> None:
        transaction = self._current_transaction(segment)
        self.claim = Claim(
            claim_id=segment.get(1),
            status_code=segment.get(2),
            charge_amount=self._amount(segment, 3, "CLP03"),
            paid_amount=self._amount(segment, 4, "CLP04"),
            patient_responsibility_amount=self._amount(segment, 5, "CLP05"),
            filing_indicator=segment.get(6),
            payer_claim_control_number=segment.get(7) or None,
            # CLP09: 7 marks a replacement (corrected) claim, 8 a void.
            frequency_code=segment.get(9) or None,
            segment_index=segment.index,
        )
        transaction.claims.append(self.claim)
        self.line = None

    def _read_cas(self, segment: Segment) -> None:
        group = segment.get(1)
        adjustments = []
        for triple in range(_CAS_TRIPLES):
            position = 2 + 3 * triple
            carc = segment.get(position)
            if not carc:
                continue
            amount = self._amount(segment, position + 1, f"CAS{position + 1:02d}")
            quantity = self._optional_number(segment, position + 2)
            adjustments.append(Adjustment(group, carc, amount, quantity))

        if self.line is not None:
            self.line.adjustments.extend(adjustments)
        elif self.claim is not None:
            self.claim.adjustments.extend(adjustments)
        else:
            raise self._error(segment, "CAS outside a claim")

    def _read_moa(self, segment: Segment) -> None:
        self._claim_remarks(segment, range(3, 8))

    def _read_mia(self, segment: Segment) -> None:
        self._claim_remarks(segment, [5, 20, 21, 22, 23])

    def _claim_remarks(self, segment: Segment, positions: range | list[int]) -> None:
        if self.claim is None:
            return
        codes = [segment.get(position) for position in positions]
        self.claim.remark_codes.extend(code for code in codes if code)

    def _read_svc(self, segment: Segment) -> None:
        claim = self.claim
        if claim is None:
            raise self._error(segment, "SVC outside a claim")
        qualifier, code, modifiers = self._procedure(segment.get(1))
        self.line = ServiceLine(
            line_number=len(claim.lines) + 1,
            qualifier=qualifier,
            code=code,
            modifiers=modifiers,
            charge_amount=self._amount(segment, 2, "SVC02"),
            paid_amount=self._amount(segment, 3, "SVC03"),
            units=self._units(segment),
            segment_index=segment.index,
        )
        if segment.get(6):
            original = self._procedure(segment.get(6))
            self.line.submitted_qualifier, self.line.submitted_code = original[:2]
            self.line.submitted_modifiers = original[2]
        claim.lines.append(self.line)

    def _read_ref(self, segment: Segment) -> None:
        if self.line is not None and segment.get(1) == "6R":
            self.line.line_control_number = segment.get(2) or None

    def _read_amt(self, segment: Segment) -> None:
        if self.line is not None and segment.get(1) == "B6":
            self.line.allowed_amount = self._amount(segment, 2, "AMT02")

    def _read_lq(self, segment: Segment) -> None:
        if self.line is not None and segment.get(1) == "HE" and segment.get(2):
            self.line.rarcs.append(segment.get(2))

    def _read_plb(self, segment: Segment) -> None:
        transaction = self._current_transaction(segment)
        provider_id = segment.get(1)
        period = self._date(segment, 2, "PLB02")
        for pair in range(_PLB_PAIRS):
            position = 3 + 2 * pair
            if not segment.get(position):
                continue
            composite = segment.get(position)
            reason, _, reference = composite.partition(self.delimiters.component)
            amount = self._amount(segment, position + 1, f"PLB{position + 1:02d}")
            transaction.provider_adjustments.append(
                ProviderAdjustment(
                    provider_id, period, reason, reference or None, amount
                )
            )
        self.claim = self.line = None

    def _procedure(self, composite: str) -> tuple[str, str, list[str]]:
        separator = self.delimiters.component
        if separator not in composite:
            # Some senders declare one component separator in ISA16 and use another.
            found = re.match(r"^[A-Z0-9]{2}([^A-Za-z0-9 ])", composite)
            separator = found.group(1) if found else separator
        parts = composite.split(separator)
        qualifier = parts[0]
        code = parts[1] if len(parts) > 1 else ""
        modifiers = [part for part in parts[2:6] if part]
        return qualifier, code, modifiers

    def _amount(self, segment: Segment, position: int, name: str) -> Decimal:
        value = segment.get(position).strip()
        if not value:
            return Decimal("0.00")
        if not _NUMBER.match(value):
            raise self._error(segment, f"{name} is not an amount: {value[:20]!r}")
        return Decimal(value).quantize(CENT)

    def _units(self, segment: Segment) -> Decimal:
        # SVC05 may be left out when one unit was paid.
        units = self._optional_number(segment, 5)
        return Decimal("1") if units is None else units

    def _optional_number(self, segment: Segment, position: int) -> Decimal | None:
        value = segment.get(position).strip()
        if not value:
            return None
        if not _NUMBER.match(value):
            name = f"{segment.segment_id}{position:02d}"
            raise self._error(segment, f"{name} is not a number: {value[:20]!r}")
        return Decimal(value)

    def _date(self, segment: Segment, position: int, name: str) -> date | None:
        value = segment.get(position).strip()
        if not value:
            return None
        if not _DATE.match(value):
            raise self._error(segment, f"{name} is not a CCYYMMDD date: {value[:20]!r}")
        try:
            return date(int(value[:4]), int(value[4:6]), int(value[6:]))
        except ValueError:
            # Masked files turn dates into 99999999: keep reading, date unknown.
            return None

    def _current_transaction(self, segment: Segment) -> Transaction:
        if self.transaction is None:
            raise self._error(segment, "segment outside an ST/SE transaction")
        return self.transaction

    def _error(self, segment: Segment, reason: str) -> X12Error:
        return X12Error(
            self.file_name,
            reason,
            segment_index=segment.index,
            segment_id=segment.segment_id,
        )


def parse_835(data: bytes, *, file_name: str) -> Remittance:
    """Parse an 835 interchange (or a bare ST..SE transaction) into a Remittance.

    Args:
        data: the file's bytes.
        file_name: the name used in the remittance and in error messages.

    Returns:
        The remittance with every transaction, claim, service line and PLB.

    Raises:
        X12Error: when the file cannot be tokenized, holds no 835 transaction, or
            carries a value that is not a number or date where one must be.
    """
    delimiters, segments = tokenize(data, file_name=file_name)

    reader = _Reader(file_name, delimiters)
    for segment in segments:
        reader.read(segment)
    if not reader.transactions:
        raise X12Error(file_name, "no 835 transaction (ST*835) found")

    # A file without SE (cut short) still gets the DTM*405 payment date.
    # Known shortcoming: nothing records that such a file was truncated.
    last = reader.transactions[-1]
    if last.payment_date is None:
        last.payment_date = reader.header_date

    remittance = Remittance(
        file_name=file_name,
        file_sha256=hashlib.sha256(data).hexdigest(),
        version=reader.version,
        delimiters=delimiters,
        transactions=reader.transactions,
    )
    logger.info(
        "parsed %s: %d transactions, %d claims",
        file_name,
        len(remittance.transactions),
        sum(len(t.claims) for t in remittance.transactions),
    )
    return remittance


def balance_findings(remittance: Remittance) -> list[Finding]:
    """Check the 835 balancing rules and return every one that fails.

    Rules: a line's charge equals its paid amount plus its adjustments; a claim's
    charge equals its paid amount plus claim and line adjustments; BPR02 equals the
    sum of CLP04 minus the PLB amounts.

    Args:
        remittance: a parsed remittance.

    Returns:
        One Finding per broken rule, in file order; empty when all balance.
    """
    findings: list[Finding] = []
    for number, transaction in enumerate(remittance.transactions, start=1):
        for claim in transaction.claims:
            findings.extend(_claim_findings(number, claim))
        findings.extend(_transaction_findings(number, transaction))
    return findings


def _claim_findings(number: int, claim: Claim) -> list[Finding]:
    findings = []
    line_adjusted = Decimal("0.00")
    for line in claim.lines:
        adjusted = _total(line.adjustments)
        line_adjusted += adjusted
        if line.charge_amount != line.paid_amount + adjusted:
            findings.append(
                Finding(
                    "line_balance",
                    number,
                    claim.claim_id,
                    line.line_number,
                    line.charge_amount,
                    line.paid_amount + adjusted,
                )
            )

    actual = claim.paid_amount + _total(claim.adjustments) + line_adjusted
    if claim.charge_amount != actual:
        findings.append(
            Finding(
                "claim_balance",
                number,
                claim.claim_id,
                None,
                claim.charge_amount,
                actual,
            )
        )
    return findings


def _transaction_findings(number: int, transaction: Transaction) -> list[Finding]:
    paid = sum((claim.paid_amount for claim in transaction.claims), Decimal("0.00"))
    provider = sum(
        (plb.amount for plb in transaction.provider_adjustments), Decimal("0.00")
    )
    if transaction.total_paid_amount == paid - provider:
        return []
    return [
        Finding(
            "transaction_balance",
            number,
            None,
            None,
            transaction.total_paid_amount,
            paid - provider,
        )
    ]


def _total(adjustments: list[Adjustment]) -> Decimal:
    return sum((adjustment.amount for adjustment in adjustments), Decimal("0.00"))


def validate_with_pyx12(path: Path | str) -> list[str]:
    """Validate a 5010 file with pyx12 and return its error messages.

    pyx12 logs a "Failed to create 999 response" error on every 835 (see STACK.md);
    that message is dropped.

    Args:
        path: an X12 file with an ISA envelope.

    Returns:
        The validator's error messages, empty when the file is valid.
    """
    import pyx12.error_handler
    import pyx12.params
    import pyx12.x12n_document

    collector = _ErrorCollector()
    pyx12_logger = logging.getLogger("pyx12")
    pyx12_logger.addHandler(collector)
    try:
        pyx12.x12n_document.x12n_document(
            pyx12.params.params(), str(path), io.StringIO(), None, None
        )
    finally:
        pyx12_logger.removeHandler(collector)
    return [message for message in collector.messages if _PYX12_SPURIOUS not in message]


class _ErrorCollector(logging.Handler):
    """Keeps the error messages pyx12 logs while it validates one file."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def payment_dates(data: bytes, *, file_name: str) -> set[date]:
    """The payment dates of an 835's transactions; none when it cannot be read.

    Used to decide which daily partitions a folder of remittances feeds.
    """
    try:
        remittance = parse_835(data, file_name=file_name)
    except X12Error:
        return set()
    return {t.payment_date for t in remittance.transactions if t.payment_date}
