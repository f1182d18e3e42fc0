"""What the analysts' dashboard shows, computed from snapshot frames.

Every number on the dashboard comes from a function here, so that a test can
compare it with the same figure queried from the pipeline database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

import polars as pl
import yaml

NONE_LABEL = "(none)"
MASKING_RULES_PATH = Path(__file__).resolve().parent / "masking.yml"
# Filter name -> column of marts.fct_claim_lines it restricts.
FILTER_COLUMNS = {
    "payer_ids": "payer_id",
    "rendering_npis": "rendering_npi",
    "cpt_family_codes": "cpt_family_code",
}


@dataclass(frozen=True)
class Filters:
    """The analyst's selection; an empty tuple means no restriction."""

    service_dates: tuple[date, date] | None = None
    payer_ids: tuple[str, ...] = ()
    rendering_npis: tuple[str, ...] = ()
    cpt_family_codes: tuple[str, ...] = ()


@dataclass(frozen=True)
class DenialKpis:
    """The headline figures of a set of claim lines."""

    claim_line_count: int
    remitted_line_count: int
    denied_line_count: int
    avoidable_denied_line_count: int
    denied_amount: float
    underpaid_line_count: int = 0
    underpaid_amount: float = 0.0

    @property
    def denial_rate(self) -> float | None:
        """Denied lines over remitted lines, as in the denials_by_* marts."""
        if not self.remitted_line_count:
            return None
        return self.denied_line_count / self.remitted_line_count

    @property
    def avoidable_share(self) -> float | None:
        """Share of denied lines whose reason a coding fix would have prevented."""
        if not self.denied_line_count:
            return None
        return self.avoidable_denied_line_count / self.denied_line_count


def format_whole_dollars(amount: float) -> str:
    """A dollar amount rounded to whole dollars, as the dashboard's KPI shows it."""
    return f"${amount:,.0f}"


def filter_options(claim_lines: pl.DataFrame, column: str) -> list[str]:
    """The distinct values of a column, sorted, with nulls as `(none)` last."""
    values = claim_lines.get_column(column).unique().to_list()
    named = sorted(v for v in values if v is not None)
    return named + ([NONE_LABEL] if None in values else [])


def filter_claim_lines(claim_lines: pl.DataFrame, filters: Filters) -> pl.DataFrame:
    """The lines within the date range and the chosen payers, providers, families."""
    selected = claim_lines
    if filters.service_dates is not None:
        first, last = filters.service_dates
        selected = selected.filter(pl.col("date_of_service").is_between(first, last))
    for name, column in FILTER_COLUMNS.items():
        chosen = getattr(filters, name)
        if chosen:
            labelled = pl.col(column).fill_null(NONE_LABEL)
            selected = selected.filter(labelled.is_in(list(chosen)))
    return selected


def denial_kpis(claim_lines: pl.DataFrame) -> DenialKpis:
    """Line counts, denied dollars and underpayments of the lines given.

    A snapshot published before underpayments were flagged has no `is_underpaid`
    column; its underpaid figures are zero.
    """
    denied = claim_lines.filter(pl.col("is_denied"))
    avoidable = denied.filter(pl.col("is_avoidable_by_coding").fill_null(False))
    underpaid_count, underpaid_amount = 0, 0.0
    if "is_underpaid" in claim_lines.columns:
        underpaid = claim_lines.filter(pl.col("is_underpaid"))
        underpaid_count = underpaid.height
        underpaid_amount = float(underpaid.get_column("underpaid_amount").sum() or 0.0)
    return DenialKpis(
        claim_line_count=claim_lines.height,
        remitted_line_count=claim_lines.filter(pl.col("is_remitted")).height,
        denied_line_count=denied.height,
        avoidable_denied_line_count=avoidable.height,
        denied_amount=float(denied.get_column("denied_amount").sum() or 0.0),
        underpaid_line_count=underpaid_count,
        underpaid_amount=underpaid_amount,
    )


def weekly_trend(claim_lines: pl.DataFrame) -> pl.DataFrame:
    """Remitted and denied lines, rate and denied dollars per payment week."""
    remitted = claim_lines.filter(pl.col("is_remitted"))
    weeks = pl.col("latest_payment_date").dt.truncate("1w").alias("week_start_date")
    return _denial_rates(remitted, weeks).sort("week_start_date")


def reason_pareto(
    claim_lines: pl.DataFrame, denial_categories: pl.DataFrame
) -> pl.DataFrame:
    """Denied lines per denial category, largest first, with the running share.

    Returns:
        `denial_category`, `is_avoidable_by_coding`, `description`,
        `denied_line_count`, `denied_amount`, `cumulative_share` (of denied lines).
    """
    per_category = (
        claim_lines.filter(pl.col("is_denied"))
        .group_by("denial_category")
        .agg(
            pl.len().alias("denied_line_count"),
            pl.col("denied_amount").sum().alias("denied_amount"),
        )
        .sort(
            ["denied_line_count", "denied_amount", "denial_category"],
            descending=[True, True, False],
        )
    )
    total = per_category.get_column("denied_line_count").sum()
    labels = denial_categories.select(
        "denial_category", "is_avoidable_by_coding", "description"
    )
    return per_category.join(labels, on="denial_category", how="left").select(
        "denial_category",
        pl.col("is_avoidable_by_coding").fill_null(False),
        "description",
        "denied_line_count",
        "denied_amount",
        (pl.col("denied_line_count").cum_sum() / total).alias("cumulative_share"),
    )


