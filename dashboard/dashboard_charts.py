"""Altair charts of the dashboard: weekly trend, reason Pareto, code-provider map."""

from __future__ import annotations

import altair as alt
import polars as pl

BAR_COLOR = "#3b6ea5"
LINE_COLOR = "#c0392b"


def trend_chart(weekly: pl.DataFrame) -> alt.LayerChart:
    """Denied lines per payment week as bars, the denial rate as a line."""
    # Weeks as ordered labels, so that a single week still draws a wide bar.
    labelled = weekly.with_columns(
        pl.col("week_start_date").cast(pl.Utf8).alias("week")
    )
    base = alt.Chart(labelled.to_pandas()).encode(
        x=alt.X("week:O", title="payment week starting", axis=alt.Axis(labelAngle=0))
    )
    bars = base.mark_bar(color=BAR_COLOR, opacity=0.8).encode(
        y=alt.Y("denied_line_count:Q", title="denied lines"),
        tooltip=[
            alt.Tooltip("week:O", title="week"),
            alt.Tooltip("denied_line_count:Q", title="denied lines"),
            alt.Tooltip("remitted_line_count:Q", title="remitted lines"),
            alt.Tooltip("denial_rate:Q", title="denial rate", format=".1%"),
        ],
    )
    rate = base.mark_line(color=LINE_COLOR, point=True).encode(
        y=alt.Y("denial_rate:Q", title="denial rate", axis=alt.Axis(format="%"))
    )
    return alt.layer(bars, rate).resolve_scale(y="independent").properties(height=260)


def pareto_chart(pareto: pl.DataFrame) -> alt.LayerChart:
    """Denied lines per reason, largest first, with the cumulative share line."""
    order = pareto.get_column("denial_category").to_list()
    base = alt.Chart(pareto.to_pandas()).encode(
        x=alt.X("denial_category:N", sort=order, title="denial reason")
    )
    bars = base.mark_bar(color=BAR_COLOR).encode(
        y=alt.Y("denied_line_count:Q", title="denied lines"),
        tooltip=[
            alt.Tooltip("denial_category:N", title="reason"),
            alt.Tooltip("denied_line_count:Q", title="denied lines"),
            alt.Tooltip("denied_amount:Q", title="denied dollars", format="$,.2f"),
            alt.Tooltip("is_avoidable_by_coding:N", title="avoidable by coding"),
        ],
    )
    share = base.mark_line(color=LINE_COLOR, point=True).encode(
        y=alt.Y(
            "cumulative_share:Q",
            title="cumulative share",
            axis=alt.Axis(format="%"),
            scale=alt.Scale(domain=[0, 1]),
        )
    )
    return alt.layer(bars, share).resolve_scale(y="independent").properties(height=260)


def heat_map(matrix: pl.DataFrame) -> alt.Chart:
    """Denial rate per CPT code and rendering provider; darker is more denied."""
    return (
        alt.Chart(matrix.to_pandas())
        .mark_rect()
        .encode(
            x=alt.X("cpt_code:N", title="CPT code"),
            y=alt.Y("rendering_npi:N", title="rendering NPI"),
            color=alt.Color(
                "denial_rate:Q",
                title="denial rate",
                scale=alt.Scale(scheme="orangered", domain=[0, 1]),
                legend=alt.Legend(format="%"),
            ),
            tooltip=[
                alt.Tooltip("cpt_code:N", title="CPT code"),
                alt.Tooltip("rendering_npi:N", title="rendering NPI"),
                alt.Tooltip("denied_line_count:Q", title="denied lines"),
                alt.Tooltip("remitted_line_count:Q", title="remitted lines"),
                alt.Tooltip("denial_rate:Q", title="denial rate", format=".1%"),
            ],
        )
        .properties(height=alt.Step(28))
    )
