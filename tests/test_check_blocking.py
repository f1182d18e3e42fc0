"""A failing blocking check stops what is downstream, across the dbt boundary too.

dagster-io/dagster#25112 reports Python assets downstream of dbt running after a
dbt test failed. These tests pin what the pinned Dagster and dagster-dbt do.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    DagsterEventType,
    DagsterInstance,
    MaterializeResult,
    asset,
    materialize,
)
from dagster_dbt import DbtCliResource

from cptflow.assets.marts import DBT_EXECUTABLE, dbt_marts, dbt_project
from cptflow.orchestration.partitions import daily_partitions
from cptflow.orchestration.resources import WarehouseResource

pytestmark = pytest.mark.slow

FIXTURE_SQL = Path(__file__).parent / "fixtures" / "contract_tables.sql"
PARTITION = "2026-11-02"
REMITS = AssetKey(["remits", "remittance_lines"])
FCT_CLAIM_LINES = AssetKey(["marts", "fct_claim_lines"])


@asset(
    key=REMITS,
    partitions_def=daily_partitions,
    check_specs=[
        AssetCheckSpec("expect_lines_to_balance", asset=REMITS, blocking=True)
    ],
)
def failing_remittances() -> MaterializeResult:
    """Stands in for the remits stage with a blocking check that fails."""
    return MaterializeResult(
        check_results=[
            AssetCheckResult(
                check_name="expect_lines_to_balance",
                passed=False,
                severity=AssetCheckSeverity.ERROR,
            )
        ]
    )


@asset(key=["reports", "claim_line_export"], deps=[FCT_CLAIM_LINES])
def claim_line_export() -> None:
    """A Python asset downstream of a dbt mart, as in dagster-io/dagster#25112."""


def _fixture_db(path: Path, *, break_a_dbt_test: bool) -> Path:
    with duckdb.connect(str(path)) as conn:
        conn.execute(FIXTURE_SQL.read_text())
        if break_a_dbt_test:
            # not_null on stg_claims__claim_lines.encounter_id is an error test.
            conn.execute(
                "update claims.claim_lines set encounter_id = null "
                "where claim_line_number = 1"
            )
    return path


def _materialize(assets: list, db: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("CPTFLOW_DB", str(db))
    instance = DagsterInstance.ephemeral()
    return materialize(
        [*assets, dbt_marts],
        partition_key=PARTITION,
        instance=instance,
        raise_on_error=False,
        resources={
            "dbt": DbtCliResource(
                project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE
            ),
            "warehouse": WarehouseResource(database=str(db)),
        },
    )


def _materialized(result) -> set[AssetKey]:
    return {
        event.asset_key
        for event in result.all_events
        if event.event_type == DagsterEventType.ASSET_MATERIALIZATION
    }


def _started_steps(result) -> set[str]:
    return {
        event.step_key
        for event in result.all_events
        if event.event_type == DagsterEventType.STEP_START
    }


def test_failing_python_check_blocks_the_dbt_models(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = _fixture_db(tmp_path / "fixture.duckdb", break_a_dbt_test=False)

    result = _materialize([failing_remittances], db, monkeypatch)

    assert not result.success
    assert _materialized(result) == {REMITS}
    assert "dbt_marts" not in _started_steps(result)


def test_failing_dbt_test_blocks_a_python_asset_downstream(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = _fixture_db(tmp_path / "fixture.duckdb", break_a_dbt_test=True)

    result = _materialize([claim_line_export], db, monkeypatch)

    failed_checks = {
        event.event_specific_data.check_name
        for event in result.all_events
        if event.event_type == DagsterEventType.ASSET_CHECK_EVALUATION
        and not event.event_specific_data.passed
    }
    assert not result.success
    assert "not_null_stg_claims__claim_lines_encounter_id" in failed_checks
    assert AssetKey(["reports", "claim_line_export"]) not in _materialized(result)
    assert "claim_line_export" not in _started_steps(result)
