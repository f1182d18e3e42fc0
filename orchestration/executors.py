"""Which Dagster executor runs the steps, chosen by $CPTFLOW_EXECUTOR, and the
instance settings that keep DuckDB to one writing run at a time."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from dagster import ExecutorDefinition, in_process_executor, multiprocess_executor

EXECUTOR_ENV = "CPTFLOW_EXECUTOR"
EXECUTOR_NAMES = ("in_process", "multiprocess", "celery", "k8s")
# Every run of a job that writes the DuckDB file carries this tag; the instance's
# run queue lets one such run go at a time (DuckDB allows one writer per file).
WAREHOUSE_TAG_KEY = "cptflow/warehouse"
WAREHOUSE_TAGS = {WAREHOUSE_TAG_KEY: "duckdb"}
# Step processes fork from a server that has imported the code location once, so
# a step starts in about a second instead of re-importing medspaCy, dbt and GX.
PRELOAD_MODULES = ["cptflow.orchestration.warm_start"]


class ExecutorChoiceError(ValueError):
    """$CPTFLOW_EXECUTOR names no executor cptflow knows, or its package is absent."""


def executor_name(environ: Mapping[str, str] | None = None) -> str:
    """The executor asked for by $CPTFLOW_EXECUTOR, `in_process` when unset.

    Raises:
        ExecutorChoiceError: when the name is not one of EXECUTOR_NAMES.
    """
    env = os.environ if environ is None else environ
    name = env.get(EXECUTOR_ENV, "in_process").strip() or "in_process"
    if name not in EXECUTOR_NAMES:
        raise ExecutorChoiceError(
            f"{EXECUTOR_ENV}={name!r} is not one of {', '.join(EXECUTOR_NAMES)}"
        )
    return name


def executor_config(
    name: str, environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The configuration of the named executor, read from `CPTFLOW_*` variables."""
    env = os.environ if environ is None else environ
    max_concurrent = int(env.get("CPTFLOW_MAX_CONCURRENT", "2"))
    if name == "multiprocess":
        return {
            "max_concurrent": max_concurrent,
            "start_method": {"forkserver": {"preload_modules": PRELOAD_MODULES}},
        }
    if name == "celery":
        return {
            "broker": env.get("CPTFLOW_CELERY_BROKER", "pyamqp://guest@localhost//"),
            "backend": env.get("CPTFLOW_CELERY_BACKEND", "rpc://"),
            "include": ["cptflow.orchestration.definitions"],
        }
    if name == "k8s":
        return {
            "job_namespace": env.get("CPTFLOW_K8S_NAMESPACE", "cptflow"),
            "job_image": env.get("CPTFLOW_K8S_IMAGE", "cptflow:latest"),
            "max_concurrent": max_concurrent,
            "load_incluster_config": env.get("CPTFLOW_K8S_IN_CLUSTER", "1") == "1",
            "env_vars": ["CPTFLOW_DB", "CPTFLOW_INBOX", "CPTFLOW_REMITS"],
        }
    return {}


def select_executor(environ: Mapping[str, str] | None = None) -> ExecutorDefinition:
    """The configured executor definition for $CPTFLOW_EXECUTOR.

    Raises:
        ExecutorChoiceError: for an unknown name, or for celery / k8s when the
            optional `distributed` dependencies are not installed.
    """
    name = executor_name(environ)
    config = executor_config(name, environ)
    if name == "in_process":
        return in_process_executor
    if name == "multiprocess":
        return multiprocess_executor.configured(config, name="multiprocess")
    return _distributed_executor(name).configured(config, name=name)


def _distributed_executor(name: str) -> ExecutorDefinition:
    """dagster-celery's or dagster-k8s's executor, imported only when chosen."""
    try:
        if name == "celery":
            from dagster_celery import celery_executor

            return celery_executor
        from dagster_k8s import k8s_job_executor

        return k8s_job_executor
    except ImportError as error:
        raise ExecutorChoiceError(
            f"{EXECUTOR_ENV}={name} needs the optional dependencies: "
            f"uv sync --extra distributed ({error.name} is missing)"
        ) from None


def instance_settings() -> dict[str, Any]:
    """The dagster.yaml settings cptflow needs: telemetry off, one writing run.

    Runs tagged WAREHOUSE_TAGS queue behind each other, so a backfill launched from
    the UI runs its partitions one after another; inside a run, steps that write
    only hold short connections, which the DuckDB resource retries when locked.
    """
    return {
        "telemetry": {"enabled": False},
        "concurrency": {
            "runs": {
                "tag_concurrency_limits": [
                    {"key": WAREHOUSE_TAG_KEY, "value": "duckdb", "limit": 1}
                ]
            }
        },
    }


def ensure_instance_settings(dagster_home: Path) -> Path:
    """Merge instance_settings() into DAGSTER_HOME/dagster.yaml, keeping the rest.

    Returns:
        The dagster.yaml path.
    """
    dagster_home.mkdir(parents=True, exist_ok=True)
    path = dagster_home / "dagster.yaml"
    current = yaml.safe_load(path.read_text()) if path.exists() else None
    merged = dict(current or {})
    for key, value in instance_settings().items():
        merged.setdefault(key, value)
    if merged != current:
        path.write_text(yaml.safe_dump(merged, sort_keys=False))
    return path
