"""intake.documents: every inbox file registered by content hash, or quarantined."""

from pathlib import Path

import polars as pl
from dagster import AssetExecutionContext, MaterializeResult, asset

from cptflow.assets.checks import check_specs_for
from cptflow.assets.publishing import count_metadata, stage_check_publish
from cptflow.orchestration.partitions import daily_partitions, partition_date_of
from cptflow.orchestration.resources import PipelineSettings, WarehouseResource
from cptflow.transforms.inbox_partitions import files_in_partition
from cptflow.transforms.intake import scan_inbox
from cptflow.transforms.manifest import read_manifest

KEY = ("intake", "documents")


@asset(
    key=list(KEY),
    partitions_def=daily_partitions,
    check_specs=check_specs_for(KEY),
    group_name="intake",
)
def documents(
    context: AssetExecutionContext,
    warehouse: WarehouseResource,
    settings: PipelineSettings,
) -> MaterializeResult:
    """One row per inbox file of the partition's received date and its content hash.

    Source: the inbox folder and its optional manifest. A file whose hash is already
    registered under another path or partition is recorded as a duplicate and not
    processed again; an unreadable file is quarantined with its reason.
    """
    partition_date = partition_date_of(context.partition_key)
    inbox = Path(settings.inbox_dir)
    manifest = read_manifest(inbox) if inbox.is_dir() else {}

    registered = _registered_elsewhere(warehouse, context.partition_key)
    frame = scan_inbox(
        inbox,
        partition_date=partition_date,
        registered=registered,
        manifest=manifest,
    )

    if not settings.assign_partition:
        keep = files_in_partition(frame, manifest, partition_date)
        frame = frame.filter(pl.col("file_path").is_in(keep))

    counts = frame.group_by("status").len()
    context.log.info(
        "intake %s: %s",
        context.partition_key,
        dict(zip(counts["status"], counts["len"], strict=True)),
    )
    return stage_check_publish(
        context,
        warehouse,
        asset_key=KEY,
        frames={"documents": frame},
        extra_metadata=count_metadata(
            {
                f"{status}_files": int(n)
                for status, n in zip(counts["status"], counts["len"], strict=True)
            }
        ),
    )


def _registered_elsewhere(
    warehouse: WarehouseResource, partition_key: str
) -> dict[str, str]:
    """Document ids already registered by other partitions, with their paths."""
    if not warehouse.table_exists(*KEY):
        return {}
    rows = warehouse.read(
        "select document_id, file_path from intake.documents "
        "where status = 'processed' and partition_date <> ?",
        [partition_date_of(partition_key)],
    )
    return dict(zip(rows["document_id"], rows["file_path"], strict=True))
