"""The jobs: the daily pipeline, its backfill form without dbt, the marts alone,
the re-validation after a code-set update, and the weekly denial report."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from dagster import (
    AssetKey,
    AssetsDefinition,
    AssetSelection,
    ExecutorDefinition,
    define_asset_job,
)

from cptflow.orchestration.executors import WAREHOUSE_TAGS
from cptflow.orchestration.partitions import daily_partitions

if TYPE_CHECKING:
    from dagster._core.definitions.unresolved_asset_job_definition import (
        UnresolvedAssetJobDefinition,
    )

DAILY_JOB = "daily_pipeline"
BACKFILL_JOB = "backfill_pipeline"
MARTS_JOB = "marts_refresh"
REVALIDATION_JOB = "code_set_revalidation"
REPORT_JOB = "weekly_denial_report"
DENIAL_REPORT_KEY = AssetKey(["reporting", "denial_pattern_report"])
# Code-set updates re-run coding and everything after it; intake, OCR and NLP do
# not depend on the code sets.
REVALIDATION_ROOT = AssetKey(["coding", "encounter_codes"])


def build_jobs(
    assets: Sequence[AssetsDefinition],
    dbt_assets: AssetsDefinition,
    executor: ExecutorDefinition,
) -> list[UnresolvedAssetJobDefinition]:
    """Every job of the code location, over the daily-partitioned assets given.

    Args:
        assets: every asset of the code location (dbt's included).
        dbt_assets: the dbt models, which backfills leave to one run at the end.
        executor: the executor chosen by $CPTFLOW_EXECUTOR.
    """
    daily = AssetSelection.assets(*_daily(assets))
    # The marts and what reads them are whole-history: built once per backfill.
    marts = AssetSelection.assets(dbt_assets).downstream() & daily
    stages = daily - marts
    jobs = [
        _job(DAILY_JOB, daily, executor, "Everything for one day's documents."),
        _job(
            BACKFILL_JOB,
            stages,
            executor,
            "The stages for one day; a backfill runs the marts once at the end.",
        ),
        _job(MARTS_JOB, marts, executor, "Rebuild and test the dbt marts."),
        _job(
            REVALIDATION_JOB,
            AssetSelection.assets(REVALIDATION_ROOT).downstream() & stages,
            executor,
            "Re-code and re-check a day against the code sets now in force.",
        ),
    ]
    if has_denial_report(assets):
        jobs.append(
            define_asset_job(
                REPORT_JOB,
                selection=AssetSelection.assets(DENIAL_REPORT_KEY),
                tags=WAREHOUSE_TAGS,
                description="The weekly denial pattern report.",
            )
        )
    return jobs


def has_denial_report(assets: Sequence[AssetsDefinition]) -> bool:
    """Whether the code location holds the denial pattern report asset."""
    return any(DENIAL_REPORT_KEY in a.keys for a in assets)


def _daily(assets: Sequence[AssetsDefinition]) -> list[AssetsDefinition]:
    """The assets on the shared daily partitions, less the weekly report."""
    return [
        a
        for a in assets
        if a.partitions_def == daily_partitions and DENIAL_REPORT_KEY not in a.keys
    ]


def _job(
    name: str,
    selection: AssetSelection,
    executor: ExecutorDefinition,
    description: str,
) -> UnresolvedAssetJobDefinition:
    """A daily-partitioned asset job whose runs queue as DuckDB writers."""
    return define_asset_job(
        name,
        selection=selection,
        partitions_def=daily_partitions,
        executor_def=executor,
        tags=WAREHOUSE_TAGS,
        description=description,
    )
