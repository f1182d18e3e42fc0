"""remits.remittance_lines: 835 service-line payments and adjustments by pay date."""

import hashlib
from pathlib import Path

import polars as pl
from dagster import AssetExecutionContext, MaterializeResult, asset

from cptflow.assets.checks import check_specs_for
from cptflow.assets.publishing import count_metadata, stage_check_publish
from cptflow.orchestration.partitions import DayRange, daily_partitions, single_run
from cptflow.orchestration.resources import PipelineSettings, WarehouseResource
from cptflow.transforms.errors import X12Error
from cptflow.transforms.remits import (
    ADJUSTMENTS_SCHEMA,
    LINES_SCHEMA,
    remittance_frames,
)
from cptflow.transforms.x12.remit835 import Remittance, parse_835

KEY = ("remits", "remittance_lines")
FILE_SCHEMA = {
    "file_name": pl.Utf8,
    "file_sha256": pl.Utf8,
    "partition_date": pl.Date,
    "status": pl.Utf8,
    "reason": pl.Utf8,
    "segment_index": pl.Int32,
    "segment_id": pl.Utf8,
}


@asset(
    key=list(KEY),
    partitions_def=daily_partitions,
    backfill_policy=single_run,
    check_specs=check_specs_for(KEY),
    group_name="remits",
)
def remittance_lines(
    context: AssetExecutionContext,
    warehouse: WarehouseResource,
    settings: PipelineSettings,
) -> MaterializeResult:
    """One row per 835 service line paid on the partition's date.

    Source: the remits folder. Adjustments (group, CARC, amount) go to the side
    table remits.remittance_adjustments; a file that cannot be read is recorded in
    remits.remittance_files with the segment and reason, and the rest go on.
    """
    days = DayRange.of(context)
    folder = Path(settings.remits_dir)
    paths = (
        sorted(p for p in folder.glob("*") if p.is_file()) if folder.is_dir() else []
    )

    line_frames, adjustment_frames, files = [], [], []
    for path in paths:
        data = path.read_bytes()
        record = {
            "file_name": path.name,
            "file_sha256": hashlib.sha256(data).hexdigest(),
            "status": "processed",
            "reason": None,
            "segment_index": None,
            "segment_id": None,
        }
        try:
            lines, adjustments = _rows_of(
                parse_835(data, file_name=path.name), days, settings
            )
        except X12Error as error:
            context.log.warning("remittance file %s quarantined", path.name)
            record.update(
                status="quarantined",
                reason=error.reason,
                segment_index=error.segment_index,
                segment_id=error.segment_id,
            )
            # As a run of each day would, every day of the run records it.
            files.extend({**record, "partition_date": day} for day in days.days)
            continue
        files.extend(
            {**record, "partition_date": day}
            for day in sorted(set(lines["partition_date"]))
        )
        line_frames.append(lines)
        adjustment_frames.append(adjustments)

    lines = _concat(line_frames, LINES_SCHEMA)
    adjustments = _concat(adjustment_frames, ADJUSTMENTS_SCHEMA)
    return stage_check_publish(
        context,
        warehouse,
        asset_key=KEY,
        frames={
            "remittance_lines": lines,
            "remittance_adjustments": adjustments,
            "remittance_files": pl.DataFrame(files, schema=FILE_SCHEMA),
        },
        extra_metadata=count_metadata(
            {
                "files": len(files),
                "denied_lines": lines.filter(pl.col("is_denied")).height
                if lines.height
                else 0,
            }
        ),
    )


def _rows_of(
    remittance: Remittance, days: DayRange, settings: PipelineSettings
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The file's lines and adjustments that belong to `days`.

    A line belongs to its payment date; with assign_partition, every line
    belongs to the run's single day.
    """
    lines, adjustments = remittance_frames(remittance, partition_date=days.first)
    if settings.assign_partition:
        return lines, adjustments
    lines = lines.filter(
        pl.col("payment_date").is_between(days.first, days.last)
    ).with_columns(pl.col("payment_date").alias("partition_date"))
    paid_on = lines.select("remittance_line_id", "partition_date").unique(
        subset="remittance_line_id", keep="first", maintain_order=True
    )
    adjustments = adjustments.drop("partition_date").join(
        paid_on, on="remittance_line_id", how="inner", maintain_order="left"
    )
    return lines, adjustments.select(list(ADJUSTMENTS_SCHEMA))


def _concat(frames: list[pl.DataFrame], schema: dict) -> pl.DataFrame:
    """Stack the per-file frames onto a typed empty frame."""
    return pl.concat([pl.DataFrame(schema=schema), *frames], how="vertical")
