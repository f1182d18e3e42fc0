"""The medspacy pipeline, built once per process from the rule files in rules/."""

from __future__ import annotations

import functools
import json
import logging
from pathlib import Path
from typing import Any

import spacy
from medspacy.context import ConText, ConTextRule
from medspacy.ner import TargetMatcher, TargetRule
from medspacy.section_detection import Sectionizer, SectionRule
from spacy.language import Language
from spacy.tokens import Span

logger = logging.getLogger(__name__)

RULES_DIR = Path(__file__).resolve().parent / "rules"

# Modifier categories of ConText and the span attribute each one sets; the last
# is ours: a service done by someone other than the note's author.
CONTEXT_ATTRIBUTES: dict[str, dict[str, bool]] = {
    "NEGATED_EXISTENCE": {"is_negated": True},
    "POSSIBLE_EXISTENCE": {"is_uncertain": True},
    "HISTORICAL": {"is_historical": True},
    "HYPOTHETICAL": {"is_hypothetical": True},
    "FAMILY": {"is_family": True},
    "OTHER_PROVIDER": {"is_other_provider": True},
}

# Line breaks end a sentence too: notes put one header or list item per line.
SENTENCE_ENDS = [".", "!", "?", "\n", "\n\n", "\n\n\n", ";"]


def load_rule_file(name: str) -> dict[str, Any]:
    """Read one JSON rule file from the rules folder.

    Args:
        name: file name inside transforms/nlp/rules/.

    Returns:
        The parsed JSON object.
    """
    with (RULES_DIR / name).open(encoding="utf-8") as handle:
        return json.load(handle)


def _silence_pyrush() -> None:
    # PyRuSH logs every sentence at debug level when medspacy imports it.
    for name in ("PyRuSH", "PyRuSH.PyRuSHSentencizer", "pyrush"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
        logging.getLogger(name).propagate = False


def _register_span_attributes() -> None:
    for attributes in CONTEXT_ATTRIBUTES.values():
        for attribute in attributes:
            if not Span.has_extension(attribute):
                Span.set_extension(attribute, default=False)


def load_target_rules() -> list[dict[str, Any]]:
    """Every family's target rules, from rules/targets/<family>.json."""
    rules: list[dict[str, Any]] = []
    for path in sorted((RULES_DIR / "targets").glob("*.json")):
        rules.extend(load_rule_file(f"targets/{path.name}")["target_rules"])
    return rules


def _add_target_matcher(nlp: Language) -> None:
    matcher: TargetMatcher = nlp.add_pipe("medspacy_target_matcher")
    matcher.add([TargetRule.from_dict(rule) for rule in load_target_rules()])


def _add_sectionizer(nlp: Language) -> None:
    sectionizer: Sectionizer = nlp.add_pipe(
        "medspacy_sectionizer", config={"rules": None}
    )
    rules = load_rule_file("sections.json")["section_rules"]
    sectionizer.add([SectionRule.from_dict(rule) for rule in rules])


def _add_context(nlp: Language) -> None:
    # A modifier word inside a target ("without" in "with and without contrast")
    # is part of the concept, not a modifier of it.
    context: ConText = nlp.add_pipe(
        "medspacy_context",
        config={"span_attrs": CONTEXT_ATTRIBUTES, "prune_on_target_overlap": True},
    )
    rules = load_rule_file("context.json")["context_rules"]
    context.add([ConTextRule.from_dict(rule) for rule in rules])


@functools.cache
def build_pipeline() -> Language:
    """Build the clinical pipeline once per process.

    spaCy's rule sentencizer stands in for PyRuSH, which is several times slower
    on notes of a few hundred words and gives no better boundaries for ConText.

    Returns:
        A spaCy Language: sentencizer, target matcher, sectionizer and ConText
        (medspacy's default English rules plus ours from rules/context.json).
    """
    _silence_pyrush()
    _register_span_attributes()
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer", config={"punct_chars": SENTENCE_ENDS})
    _add_target_matcher(nlp)
    _add_sectionizer(nlp)
    _add_context(nlp)
    logger.info("clinical pipeline built with components %s", nlp.pipe_names)
    return nlp
