"""The daily partitions every stage shares: documents by received date, remittances by
payment date."""

from __future__ import annotations

from datetime import date

from dagster import DailyPartitionsDefinition

# Early enough for any backfill of archived documents; end_offset=1 includes today.
daily_partitions = DailyPartitionsDefinition(start_date="2015-01-01", end_offset=1)


def partition_date_of(partition_key: str) -> date:
    """The calendar date a partition key such as "2026-11-02" stands for."""
    return date.fromisoformat(partition_key)
