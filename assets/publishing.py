"""The write protocol every asset follows: stage, check, then publish the partitions."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import polars as pl
from dagster import (
    AssetExecutionContext,
    MaterializeResult,
    MetadataValue,
    TableColumn,
    TableSchema,
)

from cptflow.assets.checks import blocking_failed, check_results, run_checks
from cptflow.orchestration.partitions import DayRange
from cptflow.orchestration.resources import WarehouseResource


def stage_check_publish(
    context: AssetExecutionContext,
    warehouse: WarehouseResource,
    *,
    asset_key: tuple[str, str],
    frames: Mapping[str, pl.DataFrame],
    check_frame: pl.DataFrame | None = None,
    extra_metadata: Mapping[str, object] | None = None,
) -> MaterializeResult:
    """Stage every table of the stage, run its suite, and publish only if it passes.

    A run of a range of days (a backfill) stages, checks and publishes the whole
    range at once: every day of the range is replaced, or none is.

    Args:
        context: the asset's execution context (gives the partition or range).
        warehouse: the DuckDB resource.
        asset_key: (schema, table) of the asset; its suite gates the publish.
        frames: table name (within the asset's schema) to the rows of the run's
            days, each with its partition_date; the asset's own table first, side
            tables after.
        check_frame: the frame the suite validates, when it needs derived columns;
            defaults to the asset's own table.
        extra_metadata: counts to show in the Dagster UI beside the row counts.

    Returns:
        The materialization with its check results. A failing blocking check leaves
        the published rows untouched and the bad rows in the staging table.
    """
    schema, table = asset_key
    days = DayRange.of(context)

    for name, frame in frames.items():
        warehouse.stage(schema, name, frame, days)

    outcomes = run_checks(
        asset_key, check_frame if check_frame is not None else frames[table]
    )
    is_published = not blocking_failed(outcomes)
    if is_published:
        warehouse.publish([(schema, name) for name in frames], days)
    else:
        context.log.error(
            "Checks failed for %s partition %s; rows kept in %s._staging_%s",
            ".".join(asset_key),
            days,
            schema,
            table,
        )

    metadata: dict[str, object] = {
        "dagster/row_count": frames[table].height,
        "dagster/column_schema": _table_schema(frames[table]),
        "published": is_published,
    }
    for name, frame in frames.items():
        if name != table:
            metadata[f"rows_{name}"] = frame.height
    metadata.update(extra_metadata or {})
    return MaterializeResult(
        metadata=metadata,
        check_results=check_results(
            outcomes, staging_table=f"{schema}._staging_{table}"
        ),
    )


def rows_of_day(frame: pl.DataFrame, day: date) -> pl.DataFrame:
    """The rows of one partition of a frame read for a range of days."""
    return frame.filter(pl.col("partition_date") == day)


def _table_schema(frame: pl.DataFrame) -> TableSchema:
    """The frame's columns and types, shown in the Dagster UI."""
    return TableSchema(
        columns=[
            TableColumn(name=name, type=str(dtype))
            for name, dtype in frame.schema.items()
        ]
    )


def count_metadata(counts: Mapping[str, int]) -> dict[str, MetadataValue]:
    """Counts as integer metadata values."""
    return {name: MetadataValue.int(value) for name, value in counts.items()}
