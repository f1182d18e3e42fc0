"""A seeded payer simulator that adjudicates claims and writes 835 remittances."""

from __future__ import annotations

import hashlib
import logging
import random
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from cptflow.transforms.x12.remit835 import CENT, Adjustment
from cptflow.transforms.x12.write835 import (
    format_amount,
    format_date,
    format_quantity,
    interchange,
)

logger = logging.getLogger(__name__)

DEFAULT_RULES_PATH = (
    Path(__file__).resolve().parent / "payer_rules" / "demo_payers.yaml"
)
STATUS_PAID = "1"
STATUS_DENIED = "4"
STATUS_REVERSAL = "22"
CLAIM_FILING_INDICATOR = "12"
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class BundlingPair:
    """A code pair: the component is not paid when billed with the comprehensive."""

    comprehensive: str
    component: str
    modifier_bypass: tuple[str, ...] = ()


@dataclass(frozen=True)
class PolicyChange:
    """A payer policy that starts on a date: matching lines are denied from then.

    Attributes:
        effective_from: the first payment date the payer applies it on.
        cpt_prefixes: the codes it covers (a code matches when it starts so).
        carc: the CO reason the payer denies with.
        rarc: the remark it adds, if any.
    """

    effective_from: date
    cpt_prefixes: tuple[str, ...]
    carc: str
    rarc: str | None = None

    def applies(self, cpt_code: str, payment_date: date) -> bool:
        """Whether a line of `cpt_code` paid on `payment_date` is denied by it."""
        return payment_date >= self.effective_from and cpt_code.startswith(
            self.cpt_prefixes
        )


@dataclass(frozen=True)
class ContractRate:
    """A contracted allowed amount per unit for one code, over a date range.

    Attributes:
        cpt_code: the code priced.
        allowed_amount: allowed per unit, instead of the allowed fraction.
        effective_from: first payment date (None: always).
        effective_to: last payment date (None: open-ended).
        reprocess_earlier: when the rate starts, claims the payer paid at another
            rate are reversed and paid again at this one.
    """

    cpt_code: str
    allowed_amount: Decimal
    effective_from: date | None = None
    effective_to: date | None = None
    reprocess_earlier: bool = False

    def is_effective_on(self, day: date) -> bool:
        """Whether the rate prices lines paid on `day`."""
        starts_ok = self.effective_from is None or self.effective_from <= day
        return starts_ok and (self.effective_to is None or day <= self.effective_to)


@dataclass(frozen=True)
class PayerPolicy:
    """One payer's figures and policies, already merged with the defaults."""

    payer_id: str
    payer_name: str
    allowed_fraction: Decimal
    copay_amount: Decimal
    copay_cpt_prefixes: tuple[str, ...]
    deductible_rate: float
    deductible_amount: Decimal
    coinsurance_rate: float
    coinsurance_fraction: Decimal
    eligibility_denial_rate: float
    eligibility_carcs: tuple[str, ...]
    missing_information_rate: float
    missing_information_rarcs: tuple[str, ...]
    prior_authorization: dict[str, Any] | None = None
    medical_necessity: dict[str, Any] | None = None
    policy_changes: tuple[PolicyChange, ...] = ()
    contract_rates: tuple[ContractRate, ...] = ()

    def contract_rate(self, cpt_code: str, payment_date: date) -> ContractRate | None:
        """The contracted rate of `cpt_code` on `payment_date`, if there is one."""
        for rate in self.contract_rates:
            if rate.cpt_code == cpt_code and rate.is_effective_on(payment_date):
                return rate
        return None


