"""claims.claim_edits and claims.claim_files: scrub claim lines, write 837P files."""

from datetime import date, datetime, time
from pathlib import Path

import polars as pl
from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from cptflow.assets.checks import check_specs_for
from cptflow.assets.publishing import (
    count_metadata,
    rows_of_day,
    stage_check_publish,
)
from cptflow.orchestration.partitions import DayRange, daily_partitions, single_run
from cptflow.orchestration.resources import PipelineSettings, WarehouseResource
from cptflow.transforms.reference.load import has_reference_data, load_bundled
from cptflow.transforms.review.actions import record_submissions
from cptflow.transforms.scrubbing.claim_files import (
    claims_for_file,
    held_claim_ids,
    load_submission,
    write_claim_file,
)
from cptflow.transforms.scrubbing.engine import scrub

EDITS_KEY = ("claims", "claim_edits")
FILES_KEY = ("claims", "claim_files")
FILE_SCHEMA = {
    "partition_date": pl.Date,
    "file_name": pl.Utf8,
    "control_number": pl.Int64,
    "claim_count": pl.Int32,
    "claim_ids": pl.List(pl.Utf8),
    "held_claim_ids": pl.List(pl.Utf8),
}
_CLAIMS_SQL = (
    "select c.*, d.patient_name, d.patient_birth_date, d.patient_sex "
    "from claims.claims c "
    "left join coding.encounters e on e.encounter_id = c.encounter_id "
    "and e.partition_date = c.partition_date "
    "left join intake.documents d on d.document_id = e.document_id "
    "and d.partition_date = e.partition_date and d.status = 'processed' "
    "where c.partition_date between ? and ? and c.status = 'ready' "
    "order by c.claim_id"
)
_LINES_SQL = (
    "select l.* from claims.claim_lines l join claims.claims c "
    "on c.claim_id = l.claim_id and c.partition_date = l.partition_date "
    "where l.partition_date between ? and ? and c.status = 'ready' "
    "order by l.claim_id, l.claim_line_number"
)


@asset(
    key=list(EDITS_KEY),
    deps=[["claims", "claim_lines"]],
    partitions_def=daily_partitions,
    backfill_policy=single_run,
    check_specs=check_specs_for(EDITS_KEY),
    group_name="claims",
)
def claim_edits(
    context: AssetExecutionContext, warehouse: WarehouseResource
) -> MaterializeResult:
    """One row per edit a ready claim fails: NCCI PTP, MUE, add-on, invalid code or
    diagnosis, modifier, NPI, missing field or reference version.

    Source: claims.claims and claims.claim_lines, checked against the reference
    version in force on each date of service (the bundled extract when none is
    loaded).
    """
    days = DayRange.of(context)
    claims, lines = _ready_claims(warehouse, days)

    day_edits = []
    with warehouse.connect() as conn:
        if not has_reference_data(conn):
            context.log.warning("no reference data loaded: loading the bundled extract")
            load_bundled(conn)
        # The scrubber checks one day's claims at a time; a range is its days.
        for day in days.days:
            edits = scrub(
                conn, _scrub_claims(rows_of_day(claims, day)), rows_of_day(lines, day)
            )
            day_edits.append(edits.with_columns(pl.lit(day).alias("partition_date")))
    edits = pl.concat(day_edits, how="vertical")

    held = len(held_claim_ids(edits))
    context.log.info(
        "claim edits %s: %d edits, %d of %d claims rejected",
        days,
        edits.height,
        held,
        claims.height,
    )
    return stage_check_publish(
        context,
        warehouse,
        asset_key=EDITS_KEY,
        frames={"claim_edits": edits},
        extra_metadata=count_metadata(
            {"claims": claims.height, "rejected_claims": held}
        ),
    )


