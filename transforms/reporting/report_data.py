"""The figures of the weekly denial-pattern report, computed from claim lines."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import polars as pl

from cptflow.transforms.reporting.spikes import (
    WEEK,
    SpikeSettings,
    flag_spikes,
    week_start,
    weekly_denial_counts,
)

PATTERN_COLUMNS = ("cpt_code", "rendering_npi", "denial_category")


@dataclass(frozen=True)
class PeriodTotals:
    """Remitted, denied and underpaid lines and amounts of one week."""

    remitted_line_count: int
    denied_line_count: int
    denied_amount: float
    avoidable_denied_line_count: int
    underpaid_line_count: int = 0
    underpaid_amount: float = 0.0

    @property
    def denial_rate(self) -> float | None:
        """Denied lines over remitted lines; None for a week without remittances."""
        if not self.remitted_line_count:
            return None
        return self.denied_line_count / self.remitted_line_count


@dataclass(frozen=True)
class DenialReport:
    """Everything the report template shows, for one payment week."""

    week_start_date: date
    generated_at: datetime
    current: PeriodTotals
    previous: PeriodTotals
    by_code: pl.DataFrame
    by_provider: pl.DataFrame
    patterns: pl.DataFrame
    code_spikes: pl.DataFrame
    provider_spikes: pl.DataFrame
    weekly_totals: pl.DataFrame
    settings: SpikeSettings = field(default_factory=SpikeSettings)

    @property
    def week_end_date(self) -> date:
        """The Sunday closing the reported week."""
        return self.week_start_date + timedelta(days=6)

    @property
    def previous_week_start_date(self) -> date:
        """The Monday of the week the report compares against."""
        return self.week_start_date - WEEK


def choose_report_week(claim_lines: pl.DataFrame, *, as_of: date) -> date | None:
    """The week holding the latest remittance paid on or before `as_of`.

    A weekly run on Monday for the day before reports the week just ended; the demo,
    whose payer pays on one day, reports that day's week.
    """
    paid = claim_lines.filter(pl.col("latest_payment_date") <= as_of)
    latest = paid.get_column("latest_payment_date").max()
    return week_start(latest) if isinstance(latest, date) else None


def period_totals(claim_lines: pl.DataFrame, *, week: date) -> PeriodTotals:
    """Totals of the lines whose latest remittance was paid in `week`.

    Lines without an `is_underpaid` column (an older snapshot) count no
    underpayments.
    """
    lines = _lines_paid_in(claim_lines, week)
    denied = lines.filter(pl.col("is_denied"))
    avoidable = denied.filter(pl.col("is_avoidable_by_coding").fill_null(False))
    underpaid = (
        lines.filter(pl.col("is_underpaid"))
        if "is_underpaid" in lines.columns
        else None
    )
    return PeriodTotals(
        remitted_line_count=lines.height,
        denied_line_count=denied.height,
        denied_amount=float(denied.get_column("denied_amount").sum() or 0.0),
        avoidable_denied_line_count=avoidable.height,
        underpaid_line_count=underpaid.height if underpaid is not None else 0,
        underpaid_amount=(
            float(underpaid.get_column("underpaid_amount").sum() or 0.0)
            if underpaid is not None
            else 0.0
        ),
    )


def compare_periods(
    claim_lines: pl.DataFrame, *, by: list[str], week: date, limit: int = 10
) -> pl.DataFrame:
    """Denials per group this week against the week before, largest first.

    Args:
        claim_lines: rows of `marts.fct_claim_lines`.
        by: grouping columns, e.g. `["cpt_code"]` or the pattern columns.
        week: Monday of the reported week.
        limit: groups kept, ordered by denied lines this week then denied amount.

    Returns:
        Per group: `denied_line_count`, `remitted_line_count`, `denial_rate`,
        `denied_amount` for this week, the same with a `previous_` prefix, and
        `denied_line_change` and `denial_rate_change` (this week minus the previous;
        the rate change is null when either week has no remitted lines).
    """
    current = _group_counts(_lines_paid_in(claim_lines, week), by, prefix="")
    previous = _group_counts(
        _lines_paid_in(claim_lines, week - WEEK), by, prefix="previous_"
    )
    joined = current.join(previous, on=by, how="full", coalesce=True, nulls_equal=True)
    counts = [c for c in joined.columns if c.endswith("_count") or c.endswith("amount")]
    compared = joined.with_columns(pl.col(counts).fill_null(0)).with_columns(
        (pl.col("denied_line_count") - pl.col("previous_denied_line_count")).alias(
            "denied_line_change"
        ),
        (pl.col("denial_rate") - pl.col("previous_denial_rate")).alias(
            "denial_rate_change"
        ),
    )
    denied_somewhen = compared.filter(
        (pl.col("denied_line_count") > 0) | (pl.col("previous_denied_line_count") > 0)
    )
    return denied_somewhen.sort(
        ["denied_line_count", "denied_amount", *by],
        descending=[True, True, *([False] * len(by))],
    ).head(limit)


def weekly_totals(
    claim_lines: pl.DataFrame, *, last_week: date, weeks: int = 12
) -> pl.DataFrame:
    """Remitted lines, denied lines and rate per week for the weeks up to `last_week`.

    Returns:
        One row per week in the window, with zero counts for weeks without
        remittances, oldest first.
    """
    first_week = last_week - (weeks - 1) * WEEK
    calendar = pl.DataFrame(
        {"week_start_date": [first_week + i * WEEK for i in range(weeks)]}
    )
    counts = weekly_denial_counts(
        claim_lines.with_columns(pl.lit("all").alias("scope")), by="scope"
    ).drop("scope")
    return (
        calendar.join(counts, on="week_start_date", how="left")
        .with_columns(pl.col("remitted_line_count", "denied_line_count").fill_null(0))
        .with_columns(
            (
                pl.col("denied_line_count")
                / pl.when(pl.col("remitted_line_count") > 0).then(
                    pl.col("remitted_line_count")
                )
            ).alias("denial_rate")
        )
    )


def build_denial_report(
    claim_lines: pl.DataFrame,
    *,
    week: date,
    generated_at: datetime,
    settings: SpikeSettings | None = None,
    limit: int = 10,
) -> DenialReport:
    """Gather the report's totals, top patterns, changes and spikes for one week."""
    settings = settings or SpikeSettings()
    spikes = {
        by: flag_spikes(
            weekly_denial_counts(claim_lines, by=by),
            by=by,
            tested_week=week,
            settings=settings,
        )
        for by in ("cpt_code", "rendering_npi")
    }
    return DenialReport(
        week_start_date=week,
        generated_at=generated_at,
        current=period_totals(claim_lines, week=week),
        previous=period_totals(claim_lines, week=week - WEEK),
        by_code=compare_periods(claim_lines, by=["cpt_code"], week=week, limit=limit),
        by_provider=compare_periods(
            claim_lines, by=["rendering_npi"], week=week, limit=limit
        ),
        patterns=compare_periods(
            claim_lines, by=list(PATTERN_COLUMNS), week=week, limit=limit
        ),
        code_spikes=spikes["cpt_code"],
        provider_spikes=spikes["rendering_npi"],
        weekly_totals=weekly_totals(claim_lines, last_week=week),
        settings=settings,
    )


