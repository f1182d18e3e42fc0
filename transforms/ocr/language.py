"""Tell English notes from others cheaply, by their share of English stopwords."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

RULES_PATH = Path(__file__).parent / "rules" / "english_stopwords.yaml"
WORD = re.compile(r"[^\W\d_]+")


@dataclass(frozen=True)
class LanguageRule:
    """The stopword rule, read from `rules/english_stopwords.yaml`.

    Attributes:
        stopwords: lower-case English function words.
        min_words: texts with fewer words are not judged (taken as English).
        min_stopword_share: the share of stopwords an English text reaches.
    """

    stopwords: frozenset[str]
    min_words: int
    min_stopword_share: float


@functools.cache
def english_rule() -> LanguageRule:
    """The rule kept as data beside this module."""
    raw = yaml.safe_load(RULES_PATH.read_text(encoding="utf-8"))
    return LanguageRule(
        stopwords=frozenset(raw["stopwords"].lower().split()),
        min_words=int(raw["min_words"]),
        min_stopword_share=float(raw["min_stopword_share"]),
    )


def stopword_share(text: str, rule: LanguageRule | None = None) -> float | None:
    """The share of the text's words that are English stopwords.

    Returns:
        The share, or None when the text has too few words to judge.
    """
    rule = rule or english_rule()
    words = [word.lower() for word in WORD.findall(text)]
    if len(words) < rule.min_words:
        return None
    return sum(1 for word in words if word in rule.stopwords) / len(words)


def is_probably_english(text: str, rule: LanguageRule | None = None) -> bool:
    """Whether the text reads as English; too short a text counts as English."""
    rule = rule or english_rule()
    share = stopword_share(text, rule)
    return share is None or share >= rule.min_stopword_share
