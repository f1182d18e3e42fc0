"""Run a Great Expectations suite over a stage's frame and summarise it as checks."""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import yaml

SUITES_DIR = Path(__file__).parent / "suites"
# How many failing row keys a check reports; the rest stay queryable in staging.
MAX_REPORTED_KEYS = 50

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExpectationRule:
    """One expectation of a suite, grouped under the Dagster check it feeds."""

    check: str
    severity: str
    type: str
    kwargs: dict[str, Any]


@dataclass(frozen=True)
class Suite:
    """A stage's expectations, read from `expectations/suites/<schema>.<table>.yml`."""

    name: str
    key_columns: list[str]
    rules: list[ExpectationRule]

    @property
    def checks(self) -> dict[str, str]:
        """Each check name with its severity (`error` blocks, `warn` does not)."""
        severities: dict[str, str] = {}
        for rule in self.rules:
            if severities.get(rule.check) != "error":
                severities[rule.check] = rule.severity
        return severities


@dataclass
class CheckOutcome:
    """The verdict of one check: pass or fail, with failing keys, never values."""

    check: str
    severity: str
    passed: bool
    failing_keys: list[str] = field(default_factory=list)
    failing_count: int = 0
    expectations: list[str] = field(default_factory=list)


def load_suite(asset_key: tuple[str, str]) -> Suite:
    """Read the suite kept as data for an asset key such as ("ocr", "page_texts")."""
    path = SUITES_DIR / f"{asset_key[0]}.{asset_key[1]}.yml"
    raw = yaml.safe_load(path.read_text())
    rules = [
        ExpectationRule(
            check=item["check"],
            severity=item.get("severity", "error"),
            type=item["type"],
            kwargs=dict(item.get("kwargs", {})),
        )
        for item in raw["expectations"]
    ]
    return Suite(name=raw["name"], key_columns=raw["key_columns"], rules=rules)


def validate_frame(frame: pl.DataFrame, suite: Suite) -> list[CheckOutcome]:
    """Validate the frame with Great Expectations and return one outcome per check.

    The frame goes through GX as pandas. Failing rows are reported by their key
    columns only, so no note text or patient detail reaches logs or metadata.
    """
    outcomes = {
        name: CheckOutcome(check=name, severity=severity, passed=True)
        for name, severity in suite.checks.items()
    }
    if frame.is_empty():
        return list(outcomes.values())

    result = _run_gx(frame, suite)

    for rule, item in zip(suite.rules, result.results, strict=True):
        outcome = outcomes[rule.check]
        outcome.expectations.append(rule.type)
        if item.success:
            continue
        outcome.passed = False
        details = item.result or {}
        outcome.failing_count += int(details.get("unexpected_count") or 0)
        outcome.failing_keys.extend(_keys_of(details, suite.key_columns))

    for outcome in outcomes.values():
        outcome.failing_keys = sorted(set(outcome.failing_keys))[:MAX_REPORTED_KEYS]
    return list(outcomes.values())


def _run_gx(frame: pl.DataFrame, suite: Suite) -> Any:
    """Build the GX suite in the ephemeral context and validate the frame."""
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

    context, batch_definition = _gx_context()
    gx_suite = gx.ExpectationSuite(name=suite.name)
    for rule in suite.rules:
        gx_suite.add_expectation_configuration(
            ExpectationConfiguration(type=rule.type, kwargs=rule.kwargs)
        )
    batch = batch_definition.get_batch(
        batch_parameters={"dataframe": _to_pandas(frame)}
    )
    return batch.validate(
        gx_suite,
        result_format={
            "result_format": "COMPLETE",
            "unexpected_index_column_names": suite.key_columns,
            "include_unexpected_rows": False,
        },
    )


@functools.cache
def _gx_context() -> tuple[Any, Any]:
    """One ephemeral GX context per process: it writes no gx/ folder."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    _quiet_gx_loggers()
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(
        globally=False, metric_calculations=False
    )
    source = context.data_sources.add_pandas("stage_frames")
    asset = source.add_dataframe_asset("stage_frame")
    return context, asset.add_batch_definition_whole_dataframe("whole_frame")


def _quiet_gx_loggers() -> None:
    """GX sets INFO on some of its own loggers; the pipeline wants warnings only."""
    for name in list(logging.root.manager.loggerDict):
        if name.startswith("great_expectations"):
            logging.getLogger(name).setLevel(logging.WARNING)


def _to_pandas(frame: pl.DataFrame) -> Any:
    """Hand GX a pandas frame; list and struct columns become Python objects."""
    nested = [
        name
        for name, dtype in frame.schema.items()
        if isinstance(dtype, pl.List | pl.Struct | pl.Array)
    ]
    flat = frame.drop(nested)
    pandas_frame = flat.to_pandas()
    for name in nested:
        pandas_frame[name] = frame[name].to_list()
    return pandas_frame


def _keys_of(details: dict[str, Any], key_columns: list[str]) -> list[str]:
    """The failing rows' keys, joined with '/', from GX's unexpected index list."""
    keys = []
    for entry in details.get("unexpected_index_list") or []:
        if isinstance(entry, dict):
            keys.append("/".join(str(entry.get(c)) for c in key_columns))
    return keys