def _lines_paid_in(claim_lines: pl.DataFrame, week: date) -> pl.DataFrame:
    """Remitted lines whose latest remittance falls in the week starting `week`."""
    paid = pl.col("latest_payment_date")
    return claim_lines.filter(
        pl.col("is_remitted") & (paid >= week) & (paid < week + WEEK)
    )


def _group_counts(lines: pl.DataFrame, by: list[str], *, prefix: str) -> pl.DataFrame:
    """Denied and remitted lines, rate and denied amount per group.

    For the pattern columns, `denial_category` is null on paid lines, so a pattern's
    rate uses the lines of its code and provider as the denominator.
    """
    keys = [c for c in by if c != "denial_category"]
    remitted = lines.group_by(keys).agg(pl.len().alias("remitted_line_count"))
    denied = (
        lines.filter(pl.col("is_denied"))
        .group_by(by)
        .agg(
            pl.len().alias("denied_line_count"),
            pl.col("denied_amount").sum().alias("denied_amount"),
        )
    )
    if "denial_category" in by:
        counts = denied.join(remitted, on=keys, how="left", nulls_equal=True)
    else:
        counts = remitted.join(denied, on=keys, how="left", nulls_equal=True)
    counts = counts.with_columns(
        pl.col("denied_line_count").fill_null(0).cast(pl.Int64),
        pl.col("remitted_line_count").cast(pl.Int64),
        pl.col("denied_amount").fill_null(0.0),
    ).with_columns(
        (pl.col("denied_line_count") / pl.col("remitted_line_count")).alias(
            "denial_rate"
        )
    )
    return counts.select(
        *by,
        *[
            pl.col(c).alias(prefix + c)
            for c in (
                "denied_line_count",
                "remitted_line_count",
                "denial_rate",
                "denied_amount",
            )
        ],
    )
