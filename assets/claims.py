"""claims.claim_lines: coded encounters priced into claim lines with dx pointers."""

import polars as pl
from dagster import AssetExecutionContext, MaterializeResult, asset

from cptflow.assets.checks import check_specs_for
from cptflow.assets.publishing import (
    count_metadata,
    rows_of_day,
    stage_check_publish,
)
from cptflow.orchestration.partitions import DayRange, daily_partitions, single_run
from cptflow.orchestration.resources import WarehouseResource
from cptflow.transforms.claims import build_claims

KEY = ("claims", "claim_lines")


@asset(
    key=list(KEY),
    deps=[["coding", "encounter_codes"], ["review", "final_codes"]],
    partitions_def=daily_partitions,
    backfill_policy=single_run,
    check_specs=check_specs_for(KEY),
    group_name="claims",
)
def claim_lines(
    context: AssetExecutionContext, warehouse: WarehouseResource
) -> MaterializeResult:
    """One row per claim line: a coded CPT line priced from the fee schedule.

    Source: coding.encounters, coding.encounter_codes and the coders' decisions
    (review.final_codes, review.encounter_reviews). The claim headers go to the
    side table claims.claims; a claim whose encounter awaits review is held, and
    an accepted one is billed with the coder's codes.
    """
    days = DayRange.of(context)
    encounters, codes, final_codes, reviews = _inputs(warehouse, days)

    # Claims are built a day at a time; a range is its days.
    built = [
        build_claims(
            rows_of_day(encounters, day),
            rows_of_day(codes, day),
            partition_date=day,
            final_codes=None if final_codes is None else rows_of_day(final_codes, day),
            reviews=None if reviews is None else rows_of_day(reviews, day),
        )
        for day in days.days
    ]
    claims = pl.concat([day_claims for day_claims, _ in built], how="vertical")
    lines = pl.concat([day_lines for _, day_lines in built], how="vertical")

    check_frame = lines.join(
        claims.select("claim_id", pl.col("status").alias("claim_status")),
        on="claim_id",
    ).with_columns(
        pl.col("diagnosis_pointers").list.len().alias("diagnosis_pointer_count")
    )
    held = claims.filter(pl.col("status") == "held").height
    context.log.info(
        "claims %s: %d claims (%d held), %d lines",
        days,
        claims.height,
        held,
        lines.height,
    )
    return stage_check_publish(
        context,
        warehouse,
        asset_key=KEY,
        frames={"claim_lines": lines, "claims": claims},
        check_frame=check_frame,
        extra_metadata=count_metadata(
            {
                "claims": claims.height,
                "held_claims": held,
                "billed_cents": int(round(lines["charge_amount"].sum() * 100)),
            }
        ),
    )


def _inputs(
    warehouse: WarehouseResource, days: DayRange
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame | None, pl.DataFrame | None]:
    """The encounters, codes and coder decisions of `days`.

    Returns:
        Encounters with their billing NPI, their code lines, and the coder-final
        codes and review states (None for both before review has ever run).
    """
    span = [days.first, days.last]
    encounters = warehouse.read(
        "select e.*, d.billing_npi from coding.encounters e "
        "left join intake.documents d "
        "on d.document_id = e.document_id and d.partition_date = e.partition_date "
        # A duplicate upload shares the document id: join the registered file only.
        "and d.status = 'processed' "
        "where e.partition_date between ? and ? order by e.encounter_id",
        span,
    )
    codes = warehouse.read(
        "select * from coding.encounter_codes where partition_date between ? and ? "
        "order by encounter_id, code_sequence",
        span,
    )
    if not (
        warehouse.table_exists("review", "final_codes")
        and warehouse.table_exists("review", "encounter_reviews")
    ):
        return encounters, codes, None, None
    final_codes = warehouse.read(
        "select * from review.final_codes where partition_date between ? and ?", span
    )
    reviews = warehouse.read(
        "select * from review.encounter_reviews where partition_date between ? and ?",
        span,
    )
    return encounters, codes, final_codes, reviews
