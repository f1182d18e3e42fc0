"""intake.documents: every inbox file registered by content hash, or quarantined."""

from datetime import date
from pathlib import Path

from dagster import AssetExecutionContext, MaterializeResult, asset

from cptflow.assets.checks import check_specs_for
from cptflow.assets.publishing import count_metadata, stage_check_publish
from cptflow.orchestration.partitions import DayRange, daily_partitions, single_run
from cptflow.orchestration.resources import PipelineSettings, WarehouseResource
from cptflow.transforms.inbox_partitions import received_date_of_file
from cptflow.transforms.intake import scan_inbox
from cptflow.transforms.manifest import read_manifest

KEY = ("intake", "documents")


@asset(
    key=list(KEY),
    partitions_def=daily_partitions,
    backfill_policy=single_run,
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
    processed again; an unreadable file is quarantined with its reason. A run of
    a range of days registers each file under its own received date.
    """
    days = DayRange.of(context)
    inbox = Path(settings.inbox_dir)
    manifest = read_manifest(inbox) if inbox.is_dir() else {}

    if settings.assign_partition and not days.is_single_day:
        raise ValueError(f"assign_partition needs a single partition, not {days}")

    def partition_of(path: Path) -> date | None:
        """The file's day when the run covers it; files of other days are skipped."""
        if settings.assign_partition:
            return days.first
        received = received_date_of_file(path, manifest)
        return received if received in days else None

    frame = scan_inbox(
        inbox,
        partition_of=partition_of,
        registered=_registered_elsewhere(warehouse, days),
        manifest=manifest,
    )

    counts = frame.group_by("status").len()
    context.log.info(
        "intake %s: %s",
        days,
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
    warehouse: WarehouseResource, days: DayRange
) -> dict[str, str]:
    """Document ids already registered by partitions outside `days`, with paths."""
    if not warehouse.table_exists(*KEY):
        return {}
    rows = warehouse.read(
        "select document_id, file_path from intake.documents "
        "where status = 'processed' and partition_date not between ? and ?",
        [days.first, days.last],
    )
    return dict(zip(rows["document_id"], rows["file_path"], strict=True))
