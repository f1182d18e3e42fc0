"""The analysts' dashboard: denials by code, provider and payer, read from the snapshot.

Started by `cptflow dashboard`. It reads only the Parquet snapshot the pipeline
publishes after each run, never the pipeline's DuckDB file, so it holds no lock.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import dashboard_charts as charts
import polars as pl
import streamlit as st
from PIL import Image

from cptflow.transforms.reporting import dashboard_data as data
from cptflow.transforms.reporting.page_images import (
    PageFrame,
    mark_page,
    render_page,
    render_text_page,
    words_overlapping,
)
from cptflow.transforms.reporting.render import format_dollars, format_percent
from cptflow.transforms.reporting.snapshot import (
    SnapshotError,
    current_snapshot,
    read_snapshot_table,
    snapshot_manifest,
)

SNAPSHOT_TABLES = (
    "fct_claim_lines",
    "denial_categories",
    "claim_line_evidence",
    "evidence_documents",
    "evidence_pages",
    "evidence_words",
)


@st.cache_data(show_spinner=False)
def load_snapshot(folder: str) -> dict[str, pl.DataFrame]:
    """The snapshot's tables; cached per version folder, so a new run shows up."""
    # An encrypted pipeline database publishes an encrypted snapshot: same key.
    key = os.environ.get("CPTFLOW_DB_KEY") or None
    return {
        name: read_snapshot_table(Path(folder), name, encryption_key=key)
        for name in SNAPSHOT_TABLES
    }


@st.cache_data(show_spinner=False, max_entries=64)
def page_png(path: str, doc_format: str, page_number: int) -> bytes:
    """A page of an original document rendered once as PNG bytes."""
    buffer = io.BytesIO()
    render_page(Path(path), doc_format, page_number).save(buffer, format="PNG")
    return buffer.getvalue()


def snapshot_folder() -> Path:
    """The current snapshot under $CPTFLOW_SNAPSHOT (set by `cptflow dashboard`)."""
    root = Path(os.environ.get("CPTFLOW_SNAPSHOT", Path.home() / ".cptflow/snapshot"))
    try:
        return current_snapshot(root)
    except SnapshotError as error:
        st.error(str(error))
        st.stop()
        raise


def sidebar_filters(lines: pl.DataFrame) -> data.Filters:
    """The filter widgets; returns the analyst's selection."""
    st.sidebar.header("Filters")
    dates = lines.get_column("date_of_service").drop_nulls()
    service_dates = None
    if dates.len():
        first, last = dates.min(), dates.max()
        chosen = st.sidebar.date_input(
            "Dates of service", value=(first, last), min_value=first, max_value=last
        )
        if isinstance(chosen, tuple) and len(chosen) == 2:
            service_dates = (chosen[0], chosen[1])
    return data.Filters(
        service_dates=service_dates,
        payer_ids=tuple(
            st.sidebar.multiselect("Payer", data.filter_options(lines, "payer_id"))
        ),
        rendering_npis=tuple(
            st.sidebar.multiselect(
                "Rendering provider", data.filter_options(lines, "rendering_npi")
            )
        ),
        cpt_family_codes=tuple(
            st.sidebar.multiselect(
                "Code family", data.filter_options(lines, "cpt_family_code")
            )
        ),
    )


def show_kpis(lines: pl.DataFrame) -> None:
    """The headline figures of the selection."""
    kpis = data.denial_kpis(lines)
    columns = st.columns(6)
    columns[0].metric(
        "Denial rate",
        format_percent(kpis.denial_rate),
        help="Denied claim lines over claim lines with a remittance.",
    )
    columns[1].metric(
        "Denied dollars",
        data.format_whole_dollars(kpis.denied_amount),
        help="Charges the payers denied on lines that stand denied.",
    )
    columns[2].metric(
        "Avoidable share",
        format_percent(kpis.avoidable_share),
        help="Denied lines whose reason a coding fix would have prevented.",
    )
    columns[3].metric("Denied lines", f"{kpis.denied_line_count:,}")
    columns[4].metric(
        "Remitted lines",
        f"{kpis.remitted_line_count:,}",
        help=f"{kpis.claim_line_count:,} claim lines in the selection in all.",
    )
    columns[5].metric(
        "Underpaid lines",
        f"{kpis.underpaid_line_count:,}",
        help=(
            "Paid lines the payer allowed below the fee schedule's expected amount; "
            f"{data.format_whole_dollars(kpis.underpaid_amount)} short in all."
        ),
    )


def show_charts(lines: pl.DataFrame, categories: pl.DataFrame) -> None:
    """Trend, Pareto of reasons and the code by provider heat map."""
    left, right = st.columns(2)
    with left:
        st.subheader("Weekly trend")
        weekly = data.weekly_trend(lines)
        if weekly.height:
            st.altair_chart(charts.trend_chart(weekly), width="stretch")
        else:
            st.info("No remittances in this selection.")
    with right:
        st.subheader("Denial reasons")
        pareto = data.reason_pareto(lines, categories)
        if pareto.height:
            st.altair_chart(charts.pareto_chart(pareto), width="stretch")
        else:
            st.info("No denials in this selection.")

    st.subheader("Denial rate by code and provider")
    matrix = data.code_provider_matrix(lines)
    if matrix.height:
        st.altair_chart(charts.heat_map(matrix), width="stretch")
    else:
        st.info("No remittances in this selection.")


