"""Weekly denial counts and the test that flags a week's rate above its baseline."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import polars as pl
from statsmodels.stats.proportion import proportions_ztest

WEEK = timedelta(days=7)

SPIKE_SCHEMA = {
    "week_start_date": pl.Date,
    "remitted_line_count": pl.Int64,
    "denied_line_count": pl.Int64,
    "denial_rate": pl.Float64,
    "baseline_remitted_line_count": pl.Int64,
    "baseline_denied_line_count": pl.Int64,
    "baseline_denial_rate": pl.Float64,
    "z_score": pl.Float64,
    "p_value": pl.Float64,
    "is_tested": pl.Boolean,
    "is_spike": pl.Boolean,
}


@dataclass(frozen=True)
class SpikeSettings:
    """How a week is compared with the weeks before it.

    Attributes:
        baseline_weeks: number of weeks before the tested week that form its baseline.
        alpha: a week is a spike when the one-sided p-value is below this.
        min_lines: remitted lines the week, and separately its baseline, need before
            the test is run at all; smaller groups are reported as not tested.
    """

    baseline_weeks: int = 8
    alpha: float = 0.01
    min_lines: int = 20


def week_start(day: date) -> date:
    """The Monday of the ISO week holding `day`."""
    return day - timedelta(days=day.weekday())


def rate_increase_test(
    denied: int, lines: int, baseline_denied: int, baseline_lines: int
) -> tuple[float, float]:
    """One-sided two-proportion z-test that the week's denial rate is the higher.

    Returns:
        The z statistic and its p-value. When neither period has a denial, or both
        are all denials, the pooled variance is zero and there is nothing to test:
        the result is (0.0, 1.0).
    """
    pooled = (denied + baseline_denied) / (lines + baseline_lines)
    if pooled in (0.0, 1.0):
        return 0.0, 1.0
    z_score, p_value = proportions_ztest(
        np.array([denied, baseline_denied]),
        np.array([lines, baseline_lines]),
        alternative="larger",
    )
    return float(z_score), float(p_value)


def weekly_denial_counts(claim_lines: pl.DataFrame, *, by: str) -> pl.DataFrame:
    """Remitted and denied claim lines per group and payment week.

    Args:
        claim_lines: rows of `marts.fct_claim_lines` (needs `by`, `is_remitted`,
            `is_denied` and `latest_payment_date`).
        by: the grouping column, e.g. `cpt_code` or `rendering_npi`.

    Returns:
        One row per (group, week_start_date) with `remitted_line_count` and
        `denied_line_count`; a line counts in the week of its latest remittance.
    """
    remitted = claim_lines.filter(pl.col("is_remitted"))
    weeks = pl.col("latest_payment_date").dt.truncate("1w").alias("week_start_date")
    return (
        remitted.group_by(by, weeks)
        .agg(
            pl.len().cast(pl.Int64).alias("remitted_line_count"),
            pl.col("is_denied").sum().cast(pl.Int64).alias("denied_line_count"),
        )
        .sort(by, "week_start_date", nulls_last=True)
    )


def flag_spikes(
    weekly: pl.DataFrame,
    *,
    by: str,
    tested_week: date,
    settings: SpikeSettings | None = None,
) -> pl.DataFrame:
    """Test every group's denial rate in one week against its trailing baseline.

    The baseline is the pooled lines of the `baseline_weeks` weeks just before the
    tested week (weeks without remittances add nothing).

    Args:
        weekly: output of `weekly_denial_counts` for the same `by`.
        by: the grouping column.
        tested_week: Monday of the week tested.
        settings: baseline length, significance level and minimum volume.

    Returns:
        One row per group with lines in the tested week: its counts and rate, the
        baseline's, the z statistic and p-value (null when not tested), and
        `is_spike`. Sorted with spikes first, then by p-value.
    """
    settings = settings or SpikeSettings()
    baseline_start = tested_week - settings.baseline_weeks * WEEK
    current = weekly.filter(pl.col("week_start_date") == tested_week)
    baseline = (
        weekly.filter(
            (pl.col("week_start_date") >= baseline_start)
            & (pl.col("week_start_date") < tested_week)
        )
        .group_by(by)
        .agg(
            pl.col("remitted_line_count").sum().alias("baseline_remitted_line_count"),
            pl.col("denied_line_count").sum().alias("baseline_denied_line_count"),
        )
    )

    joined = current.join(baseline, on=by, how="left", nulls_equal=True).with_columns(
        pl.col("baseline_remitted_line_count", "baseline_denied_line_count")
        .fill_null(0)
        .cast(pl.Int64)
    )
    rows = [_test_row(row, settings) for row in joined.iter_rows(named=True)]
    schema = {by: weekly.schema[by], **SPIKE_SCHEMA}
    return pl.DataFrame(rows, schema=schema, orient="row").sort(
        ["is_spike", "p_value"], descending=[True, False], nulls_last=True
    )


def _test_row(row: dict, settings: SpikeSettings) -> dict:
    """One group's week with its baseline rate, test result and spike flag."""
    lines = row["remitted_line_count"]
    baseline_lines = row["baseline_remitted_line_count"]
    is_tested = lines >= settings.min_lines and baseline_lines >= settings.min_lines

    z_score = p_value = None
    if is_tested:
        z_score, p_value = rate_increase_test(
            row["denied_line_count"],
            lines,
            row["baseline_denied_line_count"],
            baseline_lines,
        )
    is_spike = p_value is not None and p_value < settings.alpha
    return {
        **row,
        "denial_rate": row["denied_line_count"] / lines,
        "baseline_denial_rate": (
            row["baseline_denied_line_count"] / baseline_lines
            if baseline_lines
            else None
        ),
        "z_score": z_score,
        "p_value": p_value if p_value is None or math.isfinite(p_value) else None,
        "is_tested": is_tested,
        "is_spike": is_spike,
    }
