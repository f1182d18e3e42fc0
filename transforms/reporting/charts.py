"""Report charts drawn with matplotlib and embedded as SVG data URIs."""

from __future__ import annotations

import base64
import io

import matplotlib

# A file backend: the report is written by a pipeline step with no display.
matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import polars as pl  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

BAR_COLOR = "#3b6ea5"
PREVIOUS_COLOR = "#b8c7d9"
SPIKE_COLOR = "#c0392b"


def svg_data_uri(figure: Figure) -> str:
    """The figure as an `data:image/svg+xml;base64,...` URI, closing the figure."""
    buffer = io.BytesIO()
    # A fixed id salt and no date keep the same chart byte-identical across runs.
    with plt.rc_context({"svg.hashsalt": "cptflow"}):
        figure.savefig(
            buffer, format="svg", bbox_inches="tight", metadata={"Date": None}
        )
    plt.close(figure)
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f"data:image/svg+xml;base64,{encoded}"


def weekly_rate_chart(weekly: pl.DataFrame) -> str:
    """Denied lines per week as bars with the denial rate as a line above them."""
    labels = [d.strftime("%m-%d") for d in weekly.get_column("week_start_date")]
    figure, lines_axis = plt.subplots(figsize=(7.5, 2.8))
    lines_axis.bar(labels, weekly.get_column("denied_line_count"), color=BAR_COLOR)
    lines_axis.set_ylabel("denied lines")
    lines_axis.yaxis.set_major_locator(MaxNLocator(integer=True))
    lines_axis.set_xlabel("payment week starting")

    rate_axis = lines_axis.twinx()
    rates = [None if r is None else 100 * r for r in weekly.get_column("denial_rate")]
    rate_axis.plot(labels, rates, color=SPIKE_COLOR, marker="o", linewidth=1.5)
    rate_axis.set_ylabel("denial rate, %")
    rate_axis.set_ylim(bottom=0)
    lines_axis.tick_params(axis="x", labelrotation=45, labelsize=8)
    return svg_data_uri(figure)


def change_chart(compared: pl.DataFrame, *, label: str, title: str) -> str:
    """Horizontal bars of denied lines this week and the week before, per group."""
    rows = compared.reverse()
    names = [str(v) if v is not None else "none" for v in rows.get_column(label)]
    positions = range(len(names))
    figure, axis = plt.subplots(figsize=(7.5, 0.4 * max(len(names), 2) + 0.8))
    axis.barh(
        [p + 0.2 for p in positions],
        rows.get_column("denied_line_count"),
        height=0.4,
        color=BAR_COLOR,
        label="this week",
    )
    axis.barh(
        [p - 0.2 for p in positions],
        rows.get_column("previous_denied_line_count"),
        height=0.4,
        color=PREVIOUS_COLOR,
        label="previous week",
    )
    axis.set_yticks(list(positions), names, fontsize=8)
    axis.set_xlabel("denied lines")
    axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    axis.set_title(title, fontsize=10)
    axis.legend(fontsize=8, loc="lower right")
    return svg_data_uri(figure)