@asset(
    key=list(FILES_KEY),
    deps=[list(EDITS_KEY)],
    partitions_def=daily_partitions,
    backfill_policy=single_run,
    group_name="claims",
)
def claim_files(
    context: AssetExecutionContext,
    warehouse: WarehouseResource,
    settings: PipelineSettings,
) -> MaterializeResult:
    """One row per 837P file written for the day's clean claims; claims with reject
    edits are held back and listed.

    Source: claims.claims, claims.claim_lines and claims.claim_edits. Files go to
    the settings' claims_out_dir, named by their never-repeating control number.
    """
    days = DayRange.of(context)
    claims, lines = _ready_claims(warehouse, days)
    edits = warehouse.read(
        "select * from claims.claim_edits where partition_date between ? and ?",
        [days.first, days.last],
    )
    earlier = _earlier_files(warehouse, days)

    # One 837P file per day: a range writes each of its days' files in turn.
    rows, written, held = [], 0, 0
    for day in days.days:
        day_rows, day_written, day_held = _write_day_files(
            warehouse,
            settings,
            day,
            rows_of_day(claims, day),
            rows_of_day(lines, day),
            rows_of_day(edits, day),
            [row for row in earlier if row["partition_date"] == day],
        )
        rows.extend(day_rows)
        written += day_written
        held += day_held
    files = pl.DataFrame(rows, schema=FILE_SCHEMA)
    warehouse.stage("claims", "claim_files", files, days)
    warehouse.publish([("claims", "claim_files")], days)

    context.log.info("claim files %s: %d claims written, %d held", days, written, held)
    return MaterializeResult(
        metadata={
            "dagster/row_count": files.height,
            "claims_written": MetadataValue.int(written),
            "held_claims": MetadataValue.int(held),
        }
    )


def _write_day_files(
    warehouse: WarehouseResource,
    settings: PipelineSettings,
    partition_date: date,
    claims: pl.DataFrame,
    lines: pl.DataFrame,
    edits: pl.DataFrame,
    rows: list[dict],
) -> tuple[list[dict], int, int]:
    """Write one day's 837P file for its clean claims not sent before.

    Args:
        warehouse: the DuckDB resource.
        settings: gives the folder the files go to.
        partition_date: the day.
        claims: the day's ready claims.
        lines: their lines.
        edits: the day's edits.
        rows: the day's file rows already published, in file order.

    Returns:
        The day's file rows (earlier ones, then the new one), the claims
        written, and the claims held by reject edits.
    """
    submission, payer_name = load_submission()
    clean = claims_for_file(
        _with_patient_names(claims), lines, edits, payer_name=payer_name
    )
    held = held_claim_ids(edits)

    # A claim goes out once: a rerun of the day writes files only for claims no
    # earlier file carried, and keeps the day's earlier file rows.
    rows = list(rows)
    sent = {claim_id for row in rows for claim_id in row["claim_ids"]}
    clean = [claim for claim in clean if claim.claim_id not in sent]
    if clean:
        with warehouse.connect() as conn:
            path, number = write_claim_file(
                conn,
                clean,
                out_dir=Path(settings.claims_out_dir),
                submission=submission,
                created=datetime.combine(partition_date, time(12, 0)),
            )
            # The audit trail records which file carried each final code.
            record_submissions(
                conn,
                lines.filter(pl.col("claim_id").is_in([c.claim_id for c in clean])),
                file_name=path.name,
            )
        rows.append(
            {
                "partition_date": partition_date,
                "file_name": path.name,
                "control_number": number,
                "claim_count": len(clean),
                "claim_ids": [c.claim_id for c in clean],
                "held_claim_ids": held,
            }
        )
    return rows, len(clean), len(held)


def _earlier_files(warehouse: WarehouseResource, days: DayRange) -> list[dict]:
    """The 837P file rows of `days` already published, in file order."""
    if not warehouse.table_exists("claims", "claim_files"):
        return []
    return warehouse.read(
        "select * from claims.claim_files where partition_date between ? and ? "
        "order by partition_date, control_number",
        [days.first, days.last],
    ).to_dicts()


def _ready_claims(
    warehouse: WarehouseResource, days: DayRange
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The ready claims of `days` with their patients, and their lines."""
    claims = warehouse.read(_CLAIMS_SQL, [days.first, days.last])
    lines = warehouse.read(_LINES_SQL, [days.first, days.last])
    return claims, lines


def _scrub_claims(claims: pl.DataFrame) -> pl.DataFrame:
    """Claim headers in the scrubber's columns; the pipeline knows the patient as
    subscriber and bills under the submission's provider."""
    return claims.with_columns(
        pl.lit(True).alias("has_subscriber"),
        pl.lit(True).alias("has_billing_provider"),
    )


def _with_patient_names(claims: pl.DataFrame) -> pl.DataFrame:
    """Split `First Last` patient names into the 837P's last and first names."""
    names = pl.col("patient_name").fill_null("").str.strip_chars()
    return claims.with_columns(
        names.str.extract(r"(\S+)$").str.to_uppercase().alias("patient_last_name"),
        names.str.extract(r"^(.*)\s+\S+$")
        .str.to_uppercase()
        .alias("patient_first_name"),
    )
