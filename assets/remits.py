"""remits.remittance_lines: 835 service-line payments and adjustments by pay date."""

import hashlib
from datetime import date
from pathlib import Path

import polars as pl
from dagster import AssetExecutionContext, MaterializeResult, asset

from cptflow.assets.checks import check_specs_for
from cptflow.assets.publishing import count_metadata, stage_check_publish
from cptflow.orchestration.partitions import daily_partitions, partition_date_of
from cptflow.orchestration.resources import PipelineSettings, WarehouseResource
from cptflow.transforms.errors import X12Error
from cptflow.transforms.remits import (
    ADJUSTMENTS_SCHEMA,
    LINES_SCHEMA,
    remittance_frames,
)
from cptflow.transforms.x12.remit835 import parse_835

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
    partition_date = partition_date_of(context.partition_key)
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
            "partition_date": partition_date,
            "status": "processed",
            "reason": None,
            "segment_index": None,
            "segment_id": None,
        }
        try:
            lines, adjustments = remittance_frames(
                parse_835(data, file_name=path.name), partition_date=partition_date
            )
        except X12Error as error:
            context.log.warning("remittance file %s quarantined", path.name)
            record.update(
                status="quarantined",
                reason=error.reason,
                segment_index=error.segment_index,
                segment_id=error.segment_id,
            )
            files.append(record)
            continue
        if not settings.assign_partition:
            lines, adjustments = _paid_on(lines, adjustments, partition_date)
        if lines.height:
            files.append(record)
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


def _paid_on(
    lines: pl.DataFrame, adjustments: pl.DataFrame, partition_date: date
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Keep the lines whose payment date is the partition's date."""
    kept = lines.filter(pl.col("payment_date") == partition_date)
    return kept, adjustments.filter(
        pl.col("remittance_line_id").is_in(kept["remittance_line_id"].implode())
    )


def _concat(frames: list[pl.DataFrame], schema: dict) -> pl.DataFrame:
    """Stack the per-file frames onto a typed empty frame."""
    return pl.concat([pl.DataFrame(schema=schema), *frames], how="vertical")
