"""review.decisions and review.final_codes: the audit trail and the coders' codes."""

from collections.abc import Iterator

import polars as pl
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    MaterializeResult,
    MetadataValue,
    multi_asset,
)

from cptflow.orchestration.partitions import DayRange, daily_partitions, single_run
from cptflow.orchestration.resources import WarehouseResource
from cptflow.transforms.review import apply_review, publish_review, verify_chain
from cptflow.transforms.review.store import AUDIT_TABLES

DECISIONS_KEY = AssetKey(["review", "decisions"])
FINAL_CODES_KEY = AssetKey(["review", "final_codes"])
APPEND_ONLY_CHECK = "expect_audit_trail_to_be_append_only"


@multi_asset(
    specs=[
        AssetSpec(
            DECISIONS_KEY,
            deps=[["coding", "encounter_codes"]],
            description=(
                "One row per coding decision, append-only: the engine's proposals "
                "(rules version, confidence, evidence), each coder change (who, "
                "when, before, after, reason), acceptances and 837P submissions. "
                "Source: coding.encounter_codes and coding.physician_queries, and "
                "the coders' actions through `cptflow review` and the review page."
            ),
            group_name="review",
            partitions_def=daily_partitions,
            skippable=True,
        ),
        AssetSpec(
            FINAL_CODES_KEY,
            deps=[DECISIONS_KEY],
            description=(
                "One row per final code line of an encounter a coder accepted, with "
                "the side table review.encounter_reviews (one row per encounter and "
                "its review status). The claims stage bills these codes and holds "
                "encounters still in review."
            ),
            group_name="review",
            partitions_def=daily_partitions,
            skippable=True,
        ),
    ],
    check_specs=[
        AssetCheckSpec(
            APPEND_ONLY_CHECK,
            asset=DECISIONS_KEY,
            blocking=True,
            description="No audit row was changed or removed since it was written.",
        )
    ],
    partitions_def=daily_partitions,
    backfill_policy=single_run,
    name="review_decisions",
)
def review_decisions(
    context: AssetExecutionContext, warehouse: WarehouseResource
) -> Iterator[MaterializeResult | AssetCheckResult]:
    """Record the engine's proposals and apply the coders' accepted decisions."""
    days = DayRange.of(context)
    with warehouse.connect() as conn:
        problems = [p for table in AUDIT_TABLES for p in verify_chain(conn, table)]
        if not problems:
            # The review transforms work a day at a time; a range is its days.
            day_codes, day_reviews = [], []
            for day in days.days:
                final_codes, reviews = apply_review(conn, day)
                publish_review(conn, day, final_codes, reviews)
                day_codes.append(final_codes)
                day_reviews.append(reviews)
            final_codes = pl.concat(day_codes, how="vertical")
            reviews = pl.concat(day_reviews, how="vertical")
            decision_count = conn.execute(
                "select count(*) from review.decisions"
            ).fetchone()

    if problems:
        context.log.error("Audit trail broken: %s", "; ".join(problems[:5]))
        yield AssetCheckResult(
            check_name=APPEND_ONLY_CHECK,
            asset_key=DECISIONS_KEY,
            passed=False,
            severity=AssetCheckSeverity.ERROR,
            metadata={"problems": MetadataValue.text("\n".join(problems[:20]))},
        )
        return

    status_counts = reviews.group_by("review_status").len().rows()
    context.log.info(
        "review %s: %d encounters, %d final code lines",
        days,
        reviews.height,
        final_codes.height,
    )
    yield MaterializeResult(
        asset_key=DECISIONS_KEY,
        metadata={"dagster/row_count": int(decision_count[0]) if decision_count else 0},
    )
    yield AssetCheckResult(
        check_name=APPEND_ONLY_CHECK, asset_key=DECISIONS_KEY, passed=True
    )
    yield MaterializeResult(
        asset_key=FINAL_CODES_KEY,
        metadata={
            "dagster/row_count": final_codes.height,
            **{f"encounters_{status}": count for status, count in status_counts},
        },
    )
