"""The read-only snapshot of the marts and evidence that the dashboard reads.

A snapshot is a folder of Parquet files under `<root>/versions/<version>/`; the file
`<root>/CURRENT` names the newest complete one. A new version is written in full
before CURRENT is replaced (an atomic rename), so a reader never sees half a
snapshot and never opens the pipeline's DuckDB file.

With a key (the database's, when it is encrypted) every Parquet file is written
with DuckDB's Parquet encryption, footer and columns, under a 256-bit key derived
from it; the manifest says so and holds only row counts. Only DuckDB reads such
files back, so a reader must go through `read_snapshot_table` with the same key.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import logging
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl

from cptflow.transforms.errors import CptflowError

logger = logging.getLogger(__name__)

SQL_DIR = Path(__file__).resolve().parent / "sql"
CURRENT_FILE = "CURRENT"
MANIFEST_FILE = "manifest.json"
MART_SCHEMA = "marts"
# Evidence tables: file stem -> query file; they let the dashboard drill down to
# the document without reading the stage tables.
EVIDENCE_QUERIES = {
    "claim_line_evidence": "claim_line_evidence.sql",
    "evidence_documents": "evidence_documents.sql",
    "evidence_pages": "evidence_pages.sql",
    "evidence_words": "evidence_words.sql",
}
REFERENCE_TABLES = ("denial_categories", "cpt_families")
# The name DuckDB registers the snapshot's Parquet key under, per connection.
PARQUET_KEY_NAME = "cptflow_snapshot"


Writer = Callable[[duckdb.DuckDBPyConnection, str, Path, str], int]


class SnapshotError(CptflowError):
    """No readable snapshot where one was expected."""


@dataclass(frozen=True)
class Snapshot:
    """One published snapshot: its folder and the rows of each file."""

    folder: Path
    version: str
    row_counts: dict[str, int]


def publish_snapshot(
    conn: duckdb.DuckDBPyConnection,
    root: Path,
    *,
    created_at: datetime,
    keep: int = 3,
    encryption_key: str | None = None,
) -> Snapshot:
    """Export every mart, the evidence tables and references, then make it current.

    Args:
        conn: a connection to the pipeline database after the marts were built.
        root: the snapshot folder (`Paths.snapshot`).
        created_at: when the snapshot is taken; names the version.
        keep: complete versions kept, the current one included; older ones are
            removed so that a dashboard still reading one has time to move on.
        encryption_key: when given, the files are encrypted with a key derived
            from it, so the snapshot keeps the patients' data protected at rest.

    Returns:
        The new snapshot.
    """
    version = created_at.strftime("%Y%m%dT%H%M%S%fZ")
    folder = root / "versions" / version
    partial = folder.with_name(version + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)

    write = functools.partial(_write, encrypted=encryption_key is not None)
    if encryption_key is not None:
        _register_parquet_key(conn, encryption_key)
    row_counts = _export_marts(conn, partial, write)
    row_counts |= _export_queries(conn, partial, write)
    row_counts |= _export_references(conn, partial, write)
    manifest = {
        "version": version,
        "created_at": created_at.isoformat(),
        "encrypted": encryption_key is not None,
        "row_counts": row_counts,
    }
    (partial / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n")

    partial.rename(folder)
    _point_current_at(root, version)
    _remove_old_versions(root, keep=keep)
    logger.info("published snapshot %s with %d files", version, len(row_counts))
    return Snapshot(folder=folder, version=version, row_counts=row_counts)


def current_snapshot(root: Path) -> Path:
    """The folder of the newest complete snapshot under `root`.

    Raises:
        SnapshotError: when no snapshot was published there yet.
    """
    pointer = root / CURRENT_FILE
    try:
        version = pointer.read_text().strip()
    except OSError:
        raise SnapshotError(
            f"{root} holds no snapshot yet: run the pipeline first"
        ) from None
    folder = root / "versions" / version
    if not (folder / MANIFEST_FILE).is_file():
        raise SnapshotError(f"{pointer} names {version}, which is incomplete")
    return folder


def read_snapshot_table(
    folder: Path, name: str, *, encryption_key: str | None = None
) -> pl.DataFrame:
    """One table of a snapshot folder as a polars frame.

    Args:
        folder: a snapshot version folder (`current_snapshot`).
        name: the table's file stem.
        encryption_key: the key the snapshot was published with, if any.

    Raises:
        SnapshotError: when the snapshot is encrypted and no key, or another key,
            is given.
    """
    path = folder / f"{name}.parquet"
    if not snapshot_manifest(folder).get("encrypted", False):
        return pl.read_parquet(path)
    if encryption_key is None:
        raise SnapshotError(
            f"snapshot {folder.name} is encrypted: set CPTFLOW_DB_KEY to read it"
        )
    with duckdb.connect() as conn:
        _register_parquet_key(conn, encryption_key)
        try:
            return conn.execute(
                "select * from read_parquet(?, encryption_config = "
                f"{{footer_key: '{PARQUET_KEY_NAME}'}})",
                [str(path)],
            ).pl()
        except duckdb.InvalidInputException as error:
            # DuckDB reports a wrong key as an authentication tag mismatch.
            raise SnapshotError(
                f"snapshot {folder.name} cannot be decrypted with this key"
            ) from error


def snapshot_manifest(folder: Path) -> dict:
    """The manifest of a snapshot: version, time taken and rows per table."""
    return json.loads((folder / MANIFEST_FILE).read_text())


def _export_marts(
    conn: duckdb.DuckDBPyConnection, folder: Path, write: Writer
) -> dict[str, int]:
    """Write each table of the marts schema to `<table>.parquet`."""
    names = [
        row[0]
        for row in conn.execute(
            "select table_name from information_schema.tables "
            "where table_schema = ? order by table_name",
            [MART_SCHEMA],
        ).fetchall()
    ]
    if not names:
        raise SnapshotError("the database has no marts: build the dbt project first")
    # Names come from the catalog, not from input, so quoting them is enough.
    return {
        name: write(conn, f'select * from {MART_SCHEMA}."{name}"', folder, name)
        for name in names
    }


def _export_queries(
    conn: duckdb.DuckDBPyConnection, folder: Path, write: Writer
) -> dict[str, int]:
    """Write the evidence tables from their query files."""
    return {
        name: write(conn, (SQL_DIR / file).read_text(), folder, name)
        for name, file in EVIDENCE_QUERIES.items()
    }


def _export_references(
    conn: duckdb.DuckDBPyConnection, folder: Path, write: Writer
) -> dict[str, int]:
    """Write the dbt seeds the dashboard labels things with."""
    return {
        name: write(conn, f'select * from reference."{name}"', folder, name)
        for name in REFERENCE_TABLES
    }


def _write(
    conn: duckdb.DuckDBPyConnection,
    sql: str,
    folder: Path,
    name: str,
    *,
    encrypted: bool,
) -> int:
    """Write a query's result to `<name>.parquet` and return its row count."""
    frame = conn.execute(sql).pl()
    path = folder / f"{name}.parquet"
    if not encrypted:
        frame.write_parquet(path)
        return frame.height
    # polars cannot encrypt Parquet, so DuckDB writes the frame with the key.
    conn.register("snapshot_frame", frame.to_arrow())
    conn.execute(
        f"copy snapshot_frame to {_quoted(str(path))} "
        f"(format parquet, encryption_config {{footer_key: '{PARQUET_KEY_NAME}'}})"
    )
    conn.unregister("snapshot_frame")
    return frame.height


def _register_parquet_key(conn: duckdb.DuckDBPyConnection, key: str) -> None:
    """Register a 256-bit Parquet key derived from `key` on the connection."""
    derived = base64.b64encode(hashlib.sha256(key.encode()).digest()).decode()
    # Base64 holds no quote, and PRAGMA takes no bound parameters.
    conn.execute(f"pragma add_parquet_key('{PARQUET_KEY_NAME}', '{derived}')")


def _quoted(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _point_current_at(root: Path, version: str) -> None:
    """Replace CURRENT in one rename, so readers see the old or the new version."""
    pending = root / (CURRENT_FILE + ".pending")
    pending.write_text(version + "\n")
    os.replace(pending, root / CURRENT_FILE)


def _remove_old_versions(root: Path, *, keep: int) -> None:
    """Delete complete versions beyond the newest `keep`, and leftover partials."""
    versions = sorted((root / "versions").iterdir(), key=lambda p: p.name)
    complete = [p for p in versions if not p.name.endswith(".partial")]
    for stale in complete[:-keep] if keep > 0 else []:
        shutil.rmtree(stale, ignore_errors=True)
    for leftover in (p for p in versions if p.name.endswith(".partial")):
        shutil.rmtree(leftover, ignore_errors=True)
