"""The medspacy pipeline, built once per process from the rule files in rules/."""

from __future__ import annotations

import bisect
import functools
import itertools
import json
import logging
from pathlib import Path
from typing import Any

import spacy
from medspacy.context import ConText, ConTextRule
from medspacy.ner import TargetMatcher, TargetRule
from medspacy.section_detection import Section, Sectionizer, SectionRule
from spacy.language import Language
from spacy.tokens import Doc, Span, Token

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

# A token pattern of plain words, each optional or one of a few, is matched as
# phrases: spaCy's Matcher tries every pattern at every token, the phrase
# matcher looks each token up once. Larger expansions stay patterns.
# Known shortcoming: each phrase is a stored Doc, and the 240,000 phrases of a
# few wide vaccine and catheter patterns hold the process near 790 MB; a cap of
# 2048 halves that but costs a quarter of the stage's speed.
MAX_PHRASES_PER_PATTERN = 4096

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


def _token_choices(token: dict[str, Any]) -> list[str | None] | None:
    if set(token) - {"LOWER", "OP"} or token.get("OP") not in (None, "?"):
        return None
    value = token.get("LOWER")
    if isinstance(value, str):
        words: list[str | None] = [value]
    elif isinstance(value, dict) and set(value) == {"IN"}:
        words = list(value["IN"])
    else:
        return None
    return words + [None] if token.get("OP") == "?" else words


def pattern_phrases(pattern: Any) -> list[list[str]] | None:
    """The word sequences a plain token pattern matches, or None if not plain.

    Args:
        pattern: a target rule's `pattern` (a list of token dicts, or a regex).

    Returns:
        Every sequence of lower-case words the pattern accepts, when each token
        is a word or a choice of words, optional or not, and there are at most
        MAX_PHRASES_PER_PATTERN of them; otherwise None.
    """
    if not isinstance(pattern, list):
        return None
    choices = [_token_choices(token) for token in pattern]
    if any(choice is None for choice in choices):
        return None
    count = 1
    for choice in choices:
        count *= len(choice or [])
    if count > MAX_PHRASES_PER_PATTERN:
        return None
    phrases = {
        tuple(word for word in combination if word is not None)
        for combination in itertools.product(*(c or [] for c in choices))
    }
    return [list(words) for words in sorted(phrases) if words]


def compile_target_rules(
    nlp: Language, rules: list[dict[str, Any]]
) -> list[TargetRule]:
    """Turn rule dicts into target rules, plain token patterns into phrases.

    Args:
        nlp: the pipeline whose vocabulary the phrases use.
        rules: target rule dicts from the rule files.

    Returns:
        The rules for the TargetMatcher, same matches, fewer token patterns.
    """
    compiled: list[TargetRule] = []
    for rule in rules:
        phrases = pattern_phrases(rule.get("pattern"))
        if phrases is None:
            compiled.append(TargetRule.from_dict(rule))
            continue
        compiled.extend(
            TargetRule(literal=" ".join(words), category=rule["category"])
            for words in phrases
        )
    return compiled


def _add_target_matcher(nlp: Language) -> None:
    matcher: TargetMatcher = nlp.add_pipe("medspacy_target_matcher")
    matcher.add(compile_target_rules(nlp, load_target_rules()))


def _token_section(token: Token) -> Section | None:
    # The section a token lies in, looked up in the document's section list
    # rather than stored on every token.
    sections = token.doc._.sections
    index = bisect.bisect_right(_section_starts(token.doc), token.i) - 1
    if index < 0:
        return None
    section = sections[index]
    return section if token.i < section.section_span[1] else None


def _section_starts(doc: Doc) -> list[int]:
    return [section.section_span[0] for section in doc._.sections]


@Language.factory("cptflow_sectionizer")
class SpanSectionizer(Sectionizer):
    """medspaCy's sectionizer without writing the section onto every token.

    medspaCy assigns `token._.section` token by token, a fifth of the pipeline's
    time on a 500-word note; here `Token._.section` is a getter over
    `doc._.sections`, so spans read the same sections at a fraction of the cost.
    Only what the project's rules use is kept: no parent sections, no maximum
    section length, no start- or end-of-line requirement.
    """

    def __call__(self, doc: Doc) -> Doc:
        """Find the section headers and record the sections of a document.

        Args:
            doc: the document, after the target matcher.

        Returns:
            The document with `doc._.sections` set and, as in medspaCy, the
            section's assertion attributes set on the entities.
        """
        # medspaCy keeps its header matcher private to the class.
        matcher = self._Sectionizer__matcher
        matches = matcher(doc)
        doc._.sections = []
        if not matches:
            doc._.sections.append(Section(None, 0, 0, 0, len(doc)))
            return doc
        if matches[0][1] != 0:
            doc._.sections.append(Section(None, 0, 0, 0, matches[0][1]))
        for index, (match_id, start, end) in enumerate(matches):
            rule = matcher.rule_map[self.nlp.vocab.strings[match_id]]
            stop = matches[index + 1][1] if index + 1 < len(matches) else len(doc)
            doc._.sections.append(
                Section(rule.category, start, end, end, stop, None, rule)
            )
        if self.assertion_attributes_mapping:
            self.set_assertion_attributes(doc.ents)
        return doc


def _add_sectionizer(nlp: Language) -> None:
    # medspaCy registers `Token._.section` as a stored value; ours computes it.
    Token.set_extension("section", getter=_token_section, force=True)
    sectionizer: Sectionizer = nlp.add_pipe(
        "cptflow_sectionizer", config={"rules": None}
    )
    rules = load_rule_file("sections.json")["section_rules"]
    sectionizer.add([SectionRule.from_dict(rule) for rule in rules])


def _expanded_rule_dicts(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    expanded: list[dict[str, Any]] = []
    for rule in rules:
        phrases = pattern_phrases(rule.get("pattern"))
        if phrases is None:
            expanded.append(rule)
            continue
        plain = {key: value for key, value in rule.items() if key != "pattern"}
        expanded.extend({**plain, "literal": " ".join(words)} for words in phrases)
    return expanded


def _add_context(nlp: Language) -> None:
    # A modifier word inside a target ("without" in "with and without contrast")
    # is part of the concept, not a modifier of it.
    context: ConText = nlp.add_pipe(
        "medspacy_context",
        config={
            "span_attrs": CONTEXT_ATTRIBUTES,
            "prune_on_target_overlap": True,
            "rules": None,
        },
    )

    # medspaCy's default English rules first, then ours; plain token patterns
    # of both become phrases, as for the targets.
    with open(context.DEFAULT_RULES_FILEPATH, encoding="utf-8") as handle:
        defaults = json.load(handle)["context_rules"]
    ours = load_rule_file("context.json")["context_rules"]
    rules = _expanded_rule_dicts(defaults + ours)
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