@dataclass(frozen=True)
class PayerRules:
    """Every rule the simulator applies, read from a YAML file."""

    version: str
    effective_from: date | None
    effective_to: date | None
    defaults: dict[str, Any]
    payers: dict[str, dict[str, Any]]
    bundling_pairs: tuple[BundlingPair, ...]
    units_caps: dict[str, int]

    def is_effective_on(self, day: date) -> bool:
        """Whether the rules apply on `day` (open-ended dates always match)."""
        starts_ok = self.effective_from is None or self.effective_from <= day
        return starts_ok and (self.effective_to is None or day <= self.effective_to)

    def policy(self, payer_id: str | None) -> PayerPolicy:
        """Return the policy of `payer_id`, or the defaults for an unknown payer."""
        merged = {**self.defaults, **self.payers.get(payer_id or "", {})}
        return PayerPolicy(
            payer_id=payer_id or "",
            payer_name=str(merged["payer_name"]),
            allowed_fraction=Decimal(str(merged["allowed_fraction"])),
            copay_amount=Decimal(str(merged["copay_amount"])),
            copay_cpt_prefixes=tuple(merged["copay_cpt_prefixes"]),
            deductible_rate=float(merged["deductible_rate"]),
            deductible_amount=Decimal(str(merged["deductible_amount"])),
            coinsurance_rate=float(merged["coinsurance_rate"]),
            coinsurance_fraction=Decimal(str(merged["coinsurance_fraction"])),
            eligibility_denial_rate=float(merged["eligibility_denial_rate"]),
            eligibility_carcs=tuple(merged["eligibility_carcs"]),
            missing_information_rate=float(merged["missing_information_rate"]),
            missing_information_rarcs=tuple(merged["missing_information_rarcs"]),
            prior_authorization=merged.get("prior_authorization"),
            medical_necessity=merged.get("medical_necessity"),
            policy_changes=tuple(
                PolicyChange(
                    effective_from=change["effective_from"],
                    cpt_prefixes=tuple(str(p) for p in change["cpt_prefixes"]),
                    carc=str(change["carc"]),
                    rarc=change.get("rarc"),
                )
                for change in merged.get("policy_changes") or []
            ),
            contract_rates=tuple(
                ContractRate(
                    cpt_code=str(rate["cpt_code"]),
                    allowed_amount=Decimal(str(rate["allowed_amount"])),
                    effective_from=rate.get("effective_from"),
                    effective_to=rate.get("effective_to"),
                    reprocess_earlier=bool(rate.get("reprocess_earlier", False)),
                )
                for rate in merged.get("contract_rates") or []
            ),
        )


@dataclass
class AdjudicatedLine:
    """One adjudicated service line, ready to become an 835 SVC loop."""

    claim_line_number: int
    line_control_number: str
    cpt_code: str
    modifiers: list[str]
    units: Decimal
    charge_amount: Decimal
    allowed_amount: Decimal
    paid_amount: Decimal
    date_of_service: date | None
    adjustments: list[Adjustment] = field(default_factory=list)
    rarcs: list[str] = field(default_factory=list)


@dataclass
class AdjudicatedClaim:
    """One adjudicated claim, ready to become an 835 CLP loop."""

    claim_id: str
    payer_id: str
    patient_id: str
    status_code: str
    charge_amount: Decimal
    paid_amount: Decimal
    patient_responsibility_amount: Decimal
    payer_claim_control_number: str
    date_of_service: date | None
    lines: list[AdjudicatedLine] = field(default_factory=list)


def load_payer_rules(path: Path | str = DEFAULT_RULES_PATH) -> PayerRules:
    """Read payer rules from YAML (see payer_rules/demo_payers.yaml for the shape).

    Args:
        path: the YAML file.

    Returns:
        The parsed rules.
    """
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    pairs = tuple(
        BundlingPair(
            str(pair["comprehensive"]),
            str(pair["component"]),
            tuple(pair.get("modifier_bypass") or ()),
        )
        for pair in raw.get("bundling_pairs") or []
    )
    caps = {str(cap["cpt_code"]): int(cap["max_units"]) for cap in raw["units_caps"]}
    payers = {str(payer["payer_id"]): payer for payer in raw.get("payers") or []}
    return PayerRules(
        version=str(raw["version"]),
        effective_from=raw.get("effective_from"),
        effective_to=raw.get("effective_to"),
        defaults=raw["defaults"],
        payers=payers,
        bundling_pairs=pairs,
        units_caps=caps,
    )


