"""Write X12 5010 835 interchanges: element formatting and the envelope."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from cptflow.transforms.x12.tokenizer import Delimiters

IMPLEMENTATION_GUIDE = "005010X221A1"
DELIMITERS = Delimiters(element="*", component=":", segment="~", repetition="^")
_INTERCHANGE_TIME = "1200"
_TRANSACTION_CONTROL = "0001"


def format_amount(amount: Decimal) -> str:
    """Write an amount the X12 way: no trailing zeros, no trailing point."""
    text = f"{amount.quantize(Decimal('0.01')):f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def format_quantity(quantity: Decimal | int) -> str:
    """Write a quantity (units) without needless decimals."""
    return format_amount(Decimal(quantity))


def format_date(value: date) -> str:
    """Write a date as CCYYMMDD."""
    return value.strftime("%Y%m%d")


def interchange(
    transaction: Sequence[Sequence[str]],
    *,
    sender_id: str,
    receiver_id: str,
    control_number: int,
    created: date,
) -> str:
    """Wrap one transaction's segments in ST/SE, GS/GE and ISA/IEA.

    Args:
        transaction: the segments between ST and SE, each as [id, element, ...].
        sender_id: ISA06/GS02, the payer's identifier.
        receiver_id: ISA08/GS03, the payee's identifier.
        control_number: interchange and group control number (1 to 999999999).
        created: the interchange date.

    Returns:
        The interchange text, one segment per line.
    """
    isa_control = f"{control_number:09d}"
    body = [["ST", "835", _TRANSACTION_CONTROL], *transaction]
    body.append(["SE", str(len(body) + 1), _TRANSACTION_CONTROL])

    segments = [
        _isa(sender_id, receiver_id, isa_control, created),
        [
            "GS", "HP", sender_id, receiver_id, format_date(created),
            _INTERCHANGE_TIME, str(control_number), "X", IMPLEMENTATION_GUIDE,
        ],
        *body,
        ["GE", "1", str(control_number)],
        ["IEA", "1", isa_control],
    ]  # fmt: skip
    return render(segments)


def _isa(sender_id: str, receiver_id: str, control: str, created: date) -> list[str]:
    # ISA is fixed width: every element is padded to its exact length.
    return [
        "ISA", "00", " " * 10, "00", " " * 10,
        "ZZ", sender_id.ljust(15)[:15], "ZZ", receiver_id.ljust(15)[:15],
        created.strftime("%y%m%d"), _INTERCHANGE_TIME, DELIMITERS.repetition or "^",
        "00501", control, "0", "P", DELIMITERS.component,
    ]  # fmt: skip


def render(segments: Sequence[Sequence[str]]) -> str:
    """Join segments with the writer's delimiters, dropping trailing empty elements."""
    lines = []
    for segment in segments:
        elements = list(segment)
        if elements[0] != "ISA":
            while elements and elements[-1] == "":
                elements.pop()
        lines.append(DELIMITERS.element.join(elements) + DELIMITERS.segment)
    return "\n".join(lines) + "\n"
