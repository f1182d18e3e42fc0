"""The daily partitions every stage shares: documents by received date, remittances by
payment date, and the range of days one run materializes."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import date, timedelta

from dagster import (
    AssetExecutionContext,
    BackfillPolicy,
    BetaWarning,
    DailyPartitionsDefinition,
)

# Early enough for any backfill of archived documents; end_offset=1 includes today.
daily_partitions = DailyPartitionsDefinition(start_date="2015-01-01", end_offset=1)
# A backfill of any length is one run: each step starts once and replaces the rows
# of every day in the range, instead of one run (and process start-ups) per day.
single_run = BackfillPolicy.single_run()
# Dagster marks the decorators' backfill_policy argument beta and warns at every
# import of an asset module; the policy is documented and tested here.
warnings.filterwarnings("ignore", message=".*backfill_policy.*", category=BetaWarning)


def partition_window() -> tuple[date, date]:
    """The first and last day a partition exists for today (the last is today)."""
    first = daily_partitions.get_first_partition_key()
    last = daily_partitions.get_last_partition_key()
    assert first is not None and last is not None
    return date.fromisoformat(first), date.fromisoformat(last)


def outside_window(day: date) -> str | None:
    """Why no partition holds `day`, or None when one does."""
    first, last = partition_window()
    if first <= day <= last:
        return None
    return f"{day} is outside the daily partitions ({first} to {last})"


def partition_date_of(partition_key: str) -> date:
    """The calendar date a partition key such as "2026-11-02" stands for."""
    return date.fromisoformat(partition_key)


@dataclass(frozen=True)
class DayRange:
    """The days one run materializes: a single partition or a backfill's range.

    Attributes:
        first: the first day, included.
        last: the last day, included.
    """

    first: date
    last: date

    @classmethod
    def of(cls, context: AssetExecutionContext) -> DayRange:
        """The days of a run's partition or partition range."""
        keys = sorted(context.partition_keys)
        return cls(partition_date_of(keys[0]), partition_date_of(keys[-1]))

    @classmethod
    def single(cls, day: date) -> DayRange:
        """A range of one day."""
        return cls(day, day)

    @property
    def days(self) -> list[date]:
        """Every day of the range, oldest first."""
        count = (self.last - self.first).days + 1
        return [self.first + timedelta(days=n) for n in range(count)]

    @property
    def is_single_day(self) -> bool:
        """Whether the range holds one day."""
        return self.first == self.last

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.first <= day <= self.last

    def __str__(self) -> str:
        if self.is_single_day:
            return self.first.isoformat()
        return f"{self.first.isoformat()}..{self.last.isoformat()}"