def adjudicate(
    claims: pl.DataFrame,
    claim_lines: pl.DataFrame,
    *,
    payer_rules: PayerRules | None = None,
    seed: int = 7,
    payment_date: date,
) -> list[AdjudicatedClaim]:
    """Adjudicate claims the way the rules say, with seeded random noise.

    Each claim draws from its own generator seeded by `seed` and its claim_id, so a
    claim gets the same outcome whatever else is in the batch. Held claims
    (status `held`) are not sent to the payer and are skipped.

    Args:
        claims: rows of claims.claims.
        claim_lines: rows of claims.claim_lines.
        payer_rules: the rules; the bundled demo rules when None.
        seed: the seed of the noise (eligibility, missing information, cost share).
        payment_date: the payment date; a warning is logged when it falls outside
            the rules' effective dates.

    Returns:
        One AdjudicatedClaim per claim sent, in claim_id order.
    """
    rules = payer_rules or load_payer_rules()
    if not rules.is_effective_on(payment_date):
        logger.warning(
            "payer rules %s not in effect on %s", rules.version, payment_date
        )
    lines_by_claim = claim_lines.sort("claim_id", "claim_line_number").partition_by(
        "claim_id", as_dict=True
    )
    sent = claims
    if "status" in claims.columns:
        sent = claims.filter(pl.col("status").fill_null("ready") != "held")

    adjudicated = []
    for claim in sent.sort("claim_id").iter_rows(named=True):
        lines = lines_by_claim.get((claim["claim_id"],))
        rows = lines.to_dicts() if lines is not None else []
        adjudicated.append(_adjudicate_claim(claim, rows, rules, seed, payment_date))
    logger.info(
        "adjudicated %d claims for payment on %s (rules %s)",
        len(adjudicated),
        payment_date,
        rules.version,
    )
    return adjudicated


def _claim_random(seed: int, claim_id: str) -> random.Random:
    digest = hashlib.sha256(f"{seed}:{claim_id}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _adjudicate_claim(
    claim: dict[str, Any],
    rows: list[dict[str, Any]],
    rules: PayerRules,
    seed: int,
    payment_date: date,
) -> AdjudicatedClaim:
    rng = _claim_random(seed, claim["claim_id"])
    policy = rules.policy(claim.get("payer_id"))
    lines = [_line_from_row(row) for row in rows]

    ineligible = rng.random() < policy.eligibility_denial_rate
    eligibility_carc = rng.choice(policy.eligibility_carcs)
    codes = {line.cpt_code for line in lines}
    diagnoses = _diagnoses(claim, rows)
    for line in lines:
        if ineligible:
            _deny(line, eligibility_carc, None)
        else:
            _apply_line_rules(line, codes, diagnoses, policy, rules, rng, payment_date)

    _apply_patient_share([ln for ln in lines if ln.allowed_amount > 0], policy, rng)
    return _claim_totals(claim, lines, rng)


def _line_from_row(row: dict[str, Any]) -> AdjudicatedLine:
    charge = Decimal(str(row["charge_amount"])).quantize(CENT)
    return AdjudicatedLine(
        claim_line_number=int(row["claim_line_number"]),
        line_control_number=str(row["line_control_number"]),
        cpt_code=str(row["cpt_code"]),
        modifiers=list(row.get("modifiers") or []),
        units=Decimal(str(row.get("units") or 1)),
        charge_amount=charge,
        allowed_amount=ZERO,
        paid_amount=ZERO,
        date_of_service=row.get("date_of_service"),
    )


def _diagnoses(claim: dict[str, Any], rows: list[dict[str, Any]]) -> set[str]:
    codes = set(claim.get("diagnosis_codes") or [])
    for row in rows:
        codes.update(row.get("icd10cm_codes") or [])
    return {code.replace(".", "") for code in codes}


def _deny(line: AdjudicatedLine, carc: str, rarc: str | None) -> None:
    line.adjustments = [Adjustment("CO", carc, line.charge_amount)]
    line.allowed_amount = line.paid_amount = ZERO
    line.rarcs = [rarc] if rarc else []


