"""ICD-10-CM: the code table, and diagnosis codes linked from a note's text."""

from __future__ import annotations

import csv
import datetime as dt
import functools
import gzip
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cptflow.transforms.coding.rules import RULES_DIR, load_yaml

# The CMS code file (April 2026 order file layout), public data, bundled whole so
# that linking works without a loaded reference.
BUNDLED_FILE = (
    Path(__file__).resolve().parents[1]
    / "reference_data"
    / "icd10cm_2026_april_codes.csv.gz"
)

# An ICD-10-CM code as authors write it: letter, two characters, optional dot
# and up to four more characters.
EXPLICIT_CODE = re.compile(r"\b([A-TV-Z][0-9][0-9AB])\.?([0-9A-Z]{1,4})?\b")
LIST_ITEM = re.compile(r"(?:^|\n)\s*\d{1,2}[.)]\s+")
WORD = re.compile(r"[a-z0-9']+")
SIDES = {"right": 0, "left": 1, "bilateral": 2}
NEGATORS = frozenset({"without", "no", "not", "non"})
SIDE_WORD = re.compile(r"\b(right|left|bilateral(?:ly)?)\b", re.I)
SENTENCE_END = re.compile(r"[.;](?=\s)")
SIDED_ORGAN = re.compile(
    r"\b(right|left|bilateral|unspecified) (?:eyes?|ears?)\b", re.I
)


@dataclass(frozen=True)
class Icd10Table:
    """ICD-10-CM codes by dotted code, with whether each is billable."""

    billable: dict[str, bool]
    descriptions: dict[str, str]
    _words: dict[str, list[str]] = field(
        default_factory=dict, compare=False, repr=False
    )
    _sizes: dict[str, int] = field(default_factory=dict, compare=False, repr=False)
    _sides: dict[str, int | None] = field(
        default_factory=dict, compare=False, repr=False
    )

    def is_billable(self, code: str) -> bool:
        """Whether a dotted code exists and may be reported."""
        return self.billable.get(code, False)


def load_icd10_table(path: Path | str) -> Icd10Table:
    """Read a code table in the CMS order file layout used by the project.

    Args:
        path: a CSV, or gzipped CSV, with columns code, code_dotted,
            description, billable.

    Returns:
        The table.
    """
    billable: dict[str, bool] = {}
    descriptions: dict[str, str] = {}
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            billable[row["code_dotted"]] = row["billable"] == "1"
            descriptions[row["code_dotted"]] = row["description"]
    return Icd10Table(billable, descriptions)


def icd10_table_from_rows(rows: Iterable[tuple[str, bool, str | None]]) -> Icd10Table:
    """Build the table from `reference.icd10cm` rows, whose codes have no dot.

    Args:
        rows: (code without its dot, is billable, description or None).

    Returns:
        The table, keyed by dotted code like the bundled table.
    """
    billable: dict[str, bool] = {}
    descriptions: dict[str, str] = {}
    for code, is_billable, description in rows:
        dotted = code if len(code) <= 3 else f"{code[:3]}.{code[3:]}"
        billable[dotted] = bool(is_billable)
        descriptions[dotted] = description or ""
    return Icd10Table(billable, descriptions)


def version_in_force(
    versions: Sequence[tuple[str, dt.date, dt.date | None]], on: dt.date
) -> str | None:
    """The version in force on a day, else the nearest one, as scrubbing picks it.

    Args:
        versions: (version, effective from, effective to or None) of one table.
        on: the date of service.

    Returns:
        The version's name, or None when there is none.
    """

    def distance(entry: tuple[str, dt.date, dt.date | None]) -> tuple[int, int, str]:
        version, start, end = entry
        if on < start:
            outside = (start - on).days
        elif end is not None and on > end:
            outside = (on - end).days
        else:
            outside = 0
        return (outside, -start.toordinal(), version)

    return min(versions, key=distance)[0] if versions else None


@functools.cache
def default_icd10_table() -> Icd10Table:
    """Load the code table bundled with the product.

    Returns:
        The CMS table of April 2026, every code with its parents.
    """
    return load_icd10_table(BUNDLED_FILE)


