"""The denial-pattern report as one self-contained HTML page (Jinja2 template)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import polars as pl
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from cptflow.transforms.reporting.charts import change_chart, weekly_rate_chart
from cptflow.transforms.reporting.report_data import DenialReport

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
REPORT_TEMPLATE = "denial_pattern_report.html.j2"

# Header and row keys of each table, by the column the table is grouped on.
TABLE_KEYS = {
    "code": ("cpt_code",),
    "provider": ("rendering_npi",),
    "pattern": ("cpt_code", "rendering_npi", "denial_category"),
}
TABLE_HEADERS = {
    "code": ("CPT code",),
    "provider": ("rendering NPI",),
    "pattern": ("CPT code", "rendering NPI", "denial category"),
}


def format_percent(rate: float | None) -> str:
    """A rate as a percentage with one decimal, or an en dash when undefined."""
    return "–" if rate is None else f"{100 * rate:.1f}%"


def format_points(change: float | None) -> str:
    """A change of rate in percentage points with its sign."""
    return "–" if change is None else f"{100 * change:+.1f} pts"


def format_dollars(amount: float | None) -> str:
    """A dollar amount with thousands separators and cents."""
    return f"${amount or 0.0:,.2f}"


def format_p_value(p_value: float | None) -> str:
    """A p-value in scientific notation below 0.001, else with three decimals."""
    if p_value is None:
        return "–"
    return f"{p_value:.1e}" if p_value < 0.001 else f"{p_value:.3f}"


def change_direction(change: float | None) -> str:
    """The CSS class of a change: more denials are `up`, fewer `down`."""
    if change is None or change == 0:
        return ""
    return "up" if change > 0 else "down"


@cache
def report_environment() -> Environment:
    """The Jinja2 environment over the templates folder, autoescaping HTML."""
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(
        percent=format_percent,
        points=format_points,
        dollars=format_dollars,
        pvalue=format_p_value,
        direction=change_direction,
    )
    return environment


def render_report_html(report: DenialReport) -> str:
    """The report as HTML with its charts embedded: no file or network fetched."""
    charts = {"weekly": weekly_rate_chart(report.weekly_totals)}
    change_tables = []
    for title, column, frame in (
        ("Top denials by CPT code", "code", report.by_code),
        ("Top denials by rendering provider", "provider", report.by_provider),
        ("Top denial patterns: code, provider and reason", "pattern", report.patterns),
    ):
        chart = ""
        if frame.height:
            chart = change_chart(_with_label(frame, column), label="label", title=title)
        change_tables.append((title, column, frame.to_dicts(), chart))

    template = report_environment().get_template(REPORT_TEMPLATE)
    return template.render(
        report=report,
        charts=charts,
        change_tables=change_tables,
        spike_tables=[
            ("By CPT code", "CPT code", report.code_spikes.to_dicts()),
            (
                "By rendering provider",
                "rendering NPI",
                report.provider_spikes.to_dicts(),
            ),
        ],
        key_of={"CPT code": "cpt_code", "rendering NPI": "rendering_npi"},
        keys_of=TABLE_KEYS,
        columns_of=TABLE_HEADERS,
    )


def _with_label(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    """The frame with a `label` column naming each row for a chart axis."""
    parts = [pl.col(key).fill_null("none") for key in TABLE_KEYS[column]]
    return frame.with_columns(pl.concat_str(parts, separator=" / ").alias("label"))