def code_provider_matrix(claim_lines: pl.DataFrame) -> pl.DataFrame:
    """Denial rate per (CPT code, rendering provider) over remitted lines."""
    remitted = claim_lines.filter(pl.col("is_remitted")).with_columns(
        pl.col("rendering_npi").fill_null(NONE_LABEL)
    )
    return _denial_rates(remitted, "cpt_code", "rendering_npi").sort(
        "cpt_code", "rendering_npi"
    )


def _denial_rates(remitted: pl.DataFrame, *keys: str | pl.Expr) -> pl.DataFrame:
    """Remitted and denied lines, denied dollars and denial rate per group."""
    return (
        remitted.group_by(*keys)
        .agg(
            pl.len().alias("remitted_line_count"),
            pl.col("is_denied").sum().alias("denied_line_count"),
            pl.col("denied_amount").sum().alias("denied_amount"),
        )
        .with_columns(
            (pl.col("denied_line_count") / pl.col("remitted_line_count")).alias(
                "denial_rate"
            )
        )
    )


def denied_line_list(
    claim_lines: pl.DataFrame, documents: pl.DataFrame
) -> pl.DataFrame:
    """Denied lines for the drill-down list, each patient shown only masked."""
    patients = documents.select(
        "document_id",
        pl.col("patient_id")
        .map_elements(mask_identifier, return_dtype=pl.Utf8)
        .alias("patient"),
    )
    return (
        claim_lines.filter(pl.col("is_denied"))
        .join(patients, on="document_id", how="left")
        .select(
            "line_control_number",
            pl.col("date_of_service").cast(pl.Date),
            "patient",
            "payer_id",
            "rendering_npi",
            "cpt_code",
            pl.col("modifiers").list.join(" ").alias("modifiers"),
            "denial_category",
            pl.col("denial_group_carc_codes").list.join(" ").alias("carc_codes"),
            "denied_amount",
            "is_avoidable_by_coding",
        )
        .sort("denied_amount", "line_control_number", descending=[True, False])
    )


def mask_identifier(value: str | None) -> str:
    """An identifier with all but its last two characters replaced by dots."""
    if not value:
        return ""
    shown = value[-2:] if len(value) > 4 else ""
    return "•" * (len(value) - len(shown)) + shown


@cache
def masking_labels() -> tuple[str, ...]:
    """Field labels whose following word is an identifier (`masking.yml`)."""
    rules = yaml.safe_load(MASKING_RULES_PATH.read_text())
    return tuple(label.casefold() for label in rules["labels_before_identifier"])


def identifier_tokens(document: dict) -> set[str]:
    """Words that identify the patient of a document: name, id and birth date.

    Args:
        document: a row of the snapshot's `evidence_documents`.
    """
    tokens = {
        part.casefold()
        for part in re.split(r"\s+", document.get("patient_name") or "")
        if len(part) > 1
    }
    if document.get("patient_id"):
        tokens.add(document["patient_id"].casefold())
    birth = document.get("patient_birth_date")
    if isinstance(birth, date):
        tokens |= {
            birth.isoformat(),
            birth.strftime("%m/%d/%Y"),
            f"{birth.month}/{birth.day}/{birth.year}",
        }
    return tokens


def identifier_word_indexes(words: pl.DataFrame, tokens: set[str]) -> set[int]:
    """Indexes of the page's words to hide: patient tokens and labelled values.

    Args:
        words: one page's rows of `evidence_words`, in word order.
        tokens: from `identifier_tokens`.
    """
    labels = masking_labels()
    hidden = set()
    previous = ""
    for index, text in zip(
        words.get_column("word_index"), words.get_column("text"), strict=True
    ):
        if _bare(text) in tokens or previous in labels:
            hidden.add(index)
        previous = text.casefold()
    return hidden


def identifier_ranges(text: str, tokens: set[str]) -> list[tuple[int, int]]:
    """Character ranges of a page text to hide: patient tokens and labelled values."""
    ranges = [
        match.span()
        for token in tokens
        for match in re.finditer(re.escape(token), text, flags=re.I)
    ]
    for label in masking_labels():
        pattern = rf"(?<!\S){re.escape(label)}[ \t]*(\S+)"
        ranges += [m.span(1) for m in re.finditer(pattern, text, flags=re.I)]
    return sorted(ranges)


def mask_text(text: str, tokens: set[str]) -> str:
    """The text with patient tokens and labelled values replaced by dots."""
    characters = list(text)
    for start, end in identifier_ranges(text, tokens):
        characters[start:end] = "•" * (end - start)
    return "".join(characters)


def _bare(word: str) -> str:
    """A word without surrounding punctuation, case-folded."""
    return word.strip(".,;:()[]\"'").casefold()
