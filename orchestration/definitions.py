"""The cptflow Dagster code location: every stage's assets, checks and resources."""

from __future__ import annotations

import importlib

from dagster import AssetsDefinition, Definitions, ExecutorDefinition
from dagster_dbt import DbtCliResource

from cptflow.assets.claims import claim_lines
from cptflow.assets.coding import encounter_codes
from cptflow.assets.intake import documents
from cptflow.assets.marts import DBT_EXECUTABLE, dbt_marts, dbt_project
from cptflow.assets.nlp import procedure_mentions
from cptflow.assets.ocr import page_texts
from cptflow.assets.remits import remittance_lines
from cptflow.orchestration.code_sets import code_set_version, with_code_version
from cptflow.orchestration.executors import select_executor
from cptflow.orchestration.jobs import build_jobs, has_denial_report
from cptflow.orchestration.resources import PipelineSettings, WarehouseResource
from cptflow.orchestration.schedules import build_schedules
from cptflow.orchestration.sensors import build_code_set_sensor, build_inbox_sensor
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


def optional_assets(module_name: str) -> list[AssetsDefinition]:
    """The assets of a module another step is still writing; none when absent."""
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name and module_name.startswith(error.name):
            return []
        raise
    return [v for v in vars(module).values() if isinstance(v, AssetsDefinition)]


# What a day of remittances alone refreshes: the marts and what reads them.
DOWNSTREAM_OF_REMITTANCES = [
    *dbt_marts.keys,
    *(
        key
        for asset in optional_assets("cptflow.assets.reporting")
        for key in asset.keys
    ),
]


def build_definitions(
    paths: Paths,
    *,
    assign_partition: bool = False,
    executor: ExecutorDefinition | None = None,
) -> Definitions:
    """The code location for one set of paths (the CLI passes its own).

    Args:
        paths: where the run reads and writes.
        assign_partition: every inbox file belongs to the run's partition.
        executor: the jobs' executor; default from $CPTFLOW_EXECUTOR.
    """
    # The code-set-dependent assets carry the rules and bundled reference version
    # as code version, so partitions coded under older code sets show as stale.
    found = [
        *STAGE_ASSETS,
        *optional_assets("cptflow.assets.review"),
        *optional_assets("cptflow.assets.scrubbing"),
        *optional_assets("cptflow.assets.reporting"),
    ]
    # An asset listed in STAGE_ASSETS and found in its module again counts once.
    assets = with_code_version(
        list({id(a): a for a in found}.values()), code_set_version()
    )
    return Definitions(
        assets=assets,
        jobs=build_jobs(assets, dbt_marts, executor or select_executor()),
        schedules=build_schedules(has_report=has_denial_report(assets)),
        sensors=[build_inbox_sensor(paths), build_code_set_sensor(paths)],
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