def _apply_line_rules(
    line: AdjudicatedLine,
    codes: set[str],
    diagnoses: set[str],
    policy: PayerPolicy,
    rules: PayerRules,
    rng: random.Random,
    payment_date: date,
) -> None:
    # One draw per line whatever the outcome, so later lines keep their noise.
    is_missing_information = rng.random() < policy.missing_information_rate
    missing_rarc = rng.choice(policy.missing_information_rarcs)

    authorization = policy.prior_authorization
    necessity = policy.medical_necessity
    change = next(
        (c for c in policy.policy_changes if c.applies(line.cpt_code, payment_date)),
        None,
    )
    if change is not None:
        _deny(line, change.carc, change.rarc)
    elif authorization and line.cpt_code.startswith(
        tuple(authorization["cpt_prefixes"])
    ):
        _deny(line, "197", authorization.get("rarc"))
    elif necessity and _lacks_diagnosis(line.cpt_code, diagnoses, necessity):
        _deny(line, "50", necessity.get("rarc"))
    elif _is_bundled(line, codes, rules.bundling_pairs):
        _deny(line, "97", "M15")
    elif is_missing_information:
        _deny(line, "16", missing_rarc)
    else:
        rate = policy.contract_rate(line.cpt_code, payment_date)
        _price(line, policy, rules.units_caps.get(line.cpt_code), rate)


def _lacks_diagnosis(
    cpt_code: str, diagnoses: set[str], necessity: dict[str, Any]
) -> bool:
    if cpt_code not in necessity["cpt_codes"]:
        return False
    prefixes = tuple(necessity["icd10cm_prefixes"])
    return not any(code.startswith(prefixes) for code in diagnoses)


def _is_bundled(
    line: AdjudicatedLine, codes: set[str], pairs: tuple[BundlingPair, ...]
) -> bool:
    for pair in pairs:
        if line.cpt_code != pair.component or pair.comprehensive not in codes:
            continue
        if not set(line.modifiers) & set(pair.modifier_bypass):
            return True
    return False


def _price(
    line: AdjudicatedLine,
    policy: PayerPolicy,
    cap: int | None,
    rate: ContractRate | None = None,
) -> None:
    priced_charge = line.charge_amount
    priced_units = line.units
    if cap is not None and line.units > cap:
        # Units above the cap are denied at the line's charge per unit.
        per_unit = line.charge_amount / line.units
        denied = (per_unit * (line.units - cap)).quantize(CENT)
        line.adjustments.append(Adjustment("CO", "151", denied, line.units - cap))
        line.rarcs.append("N362")
        priced_charge -= denied
        priced_units = Decimal(cap)

    if rate is not None:
        contracted = (rate.allowed_amount * priced_units).quantize(CENT)
        line.allowed_amount = min(contracted, priced_charge)
    else:
        line.allowed_amount = (priced_charge * policy.allowed_fraction).quantize(CENT)
    line.paid_amount = line.allowed_amount
    reduction = priced_charge - line.allowed_amount
    if reduction > 0:
        line.adjustments.append(Adjustment("CO", "45", reduction))


def _apply_patient_share(
    lines: list[AdjudicatedLine], policy: PayerPolicy, rng: random.Random
) -> None:
    has_deductible = rng.random() < policy.deductible_rate
    has_coinsurance = rng.random() < policy.coinsurance_rate
    copay_due = policy.copay_amount
    for line in lines:
        if copay_due > 0 and line.cpt_code.startswith(policy.copay_cpt_prefixes):
            copay = min(copay_due, line.paid_amount)
            _patient_pays(line, "3", copay)
            copay_due = ZERO
        elif has_deductible:
            _patient_pays(line, "1", min(policy.deductible_amount, line.paid_amount))
            has_deductible = False
        elif has_coinsurance:
            share = (line.paid_amount * policy.coinsurance_fraction).quantize(CENT)
            _patient_pays(line, "2", share)


def _patient_pays(line: AdjudicatedLine, carc: str, amount: Decimal) -> None:
    if amount <= 0:
        return
    line.adjustments.append(Adjustment("PR", carc, amount))
    line.paid_amount -= amount