def show_drill_down(lines: pl.DataFrame, tables: dict[str, pl.DataFrame]) -> None:
    """Denied lines, then one line's evidence and its page with the words marked."""
    st.subheader("Denied claim lines")
    denied = data.denied_line_list(lines, tables["evidence_documents"])
    if not denied.height:
        st.info("No denied lines in this selection.")
        return
    st.dataframe(
        denied,
        hide_index=True,
        width="stretch",
        column_config={
            "date_of_service": st.column_config.DateColumn(format="YYYY-MM-DD"),
            "denied_amount": st.column_config.NumberColumn(format="$%.2f"),
        },
    )

    chosen = st.selectbox(
        "Claim line to inspect", denied.get_column("line_control_number").to_list()
    )
    reveal = st.toggle(
        "Show patient identifiers",
        value=False,
        help="Off by default: names, ids and birth dates stay hidden.",
    )
    line = lines.filter(pl.col("line_control_number") == chosen).row(0, named=True)
    show_line(line, tables, reveal=reveal)


def show_line(line: dict, tables: dict[str, pl.DataFrame], *, reveal: bool) -> None:
    """One claim line: its codes, denial, evidence snippets and pages."""
    documents = tables["evidence_documents"].filter(
        pl.col("document_id") == line["document_id"]
    )
    document = documents.row(0, named=True) if documents.height else {}
    # None means show everything; a set (even empty) means mask.
    tokens = None if reveal else data.identifier_tokens(document)

    patient = document.get("patient_id") or ""
    if reveal and document:
        patient = f"{document.get('patient_name') or ''} ({patient})"
    st.markdown(
        f"**{line['cpt_code']}** {' '.join(line['modifiers'] or [])} · "
        f"{line['denial_category'] or 'not denied'} · "
        f"{' '.join(line['denial_group_carc_codes'] or [])} · "
        f"denied {format_dollars(line['denied_amount'])} · "
        f"patient {_md(patient) if reveal else data.mask_identifier(patient)}"
    )

    evidence = tables["claim_line_evidence"].filter(
        pl.col("line_control_number") == line["line_control_number"]
    )
    if not evidence.height:
        st.info("This line has no evidence spans.")
        return
    for row in evidence.iter_rows(named=True):
        before, words, after = (
            _masked(row[key] or "", tokens)
            for key in ("context_before", "evidence_text", "context_after")
        )
        st.markdown(
            f"Page {row['page_number']}: …{_md(before)}**{_md(words)}**{_md(after)}…"
        )

    for page_number in sorted(set(evidence.get_column("page_number"))):
        spans = [
            (r["start_offset"], r["end_offset"])
            for r in evidence.filter(pl.col("page_number") == page_number).iter_rows(
                named=True
            )
        ]
        show_page(document, page_number, spans, tables, tokens=tokens)


def show_page(
    document: dict,
    page_number: int,
    spans: list[tuple[int, int]],
    tables: dict[str, pl.DataFrame],
    *,
    tokens: set[str] | None,
) -> None:
    """A page of the original document with its evidence words highlighted."""
    document_id = document.get("document_id")
    pages = tables["evidence_pages"].filter(
        (pl.col("document_id") == document_id) & (pl.col("page_number") == page_number)
    )
    if not pages.height:
        return
    page = pages.row(0, named=True)
    caption = f"Page {page_number} of {Path(document['file_path']).name}"

    if page["method"] == "plain_text":
        text = page["text"] or ""
        hidden = [] if tokens is None else data.identifier_ranges(text, tokens)
        image = render_text_page(text, highlighted=spans, hidden=hidden)
        st.image(image, caption=caption)
        return

    words = tables["evidence_words"].filter(
        (pl.col("document_id") == document_id) & (pl.col("page_number") == page_number)
    )
    try:
        png = page_png(document["file_path"], document["doc_format"], page_number)
    except (OSError, ValueError):
        st.info(f"{caption}: the original document cannot be read at its path.")
        return
    hidden = set() if tokens is None else data.identifier_word_indexes(words, tokens)
    image = mark_page(
        _open_png(png),
        words,
        PageFrame(width=page["width"], rotation=page["rotation"] or 0),
        highlighted=words_overlapping(words, spans),
        hidden=hidden,
    )
    st.image(image, caption=caption)


def _masked(text: str, tokens: set[str] | None) -> str:
    """The text masked unless identifiers are shown (tokens is None)."""
    return text if tokens is None else data.mask_text(text, tokens)


def _open_png(png: bytes) -> Image.Image:
    """A PIL image from PNG bytes."""
    return Image.open(io.BytesIO(png))


def _md(text: str) -> str:
    """Text safe to put inside Markdown: characters Markdown reads are escaped."""
    for character in "\\`*_{}[]<>()#+-.!|$~":
        text = text.replace(character, "\\" + character)
    return text.replace("\n", " ")


def main() -> None:
    """Lay out the page: filters, KPIs, charts, drill-down."""
    st.set_page_config(page_title="cptflow denials", layout="wide")
    folder = snapshot_folder()
    tables = load_snapshot(str(folder))
    manifest = snapshot_manifest(folder)

    st.title("Denials")
    st.caption(
        f"Snapshot {manifest['version']}, published {manifest['created_at']} by the "
        "pipeline. Patient identifiers are masked."
    )
    filters = sidebar_filters(tables["fct_claim_lines"])
    lines = data.filter_claim_lines(tables["fct_claim_lines"], filters)

    show_kpis(lines)
    show_charts(lines, tables["denial_categories"])
    show_drill_down(lines, tables)


main()