def load_icd10_config() -> dict[str, Any]:
    """Load the diagnosis linking settings (cut words, stop words, thresholds).

    Returns:
        The parsed rules/icd10cm_linking.yaml.
    """
    return _linking_config()


@functools.cache
def _linking_config() -> dict[str, Any]:
    return load_yaml("icd10cm_linking.yaml")


@dataclass(frozen=True)
class DiagnosisPhrase:
    """A diagnosis wording and the code it stands for over a period.

    `code` is the code when no side is written; `side_codes` the codes for
    right, left and bilateral where the code set tells sides apart; `words`
    the phrase's words in lower case.
    """

    pattern: re.Pattern[str]
    length: int
    code: str
    effective_from: dt.date
    effective_to: dt.date | None
    side_codes: tuple[str, str, str] = ("", "", "")
    words: tuple[str, ...] = ()

    def is_effective(self, on: dt.date) -> bool:
        """Whether the phrase's code applies on a date of service."""
        if on < self.effective_from:
            return False
        return self.effective_to is None or on <= self.effective_to

    def code_for(self, side: int | None) -> str:
        """The code for a side (0 right, 1 left, 2 bilateral, None unspecified)."""
        if side is not None and self.side_codes[side]:
            return self.side_codes[side]
        return self.code


def _side_codes(value: str) -> tuple[str, str, str]:
    parts = (value.split("|") + ["", "", ""])[:3] if value else ["", "", ""]
    return (parts[0], parts[1], parts[2])


