"""The cptflow Dagster code location: every stage's assets, checks and resources."""

from __future__ import annotations

from dagster import (
    AssetSelection,
    Definitions,
    define_asset_job,
    in_process_executor,
)
from dagster_dbt import DbtCliResource

from cptflow.assets.claims import claim_lines
from cptflow.assets.coding import encounter_codes
from cptflow.assets.intake import documents
from cptflow.assets.marts import DBT_EXECUTABLE, dbt_marts, dbt_project
from cptflow.assets.nlp import procedure_mentions
from cptflow.assets.ocr import page_texts
from cptflow.assets.remits import remittance_lines
from cptflow.orchestration.partitions import daily_partitions
from cptflow.orchestration.resources import PipelineSettings, WarehouseResource
from cptflow.orchestration.settings import Paths, quiet_environment

quiet_environment()

STAGE_ASSETS = [
    documents,
    page_texts,
    procedure_mentions,
    encounter_codes,
    claim_lines,
    remittance_lines,
    dbt_marts,
]

# Everything for one day: documents received and remittances paid on that date.
daily_pipeline = define_asset_job(
    "daily_pipeline",
    selection=AssetSelection.assets(*STAGE_ASSETS),
    partitions_def=daily_partitions,
    executor_def=in_process_executor,
)


def build_definitions(paths: Paths, *, assign_partition: bool = False) -> Definitions:
    """The code location for one set of paths (the CLI passes its own)."""
    return Definitions(
        assets=STAGE_ASSETS,
        jobs=[daily_pipeline],
        resources={
            "warehouse": WarehouseResource(database=str(paths.db)),
            "settings": PipelineSettings(
                inbox_dir=str(paths.inbox),
                remits_dir=str(paths.remits),
                claims_out_dir=str(paths.claims_out),
                assign_partition=assign_partition,
            ),
            "dbt": DbtCliResource(
                project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE
            ),
        },
    )


defs = build_definitions(Paths.from_env())
