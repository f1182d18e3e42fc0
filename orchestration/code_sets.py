"""Code-set versions (coding rules and reference tables) and what changes between
two versions: edits added or removed, and open claim codes no longer valid."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl
from dagster import AssetsDefinition, AssetSpec

from cptflow.transforms.coding import rules_version

REFERENCE_DATA_DIR = Path(__file__).resolve().parents[1] / "transforms/reference_data"
# Asset groups whose output depends on the code sets in force: they get a code
# version, so Dagster marks their partitions stale when the code sets change.
CODE_SET_GROUPS = ("coding", "claims", "scrubbing")


def bundled_reference_digest(folder: Path = REFERENCE_DATA_DIR) -> str:
    """A short digest of the reference files shipped with cptflow."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:8]


def code_set_version(reference_versions: Sequence[tuple] = ()) -> str:
    """Name the code sets in force: the rules version and the reference versions.

    Args:
        reference_versions: rows of `reference.versions` (table, version, dates,
            row count, ...) loaded into the database; empty when unknown.

    Returns:
        For example `rules=2025.1+3f9a0c12;reference=9b1e22aa`.
    """
    digest = hashlib.sha256(bundled_reference_digest().encode())
    for row in sorted(tuple(str(value) for value in row) for row in reference_versions):
        digest.update("|".join(row).encode())
    return f"rules={rules_version()};reference={digest.hexdigest()[:8]}"


def with_code_version(
    assets: Sequence[AssetsDefinition], version: str
) -> list[AssetsDefinition]:
    """Give the code-set-dependent assets `version` as their code version.

    A partition materialized under another code version shows as stale in the
    Dagster UI ("code version changed"), which is what a backfill then re-runs.
    """

    def stamp(spec: AssetSpec) -> AssetSpec:
        return spec.replace_attributes(code_version=version)

    return [
        a.map_asset_specs(stamp)
        if any(a.group_names_by_key.get(k) in CODE_SET_GROUPS for k in a.keys)
        else a
        for a in assets
    ]


@dataclass(frozen=True)
class CodeSetChanges:
    """What a new code-set version changes.

    Attributes:
        edits_added: edit rows in the new version only (key columns and the rest).
        edits_removed: edit rows in the old version only.
        edits_changed: keys in both whose other columns differ (new values).
        codes_now_invalid: open claim lines whose code was valid on its date of
            service under the old version and is not under the new one.
    """

    edits_added: pl.DataFrame
    edits_removed: pl.DataFrame
    edits_changed: pl.DataFrame
    codes_now_invalid: pl.DataFrame

    def summary(self) -> dict[str, int]:
        """Counts for a log line or the UI."""
        return {
            "edits_added": self.edits_added.height,
            "edits_removed": self.edits_removed.height,
            "edits_changed": self.edits_changed.height,
            "codes_now_invalid": self.codes_now_invalid.height,
        }


def compare_edit_tables(
    old: pl.DataFrame, new: pl.DataFrame, *, key: Sequence[str]
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Edits added, removed and changed between two versions of an edit table.

    Args:
        old: the edit table (e.g. NCCI procedure-to-procedure pairs) of the old
            version, without its `version` column.
        new: the same table of the new version.
        key: the columns naming one edit (e.g. column_1_code, column_2_code).

    Returns:
        (added, removed, changed), each sorted by key; `changed` carries the new
        version's values.
    """
    keys = list(key)
    added = new.join(old.select(keys), on=keys, how="anti")
    removed = old.join(new.select(keys), on=keys, how="anti")
    both = new.join(old, on=keys, how="semi")
    changed = both.join(old, on=list(new.columns), how="anti", nulls_equal=True)
    return added.sort(keys), removed.sort(keys), changed.sort(keys)


def codes_invalid_under(
    lines: pl.DataFrame,
    valid_codes: pl.DataFrame,
    *,
    code_column: str = "cpt_code",
) -> pl.DataFrame:
    """Claim lines whose code is not in force on their date of service.

    Args:
        lines: claim lines with `code_column` and `date_of_service`.
        valid_codes: one row per code and period: `code`, `effective_from`,
            `effective_to` (null when open).
        code_column: the lines' code column.

    Returns:
        The lines with no period of their code covering their date of service.
    """
    periods = valid_codes.select(
        pl.col("code").alias(code_column), "effective_from", "effective_to"
    )
    covered = (
        lines.with_row_index("_line")
        .join(periods, on=code_column, how="inner")
        .filter(
            (pl.col("effective_from") <= pl.col("date_of_service"))
            & (
                pl.col("effective_to").is_null()
                | (pl.col("date_of_service") <= pl.col("effective_to"))
            )
        )
        .select("_line")
        .unique()
    )
    return (
        lines.with_row_index("_line")
        .join(covered, on="_line", how="anti")
        .drop("_line")
    )


def code_set_changes(
    *,
    old_edits: pl.DataFrame,
    new_edits: pl.DataFrame,
    edit_key: Sequence[str],
    open_lines: pl.DataFrame,
    old_codes: pl.DataFrame,
    new_codes: pl.DataFrame,
) -> CodeSetChanges:
    """The change report between two code-set versions.

    Args:
        old_edits: the old version's edit table.
        new_edits: the new version's edit table.
        edit_key: the columns naming one edit.
        open_lines: claim lines not yet paid or denied (code, date_of_service, ...).
        old_codes: the codes in force under the old version, with periods.
        new_codes: the same under the new version.
    """
    added, removed, changed = compare_edit_tables(old_edits, new_edits, key=edit_key)
    was_valid = open_lines.join(
        codes_invalid_under(open_lines, old_codes),
        on=list(open_lines.columns),
        how="anti",
        nulls_equal=True,
    )
    return CodeSetChanges(
        edits_added=added,
        edits_removed=removed,
        edits_changed=changed,
        codes_now_invalid=codes_invalid_under(was_valid, new_codes),
    )


def first_affected_date(
    old_periods: Sequence[tuple[date, date | None]],
    new_periods: Sequence[tuple[date, date | None]],
) -> date | None:
    """The earliest day on which the versions in force differ, None when equal.

    Args:
        old_periods: (effective_from, effective_to) of the versions loaded before.
        new_periods: the same after the update.
    """
    changed = set(new_periods) ^ set(old_periods)
    return min((start for start, _ in changed), default=None)
