"""dbt models (staging, intermediate, marts) as Dagster assets via dagster-dbt."""

import io
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

from dagster import AssetExecutionContext, DagsterLogManager
from dagster_dbt import DbtCliResource, DbtProject, dbt_assets

from cptflow.orchestration.partitions import daily_partitions
from cptflow.orchestration.resources import WarehouseResource, database_key
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
    build = dbt.cli(["build", *dbt_target_args()], context=context)
    # dagster-dbt echoes every dbt log line to stdout, which is the CLI's output;
    # the lines go to Dagster's event log at debug level instead.
    with redirect_stdout(LogLineWriter(context.log)):
        yield from build.stream()


def dbt_target_args() -> list[str]:
    """The profile target for the database: `encrypted` when $CPTFLOW_DB_KEY is set."""
    return ["--target", "encrypted"] if database_key() is not None else []


class LogLineWriter(io.TextIOBase):
    """A stand-in for stdout that sends each line written to a logger at debug."""

    def __init__(self, log: DagsterLogManager) -> None:
        super().__init__()
        self._log = log
        self._pending = ""

    def writable(self) -> bool:
        """Always true: this is an output stream."""
        return True

    def write(self, text: str) -> int:
        """Log every line `text` completes; keep an unfinished one for later."""
        *lines, self._pending = (self._pending + text).split("\n")
        for line in lines:
            if line.strip():
                self._log.debug(line)
        return len(text)
