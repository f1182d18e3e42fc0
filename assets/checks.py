"""Great Expectations suites wired in as blocking Dagster asset checks."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl
from dagster import AssetCheckResult, AssetCheckSeverity, AssetCheckSpec

from cptflow.expectations.runner import CheckOutcome, load_suite, validate_frame


def check_specs_for(asset_key: tuple[str, str]) -> list[AssetCheckSpec]:
    """One check spec per named check of the asset's suite; errors block downstream."""
    suite = load_suite(asset_key)
    return [
        AssetCheckSpec(
            name,
            asset=list(asset_key),
            blocking=severity == "error",
            description=f"Great Expectations suite {suite.name}: {name}",
        )
        for name, severity in suite.checks.items()
    ]


def run_checks(asset_key: tuple[str, str], frame: pl.DataFrame) -> list[CheckOutcome]:
    """Validate a stage's staged frame with its suite."""
    return validate_frame(frame, load_suite(asset_key))


def check_results(
    outcomes: Sequence[CheckOutcome], *, staging_table: str
) -> list[AssetCheckResult]:
    """Turn outcomes into Dagster check results that name keys and counts only."""
    return [
        AssetCheckResult(
            check_name=outcome.check,
            passed=outcome.passed,
            severity=(
                AssetCheckSeverity.ERROR
                if outcome.severity == "error"
                else AssetCheckSeverity.WARN
            ),
            metadata={
                "failing_rows": outcome.failing_count,
                "failing_keys": ", ".join(outcome.failing_keys) or "none",
                "rows_kept_in": staging_table,
            },
        )
        for outcome in outcomes
    ]


def blocking_failed(outcomes: Sequence[CheckOutcome]) -> bool:
    """Whether any error-severity check failed, so the partition must not publish."""
    return any(not o.passed and o.severity == "error" for o in outcomes)
