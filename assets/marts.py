"""dbt models (staging, intermediate, marts) as Dagster assets via dagster-dbt."""

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dagster import AssetExecutionContext
from dagster_dbt import DbtCliResource, DbtProject, dbt_assets

from cptflow.orchestration.partitions import daily_partitions
from cptflow.orchestration.resources import WarehouseResource
from cptflow.orchestration.settings import DBT_PROJECT_DIR

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
# The dbt of this environment, which need not be on PATH.
DBT_EXECUTABLE = str(Path(sys.executable).parent / "dbt")


def prepare_dbt_manifest() -> None:
    """Parse the dbt project when its manifest is missing or older than a model.

    dagster-dbt reads the manifest when the definitions load, so it must exist
    before they are imported; `dbt parse` works offline and takes a few seconds.
    """
    manifest = dbt_project.manifest_path
    sources = [
        p
        for p in DBT_PROJECT_DIR.rglob("*")
        if p.suffix in {".sql", ".yml", ".csv"} and "target" not in p.parts
    ]
    newest = max((p.stat().st_mtime for p in sources), default=0.0)
    if not manifest.exists() or manifest.stat().st_mtime < newest:
        subprocess.run(
            [
                DBT_EXECUTABLE,
                "parse",
                "--quiet",
                "--project-dir",
                str(DBT_PROJECT_DIR),
                "--profiles-dir",
                str(DBT_PROJECT_DIR),
            ],
            check=True,
            env={"CPTFLOW_DB": str(DBT_PROJECT_DIR / "parse.duckdb"), **os.environ},
            stdout=subprocess.DEVNULL,
        )


prepare_dbt_manifest()


@dbt_assets(
    manifest=dbt_project.manifest_path,
    partitions_def=daily_partitions,
    name="dbt_marts",
)
def dbt_marts(
    context: AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource
) -> Iterator[Any]:
    """Rebuild and test the reporting models over every partition published so far.

    The marts are whole-history tables, so each partition's run rebuilds them; dbt's
    tests run as asset checks and a failing one fails the run.
    """
    os.environ["CPTFLOW_DB"] = warehouse.database
    yield from dbt.cli(["build"], context=context).stream()
