"""Character error rate for comparing OCR output with the text that was rendered."""

from __future__ import annotations

from rapidfuzz.distance import Levenshtein


def character_error_rate(found: str, expected: str) -> float:
    """Edits needed to turn `found` into `expected`, per expected character.

    Whitespace is folded first: line wrapping on the rendered page is not an error.
    """
    found, expected = " ".join(found.split()), " ".join(expected.split())
    return Levenshtein.distance(found, expected) / max(len(expected), 1)
