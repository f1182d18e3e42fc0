"""reporting.*: the dashboard's snapshot of the marts and the weekly denial report."""

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
from dagster import (
    AssetExecutionContext,
    AssetKey,
    Config,
    MaterializeResult,
    MetadataValue,
    asset,
)

from cptflow.assets.marts import dbt_marts
from cptflow.orchestration.partitions import daily_partitions, single_run
from cptflow.orchestration.resources import WarehouseResource, database_key
from cptflow.orchestration.settings import Paths
from cptflow.transforms.reporting.render import format_percent, render_report_html
from cptflow.transforms.reporting.report_data import (
    build_denial_report,
    choose_report_week,
)
from cptflow.transforms.reporting.snapshot import (
    current_snapshot,
    publish_snapshot,
    read_snapshot_table,
)
from cptflow.transforms.reporting.spikes import SpikeSettings, week_start

SNAPSHOT_KEY = AssetKey(["reporting", "mart_snapshot"])
REPORT_KEY = AssetKey(["reporting", "denial_pattern_report"])
MART_KEYS = [key for key in dbt_marts.keys if key.path[0] == "marts"]


class SnapshotConfig(Config):
    """Where the snapshot goes and how many versions stay.

    Attributes:
        snapshot_dir: the snapshot folder; empty means `Paths.snapshot`
            ($CPTFLOW_SNAPSHOT, else `snapshot` under the cptflow home).
        keep_versions: complete snapshots kept, the current one included.
    """

    snapshot_dir: str = ""
    keep_versions: int = 3


class DenialReportConfig(Config):
    """Which week the report covers, where it is written, and the spike test.

    Attributes:
        snapshot_dir: the snapshot folder read; empty means `Paths.snapshot`.
        reports_dir: where the HTML goes; empty means `reports` under the home.
        week_start_date: YYYY-MM-DD of the Monday to report; empty means the week
            of the latest remittance paid by yesterday.
        baseline_weeks: weeks before the reported one that form the baseline.
        alpha: significance level of the one-sided two-proportion z-test.
        min_lines: remitted lines a group needs, in the week and in the baseline.
        top_n: rows in each top-denials table.
    """

    snapshot_dir: str = ""
    reports_dir: str = ""
    week_start_date: str = ""
    baseline_weeks: int = 8
    alpha: float = 0.01
    min_lines: int = 20
    top_n: int = 10


@asset(
    key=SNAPSHOT_KEY,
    deps=MART_KEYS,
    partitions_def=daily_partitions,
    # Whole-history, like the dbt marts: a range of days takes one snapshot.
    backfill_policy=single_run,
    group_name="reporting",
)
def mart_snapshot(
    context: AssetExecutionContext, config: SnapshotConfig, warehouse: WarehouseResource
) -> MaterializeResult:
    """A read-only Parquet copy of every mart and of the drill-down evidence.

    Source: the marts schema, plus evidence spans, page sizes, word boxes and the
    documents behind claim lines. One snapshot holds the whole history, published
    after each run; the dashboard reads it and never the DuckDB file.
    """
    root = _snapshot_root(config.snapshot_dir)
    with warehouse.connect() as conn:
        snapshot = publish_snapshot(
            conn,
            root,
            created_at=datetime.now(UTC),
            keep=config.keep_versions,
            # An encrypted database gets an encrypted snapshot: PHI stays protected.
            encryption_key=database_key(),
        )
    context.log.info(
        "snapshot %s: %d tables in %s", snapshot.version, len(snapshot.row_counts), root
    )
    return MaterializeResult(
        metadata={
            "snapshot_version": snapshot.version,
            "folder": MetadataValue.path(str(snapshot.folder)),
            "row_counts": MetadataValue.json(snapshot.row_counts),
        }
    )


@asset(key=REPORT_KEY, deps=[SNAPSHOT_KEY], group_name="reporting")
def denial_pattern_report(
    context: AssetExecutionContext, config: DenialReportConfig
) -> MaterializeResult:
    """The weekly denial-pattern report as one HTML file with its charts inside.

    Source: the current snapshot's fct_claim_lines. One file per payment week:
    top denials by code, provider and pattern against the previous week, and the
    codes and providers whose weekly denial rate spiked above their baseline.
    """
    root = _snapshot_root(config.snapshot_dir)
    claim_lines = read_snapshot_table(
        current_snapshot(root), "fct_claim_lines", encryption_key=database_key()
    )
    week = _report_week(claim_lines, config)
    if week is None:
        context.log.warning("no remittances in the snapshot yet: no report written")
        return MaterializeResult(metadata={"report_path": None})

    settings = SpikeSettings(
        baseline_weeks=config.baseline_weeks,
        alpha=config.alpha,
        min_lines=config.min_lines,
    )
    report = build_denial_report(
        claim_lines,
        week=week,
        generated_at=datetime.now(UTC),
        settings=settings,
        limit=config.top_n,
    )
    home = Paths.from_env().home
    folder = Path(config.reports_dir) if config.reports_dir else home / "reports"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"denial_patterns_{week.isoformat()}.html"
    path.write_text(render_report_html(report), encoding="utf-8")

    spikes = [
        *report.code_spikes.filter("is_spike").get_column("cpt_code").to_list(),
        *report.provider_spikes.filter("is_spike")
        .get_column("rendering_npi")
        .to_list(),
    ]
    context.log.info("report for week %s: %d spikes", week, len(spikes))
    return MaterializeResult(
        metadata={
            "report_path": MetadataValue.path(str(path)),
            "week_start_date": week.isoformat(),
            "denial_rate": format_percent(report.current.denial_rate),
            "denied_line_count": report.current.denied_line_count,
            "spike_count": len(spikes),
            "spikes": MetadataValue.json(spikes),
        }
    )


def _snapshot_root(folder: str) -> Path:
    """The configured snapshot folder, else `Paths.snapshot` from the environment."""
    return Path(folder) if folder else Paths.from_env().snapshot


def _report_week(claim_lines: pl.DataFrame, config: DenialReportConfig) -> date | None:
    """The configured Monday, else the week of the latest payment by yesterday."""
    if config.week_start_date:
        return week_start(date.fromisoformat(config.week_start_date))
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    return choose_report_week(claim_lines, as_of=yesterday)