@functools.cache
def load_phrases() -> tuple[DiagnosisPhrase, ...]:
    """Load the diagnosis phrase table, longest phrases first.

    Returns:
        The phrases of rules/icd10cm_phrases.csv.
    """
    phrases: list[DiagnosisPhrase] = []
    with (RULES_DIR / "icd10cm_phrases.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            words = [re.escape(word) for word in row["phrase"].split()]
            phrases.append(
                DiagnosisPhrase(
                    pattern=re.compile(r"\b" + r"\s+".join(words) + r"s?\b", re.I),
                    length=len(row["phrase"]),
                    code=row["icd10cm_code"],
                    effective_from=dt.date.fromisoformat(row["effective_from"]),
                    effective_to=(
                        dt.date.fromisoformat(row["effective_to"])
                        if row["effective_to"]
                        else None
                    ),
                    side_codes=_side_codes(row.get("side_codes") or ""),
                    words=tuple(word.lower() for word in row["phrase"].split()),
                )
            )
    return tuple(sorted(phrases, key=lambda phrase: -phrase.length))


@functools.cache
def _first_words() -> frozenset[str]:
    return frozenset(phrase.words[0] for phrase in load_phrases())


@dataclass(frozen=True)
class DiagnosisLink:
    """One diagnosis item of the note and the code it got, if any."""

    item: str
    code: str | None
    how: str


def _diagnosis_items(text: str) -> list[str]:
    # An item is its first line: what follows a line break is another header's
    # text or narrative that the section split did not separate.
    items = [item.strip() for item in LIST_ITEM.split(text) if item.strip()]
    return [item.splitlines()[0].strip(" ,;") for item in items if item.strip(" ,;")]


def is_diagnosis_item(item: str) -> bool:
    """Whether a diagnosis-section item states a current, certain diagnosis.

    An item that opens with a cut cue ("status post", "probable", "rule out")
    states history or a doubt, which outpatient rules do not code.
    """
    config = load_icd10_config()
    cues = config["non_diagnosis_cues"]
    if not WORD.search(_certain_part(item, config).lower()):
        return False
    return not any(re.search(c, item, re.I) for c in cues)


def _explicit_codes(item: str, table: Icd10Table) -> list[str]:
    found: list[str] = []
    for match in EXPLICIT_CODE.finditer(item):
        code = match.group(1) + ("." + match.group(2) if match.group(2) else "")
        if table.is_billable(code):
            found.append(code)
    return found


def _certain_part(item: str, config: dict[str, Any]) -> str:
    # Outpatient rules code no "possible" or "rule out" diagnosis, and a
    # "status post" names history: keep only the words before such a cue.
    cut = len(item)
    for pattern in config["cut_cues"]:
        match = re.search(pattern, item, re.I)
        if match:
            cut = min(cut, match.start())

    # A doubt written after its diagnosis ("carcinoma cannot be excluded")
    # takes its whole sentence with it.
    for pattern in config["trailing_doubt_cues"]:
        match = re.search(pattern, item, re.I)
        if match:
            cut = min(cut, _sentence_start(item, match.start()))
    return item[:cut]


def _sentence_start(text: str, offset: int) -> int:
    ends = [m.end() for m in SENTENCE_END.finditer(text, 0, offset)]
    return ends[-1] if ends else 0


def _side(item: str) -> int | None:
    sides = {
        SIDES[m.group(1).lower().removesuffix("ly")] for m in SIDE_WORD.finditer(item)
    }
    if {0, 1} <= sides:
        return 2
    return next(iter(sides)) if len(sides) == 1 else None


def _phrase_code(item: str, on: dt.date, table: Icd10Table) -> str | None:
    side = _side(item)
    lowered = item.lower()

    # A phrase's first word is in any text it matches: one substring test per
    # distinct first word rules most phrases out before a pattern is tried.
    present = {word for word in _first_words() if word in lowered}
    found: tuple[int, str] | None = None
    for phrase in load_phrases():
        if phrase.words[0] not in present:
            continue
        if not phrase.is_effective(on) or not phrase.pattern.search(item):
            continue
        code = phrase.code_for(side)
        if table.is_billable(code):
            found = (_content_words(phrase), code)
            break

    # A phrase matched out of order that says all the in-order one says and
    # more wins: "osteoarthritis of the right knee" is the knee's code, while
    # "bronchitis with reactive airway disease" stays bronchitis.
    reordered = _reordered_phrase_code(item, on, table, side)
    if reordered and (found is None or found[0] < reordered[0]):
        return reordered[1]
    return found[1] if found else None


@functools.cache
def _content_words(phrase: DiagnosisPhrase) -> frozenset[str]:
    stop = frozenset(load_icd10_config()["stop_words"])
    return frozenset(_stem(w) for w in _words(" ".join(phrase.words), stop))


def _stem(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") else word


@functools.cache
def _phrase_word_sets() -> tuple[tuple[DiagnosisPhrase, frozenset[str]], ...]:
    stop = frozenset(load_icd10_config()["stop_words"])
    sets = (
        (phrase, frozenset(_stem(w) for w in _words(" ".join(phrase.words), stop)))
        for phrase in load_phrases()
    )
    return tuple((phrase, needed) for phrase, needed in sets if len(needed) >= 2)


def _reordered_phrase_code(
    item: str, on: dt.date, table: Icd10Table, side: int | None
) -> tuple[frozenset[str], str] | None:
    # Authors put the site first as often as last ("knee degenerative joint
    # disease" for "degenerative joint disease of the knee"): a phrase of two or
    # more content words also matches an item that holds all of them.
    config = load_icd10_config()
    stop = frozenset(config["stop_words"])
    held = {_stem(word) for word in _words(item, stop)}
    if len(held) > int(config["max_item_words"]):
        return None

    # Side words are stop words, but one written into a phrase ("right lower
    # quadrant pain") must be in the item too; nor may a phrase read past a
    # "without" ("cholecystitis without cholelithiasis" holds the words of the
    # calculus code).
    written = set(WORD.findall(item.lower()))
    sides = written & set(SIDES)
    negated = written & NEGATORS
    for phrase, needed in _phrase_word_sets():
        if not needed <= held or not phrase.is_effective(on):
            continue
        if not set(phrase.words) & set(SIDES) <= sides:
            continue
        if not negated <= set(phrase.words):
            continue
        code = phrase.code_for(side)
        if table.is_billable(code):
            return needed, code
    return None


def _words(text: str, stop: frozenset[str]) -> frozenset[str]:
    return frozenset(w for w in WORD.findall(text.lower()) if w not in stop)


def build_description_index(table: Icd10Table) -> None:
    """Index the table's descriptions by word now rather than at first use.

    The index of the whole code set takes about a second to build, once per
    table; a long-running process can pay it before its first note.
    """
    _word_index(table, frozenset(load_icd10_config()["stop_words"]))


def _word_index(table: Icd10Table, stop: frozenset[str]) -> dict[str, list[str]]:
    if not table._words:
        for code, description in table.descriptions.items():
            if table.billable.get(code):
                # "Otorrhea, right ear": the organ after the side says no more
                # than the condition does.
                plain = SIDED_ORGAN.sub(r"\1", description)
                words = _words(plain, stop)
                table._sizes[code] = len(words)
                table._sides[code] = _side(plain)
                for word in words:
                    table._words.setdefault(word, []).append(code)
    return table._words


def _codes_with_all(words: frozenset[str], index: dict[str, list[str]]) -> set[str]:
    # Start from the rarest word: the full code set has words ("unspecified",
    # "fracture") in tens of thousands of descriptions.
    postings = sorted((index.get(word, []) for word in words), key=len)
    found = set(postings[0])
    for codes in postings[1:]:
        if not found:
            break
        found.intersection_update(codes)
    return found


def _description_code(item: str, table: Icd10Table) -> str | None:
    config = load_icd10_config()
    stop = frozenset(config["stop_words"])
    words = _words(item, stop)
    if not words or len(words) > int(config["max_item_words"]):
        return None
    index = _word_index(table, stop)
    candidates = _codes_with_all(words, index)
    threshold = float(config["description_overlap"])

    # Only a description that says what the item says and little more counts,
    # and only when exactly one code does.
    close = [
        code
        for code in candidates
        if len(words) / max(table._sizes[code], 1) >= threshold
    ]

    # An encounter the item does not name ("sequela") is never read into it.
    unsaid = frozenset(config["words_never_implied"]) - words
    close = [
        code for code in close if not unsaid & _words(table.descriptions[code], stop)
    ]

    # Side words are stop words, so the side decides among the codes left: the
    # item's own side, else a code that names none.
    side = _side(item)
    sided = [code for code in close if side is not None and table._sides[code] == side]
    close = sided or [code for code in close if table._sides[code] is None]
    return close[0] if len(close) == 1 else None


def link_items(text: str, on: dt.date, table: Icd10Table) -> list[DiagnosisLink]:
    """Code each diagnosis item of diagnosis-section text, in the note's order.

    Codes written in the note win, then the phrase table (its words in order,
    then in any order), then an unambiguous match on the table's own
    descriptions.

    Args:
        text: the text of the postoperative diagnosis, impression or assessment.
        on: the date of service, for the phrase table's effective dates.
        table: the code table to validate against (billable codes only).

    Returns:
        One link per item; `code` None where nothing was found.
    """
    config = load_icd10_config()
    links: list[DiagnosisLink] = []
    for item in _diagnosis_items(text):
        explicit = _explicit_codes(item, table)
        if explicit:
            links.extend(DiagnosisLink(item, code, "explicit") for code in explicit)
            continue
        certain = _certain_part(item, config)
        phrase = _phrase_code(certain, on, table)
        if phrase:
            links.append(DiagnosisLink(item, phrase, "phrase"))
            continue
        described = _description_code(certain, table)
        links.append(
            DiagnosisLink(item, described, "description" if described else "none")
        )
    return links


def link_diagnoses(text: str, on: dt.date, table: Icd10Table) -> list[str]:
    """Find billable diagnosis codes in diagnosis-section text, primary first.

    Args:
        text: the text of the postoperative diagnosis, impression or assessment.
        on: the date of service, for the phrase table's effective dates.
        table: the code table to validate against.

    Returns:
        Distinct dotted codes in the order their items appear.
    """
    codes: list[str] = []
    for link in link_items(text, on, table):
        if link.code and link.code not in codes:
            codes.append(link.code)
    return codes