def _claim_totals(
    claim: dict[str, Any], lines: list[AdjudicatedLine], rng: random.Random
) -> AdjudicatedClaim:
    patient = sum(
        (a.amount for line in lines for a in line.adjustments if a.group_code == "PR"),
        ZERO,
    )
    paid = sum((line.paid_amount for line in lines), ZERO)
    is_denied = all(line.allowed_amount == 0 for line in lines)
    return AdjudicatedClaim(
        claim_id=str(claim["claim_id"]),
        payer_id=str(claim.get("payer_id") or ""),
        patient_id=str(claim.get("patient_id") or "UNKNOWN"),
        status_code=STATUS_DENIED if is_denied else STATUS_PAID,
        charge_amount=sum((line.charge_amount for line in lines), ZERO),
        paid_amount=paid,
        patient_responsibility_amount=patient,
        payer_claim_control_number=f"{rng.randrange(10**13):013d}",
        date_of_service=claim.get("date_of_service"),
        lines=lines,
    )


def write_835(
    adjudicated: list[AdjudicatedClaim],
    *,
    payer_name: str,
    payer_id: str,
    payee_name: str,
    payee_npi: str,
    payment_date: date,
    control_number: int,
) -> str:
    """Write adjudicated claims as one 5010 005010X221A1 835 interchange.

    Args:
        adjudicated: claims from `adjudicate`, all paid by this payer.
        payer_name: N1*PR name.
        payer_id: the payer's identifier (ISA06, GS02, N1*PR*XV, TRN03).
        payee_name: N1*PE name.
        payee_npi: the billing provider's NPI (N1*PE*XX, ISA08).
        payment_date: BPR16 and DTM*405.
        control_number: ISA13/GS06 control number and TRN02 trace number.

    Returns:
        The 835 text, one segment per line.
    """
    contact = load_payer_rules().defaults["payer_contact"]
    total = sum((claim.paid_amount for claim in adjudicated), ZERO)
    segments = [
        _bpr(total, payment_date),
        ["TRN", "1", str(control_number), "1" + _digits(payer_id, 9)],
        ["DTM", "405", format_date(payment_date)],
        ["N1", "PR", payer_name, "XV", payer_id],
        ["N3", contact["address"]],
        ["N4", contact["city"], contact["state"], contact["zip"]],
        ["PER", "BL", contact["name"], "TE", contact["phone"]],
        ["N1", "PE", payee_name, "XX", payee_npi],
        ["LX", "1"],
    ]
    for claim in adjudicated:
        segments.extend(_claim_segments(claim))

    logger.info("wrote 835 %s: %d claims", control_number, len(adjudicated))
    return interchange(
        segments,
        sender_id=payer_id,
        receiver_id=payee_npi,
        control_number=control_number,
        created=payment_date,
    )


def _digits(value: str, width: int) -> str:
    digits = "".join(char for char in value if char.isdigit())
    return digits.zfill(width)[-width:]


def _bpr(total: Decimal, payment_date: date) -> list[str]:
    # A zero-pay 835 is an advice only (H / NON); otherwise a check.
    handling, method = ("I", "CHK") if total > 0 else ("H", "NON")
    return [
        "BPR", handling, format_amount(total), "C", method,
        *([""] * 11), format_date(payment_date),
    ]  # fmt: skip


def _claim_segments(claim: AdjudicatedClaim) -> list[list[str]]:
    segments = [
        [
            "CLP", claim.claim_id, claim.status_code,
            format_amount(claim.charge_amount), format_amount(claim.paid_amount),
            format_amount(claim.patient_responsibility_amount),
            CLAIM_FILING_INDICATOR, claim.payer_claim_control_number,
        ],
        ["NM1", "QC", "1", "", "", "", "", "", "MI", claim.patient_id],
    ]  # fmt: skip
    if claim.date_of_service is not None:
        segments.append(["DTM", "232", format_date(claim.date_of_service)])
    for line in claim.lines:
        segments.extend(_line_segments(line))
    return segments


def _line_segments(line: AdjudicatedLine) -> list[list[str]]:
    procedure = ":".join(["HC", line.cpt_code, *line.modifiers[:4]])
    segments = [
        [
            "SVC", procedure, format_amount(line.charge_amount),
            format_amount(line.paid_amount), "", format_quantity(line.units),
        ]
    ]  # fmt: skip
    if line.date_of_service is not None:
        segments.append(["DTM", "472", format_date(line.date_of_service)])
    segments.extend(_cas_segments(line.adjustments))
    segments.append(["REF", "6R", line.line_control_number])
    if line.allowed_amount > 0:
        segments.append(["AMT", "B6", format_amount(line.allowed_amount)])
    segments.extend(["LQ", "HE", rarc] for rarc in line.rarcs)
    return segments


