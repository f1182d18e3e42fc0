"""The code location loads: jobs, schedules, sensors, checks, every executor, and
the shared-warehouse dbt target parses."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from dagster import (
    BackfillPolicy,
    DagsterInvalidConfigError,
    multiprocess_executor,
    validate_run_config,
)

from cptflow.orchestration.definitions import build_definitions
from cptflow.orchestration.executors import select_executor
from cptflow.orchestration.jobs import (
    BACKFILL_JOB,
    DAILY_JOB,
    MARTS_JOB,
    REVALIDATION_JOB,
)
from cptflow.orchestration.settings import DBT_PROJECT_DIR, Paths


def _defs(tmp_path: Path, environ: dict[str, str] | None = None):
    paths = Paths.from_env(db=tmp_path / "cptflow.duckdb")
    return build_definitions(paths, executor=select_executor(environ or {}))


def test_definitions_load_jobs_schedules_sensors_and_checks(tmp_path: Path) -> None:
    repository = _defs(tmp_path).get_repository_def()

    jobs = {job.name for job in repository.get_all_jobs()}
    assert {DAILY_JOB, BACKFILL_JOB, MARTS_JOB, REVALIDATION_JOB} <= jobs
    assert "daily_coding_schedule" in {s.name for s in repository.schedule_defs}
    assert {s.name for s in repository.sensor_defs} == {
        "new_files_sensor",
        "code_set_update_sensor",
    }
    checks = repository.asset_graph.asset_check_keys
    assert any(key.asset_key.path == ["intake", "documents"] for key in checks)


def test_weekly_report_schedule_follows_the_report_asset(tmp_path: Path) -> None:
    defs = _defs(tmp_path)
    repository = defs.get_repository_def()
    has_report = any(
        key.path == ["reporting", "denial_pattern_report"]
        for key in defs.resolve_all_asset_keys()
    )

    schedules = {s.name for s in repository.schedule_defs}

    assert ("weekly_denial_report_schedule" in schedules) == has_report


def test_backfill_job_leaves_the_marts_to_one_run_at_the_end(tmp_path: Path) -> None:
    defs = _defs(tmp_path)
    stages = defs.resolve_job_def(BACKFILL_JOB).asset_layer.executable_asset_keys
    marts = defs.resolve_job_def(MARTS_JOB).asset_layer.executable_asset_keys

    assert ["intake", "documents"] in [key.path for key in stages]
    assert not stages & marts
    assert all(key.path[0] != "marts" for key in stages)


def test_daily_assets_backfill_a_partition_range_in_one_run(tmp_path: Path) -> None:
    defs = _defs(tmp_path)
    job = defs.resolve_job_def(DAILY_JOB)
    keys = job.asset_layer.executable_asset_keys

    policies = {
        key.to_user_string(): defs.resolve_assets_def(key).backfill_policy
        for key in keys
    }

    assert {"intake/documents", "claims/claim_files"} <= set(policies)
    assert {
        name
        for name, policy in policies.items()
        if policy != BackfillPolicy.single_run()
    } == set()
    # A backfill launched from a job's Partitions page follows the job's policy.
    for name in (DAILY_JOB, BACKFILL_JOB, MARTS_JOB, REVALIDATION_JOB):
        assert defs.resolve_job_def(name).backfill_policy == BackfillPolicy.single_run()


def test_code_set_assets_carry_the_code_set_version(tmp_path: Path) -> None:
    defs = _defs(tmp_path)

    coding = defs.resolve_assets_def(["coding", "encounter_codes"])
    intake = defs.resolve_assets_def(["intake", "documents"])

    assert coding.code_versions_by_key[coding.key].startswith("rules=")
    assert intake.code_versions_by_key[intake.key] is None


@pytest.mark.parametrize(
    "executor", ["in_process", "multiprocess", "celery", "k8s"], ids=str
)
def test_definitions_load_with_each_executor(tmp_path: Path, executor: str) -> None:
    defs = _defs(tmp_path, {"CPTFLOW_EXECUTOR": executor})

    job = defs.resolve_job_def(DAILY_JOB)

    assert job.executor_def.name == executor
    # Resolving the run config checks the executor's configuration against its
    # schema (broker, namespace, image...); an invalid one raises here.
    assert validate_run_config(job, {}) is not None


def test_invalid_executor_configuration_fails_validation(tmp_path: Path) -> None:
    paths = Paths.from_env(db=tmp_path / "cptflow.duckdb")
    bad = multiprocess_executor.configured({"max_concurrent": "two"}, name="bad")
    job = build_definitions(paths, executor=bad).resolve_job_def(DAILY_JOB)

    with pytest.raises(DagsterInvalidConfigError, match="max_concurrent"):
        validate_run_config(job, {})


@pytest.mark.slow
def test_dbt_parses_for_the_shared_warehouse_target(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "CPTFLOW_DB": str(tmp_path / "pipeline.duckdb"),
        "CPTFLOW_WAREHOUSE_DB": str(tmp_path / "warehouse.duckdb"),
        "DO_NOT_TRACK": "1",
    }
    dbt = Path(sys.executable).parent / "dbt"

    result = subprocess.run(
        [
            str(dbt),
            "parse",
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target",
            "warehouse",
            "--target-path",
            str(tmp_path / "target"),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stdout[-2000:]
    assert (tmp_path / "target" / "manifest.json").exists()