def _cas_segments(adjustments: list[Adjustment]) -> list[list[str]]:
    # One CAS per group code, up to six reason triples each.
    segments: list[list[str]] = []
    for group in dict.fromkeys(a.group_code for a in adjustments):
        triples = [a for a in adjustments if a.group_code == group]
        for start in range(0, len(triples), 6):
            segment = ["CAS", group]
            for adjustment in triples[start : start + 6]:
                quantity = adjustment.quantity
                segment += [
                    adjustment.carc_code,
                    format_amount(adjustment.amount),
                    "" if quantity is None else format_quantity(quantity),
                ]
            segments.append(segment)
    return segments


def reversal_of(claim: AdjudicatedClaim) -> AdjudicatedClaim:
    """The claim that takes `claim`'s payment back: CLP02 22, every figure negated.

    It keeps the original's payer claim control number (CLP07), which is how the
    posting finds the payment it reverses.
    """
    return replace(
        claim,
        status_code=STATUS_REVERSAL,
        charge_amount=-claim.charge_amount,
        paid_amount=-claim.paid_amount,
        patient_responsibility_amount=-claim.patient_responsibility_amount,
        lines=[
            replace(
                line,
                units=-line.units,
                charge_amount=-line.charge_amount,
                allowed_amount=-line.allowed_amount,
                paid_amount=-line.paid_amount,
                adjustments=[
                    Adjustment(
                        a.group_code,
                        a.carc_code,
                        -a.amount,
                        None if a.quantity is None else -a.quantity,
                    )
                    for a in line.adjustments
                ],
                rarcs=list(line.rarcs),
            )
            for line in claim.lines
        ],
    )


@dataclass(frozen=True)
class PaymentRun:
    """The claims a payer adjudicates on one payment date."""

    payment_date: date
    claims: pl.DataFrame
    claim_lines: pl.DataFrame


@dataclass
class _Paid:
    """What the payer last paid on a claim, to reprocess it when a rate changes."""

    claim: dict[str, Any]
    rows: list[dict[str, Any]]
    adjudicated: AdjudicatedClaim
    payment_date: date


def adjudicate_runs_to_files(
    runs: list[PaymentRun],
    *,
    folder: Path,
    seed: int = 7,
    first_control_number: int = 1001,
    payer_rules: PayerRules | None = None,
) -> list[Path]:
    """Adjudicate several payment dates in order and write their 835 files.

    On each date the payer adjudicates the claims due then under the rules in force
    that day. When a contract rate marked `reprocess_earlier` starts, every claim
    the payer paid earlier at another rate for that code is reprocessed in the same
    run: a reversal (CLP02 22, same CLP07) followed by the claim paid again under
    the new rate (a new CLP07). A run whose reversals exceed its new money would
    need a PLB offset, which is not written (known shortcoming).

    Args:
        runs: the payment dates with their claims and claim lines.
        folder: where the files go (created when missing).
        seed: the seed of the noise, as in `adjudicate`.
        first_control_number: the first interchange control number; each file
            takes the next.
        payer_rules: the rules; the bundled demo rules when None.

    Returns:
        The files written, named `835_<payer>_<control number>.txt`.
    """
    rules = payer_rules or load_payer_rules()
    folder.mkdir(parents=True, exist_ok=True)
    paid: dict[str, _Paid] = {}
    written: list[Path] = []
    control_number = first_control_number
    for run in sorted(runs, key=lambda r: r.payment_date):
        if not rules.is_effective_on(run.payment_date):
            logger.warning(
                "payer rules %s not in effect on %s", rules.version, run.payment_date
            )
        groups = _reprocessed(paid, rules, seed, run.payment_date)
        for claim, rows in _claims_due(run):
            adjudicated = _adjudicate_claim(claim, rows, rules, seed, run.payment_date)
            paid[adjudicated.claim_id] = _Paid(
                claim, rows, adjudicated, run.payment_date
            )
            groups.setdefault(_group_key(claim), []).append(adjudicated)
        for (payer_id, billing_npi), adjudicated in groups.items():
            path = _write_file(
                folder,
                adjudicated,
                rules=rules,
                payer_id=payer_id,
                billing_npi=billing_npi,
                payment_date=run.payment_date,
                control_number=control_number,
            )
            written.append(path)
            control_number += 1
    return written


def _claims_due(run: PaymentRun) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    sent = run.claims
    if "status" in sent.columns:
        sent = sent.filter(pl.col("status").fill_null("ready") != "held")
    lines = run.claim_lines.sort("claim_id", "claim_line_number").partition_by(
        "claim_id", as_dict=True
    )
    due = []
    for claim in sent.sort("claim_id").iter_rows(named=True):
        frame = lines.get((claim["claim_id"],))
        due.append((claim, frame.to_dicts() if frame is not None else []))
    return due


def _group_key(claim: dict[str, Any]) -> tuple[str, str]:
    return str(claim.get("payer_id") or ""), str(claim.get("billing_npi") or "")


def _reprocessed(
    paid: dict[str, _Paid], rules: PayerRules, seed: int, payment_date: date
) -> dict[tuple[str, str], list[AdjudicatedClaim]]:
    """Reversal and new payment of each earlier claim whose rate was corrected."""
    groups: dict[tuple[str, str], list[AdjudicatedClaim]] = {}
    for claim_id, earlier in sorted(paid.items()):
        policy = rules.policy(earlier.claim.get("payer_id"))
        if not _rate_corrected(earlier, policy, payment_date):
            continue
        again = _adjudicate_claim(
            earlier.claim, earlier.rows, rules, seed, payment_date
        )
        again.payer_claim_control_number = _control_number(seed, claim_id, payment_date)
        groups.setdefault(_group_key(earlier.claim), []).extend(
            [reversal_of(earlier.adjudicated), again]
        )
        paid[claim_id] = _Paid(earlier.claim, earlier.rows, again, payment_date)
        logger.info("reprocessing claim %s on %s", claim_id, payment_date)
    return groups


def _rate_corrected(earlier: _Paid, policy: PayerPolicy, payment_date: date) -> bool:
    for line in earlier.adjudicated.lines:
        if line.allowed_amount <= 0:
            continue
        now = policy.contract_rate(line.cpt_code, payment_date)
        if now is None or not now.reprocess_earlier:
            continue
        started = now.effective_from
        if started is None or started <= earlier.payment_date:
            continue
        then = policy.contract_rate(line.cpt_code, earlier.payment_date)
        if then is None or then.allowed_amount != now.allowed_amount:
            return True
    return False


def _control_number(seed: int, claim_id: str, payment_date: date) -> str:
    digest = hashlib.sha256(f"{seed}:{claim_id}:{payment_date}".encode()).digest()
    return f"{int.from_bytes(digest[:8], 'big') % 10**13:013d}"


def _write_file(
    folder: Path,
    adjudicated: list[AdjudicatedClaim],
    *,
    rules: PayerRules,
    payer_id: str,
    billing_npi: str,
    payment_date: date,
    control_number: int,
) -> Path:
    text = write_835(
        adjudicated,
        payer_name=rules.policy(payer_id).payer_name,
        payer_id=payer_id,
        payee_name="DEMO PHYSICIAN GROUP",
        payee_npi=billing_npi,
        payment_date=payment_date,
        control_number=control_number,
    )
    path = folder / f"835_{payer_id}_{control_number}.txt"
    path.write_text(text)
    return path


def adjudicate_to_files(
    claims: pl.DataFrame,
    claim_lines: pl.DataFrame,
    *,
    folder: Path,
    payment_date: date,
    seed: int = 7,
    first_control_number: int = 1001,
) -> list[Path]:
    """Adjudicate claims and write one 835 per payer and billing provider.

    Returns:
        The files written, named `835_<payer>_<control number>.txt`.
    """
    return adjudicate_runs_to_files(
        [PaymentRun(payment_date, claims, claim_lines)],
        folder=folder,
        seed=seed,
        first_control_number=first_control_number,
    )
