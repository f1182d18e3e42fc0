"""Dagster resources: every path, connection and setting an asset needs."""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import duckdb
import duckdb_extensions
import polars as pl
from dagster import ConfigurableResource
from dagster_duckdb import DuckDBResource

from cptflow.orchestration.partitions import DayRange

STAGE_SCHEMAS = ("intake", "ocr", "nlp", "coding", "claims", "remits", "reference")
# When set, the DuckDB file is encrypted at rest with this key (AES-GCM, DuckDB
# 1.4+); dbt opens it through its `encrypted` target (assets/marts.py).
DB_KEY_ENV = "CPTFLOW_DB_KEY"


def database_key() -> str | None:
    """The key in $CPTFLOW_DB_KEY, or None when the database is not encrypted."""
    return os.environ.get(DB_KEY_ENV) or None


def connect_database(
    path: str | Path, *, read_only: bool = False
) -> duckdb.DuckDBPyConnection:
    """Open the pipeline's DuckDB file, with the key in $CPTFLOW_DB_KEY when set.

    An encrypted file is attached to an in-memory database under the catalog name
    DuckDB gives a plain file (`catalog_name`), so that queries and the views dbt
    writes see the same catalog either way.

    Args:
        path: the DuckDB file.
        read_only: open it for reading only.

    Returns:
        A connection whose default catalog is the file.
    """
    key = database_key()
    if key is None:
        return duckdb.connect(str(path), read_only=read_only)

    conn = duckdb.connect()
    _load_httpfs(conn)
    options = f"encryption_key {_quoted(key)}" + (", read_only" if read_only else "")
    catalog = '"' + catalog_name(path).replace('"', '""') + '"'
    # ATTACH takes no bound parameters, so the path and key go in as quoted literals.
    conn.execute(f"attach {_quoted(str(path))} as {catalog} ({options})")
    conn.execute(f"use {catalog}")
    # Rows spilled to disk by a large query are patient data too.
    conn.execute("set temp_file_encryption = true")
    return conn


def catalog_name(path: str | Path) -> str:
    """The catalog DuckDB names a database file after: `a.b.duckdb` -> `a`.

    dbt_project/profiles.yml derives the same name for its `encrypted` target.
    """
    return Path(path).name.lstrip(".").split(".")[0]


def _quoted(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@functools.cache
def install_httpfs() -> None:
    """Install httpfs into DuckDB's extension folder from its wheel, offline.

    DuckDB writes encrypted files with the OpenSSL of httpfs. dbt loads it the
    same way (orchestration/dbt_encryption.py).
    """
    duckdb_extensions.import_extension("httpfs")


def _load_httpfs(conn: duckdb.DuckDBPyConnection) -> None:
    install_httpfs()
    conn.execute("load httpfs")


class WarehouseResource(DuckDBResource):
    """The one DuckDB file, with the stage-then-publish protocol every asset follows.

    DuckDB allows one writer per file, so every connection of a run goes through
    this resource and is closed as soon as the step is done.
    """

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Open the database, creating its folder and the stage schemas if needed."""
        Path(self.database).parent.mkdir(parents=True, exist_ok=True)
        with self._open() as conn:
            for schema in STAGE_SCHEMAS:
                conn.execute(f"create schema if not exists {schema}")
            yield conn

    @contextmanager
    def _open(self) -> Iterator[duckdb.DuckDBPyConnection]:
        if database_key() is None:
            with self.get_connection() as conn:
                yield conn
            return
        conn = connect_database(self.database)
        try:
            yield conn
        finally:
            conn.close()

    def read(self, sql: str, params: list | None = None) -> pl.DataFrame:
        """Run a query with bound parameters and return a polars frame."""
        with self.connect() as conn:
            return conn.execute(sql, params or []).pl()

    def table_exists(self, schema: str, table: str) -> bool:
        """Whether `schema.table` exists yet (a first run has none)."""
        with self.connect() as conn:
            found = conn.execute(
                "select count(*) from information_schema.tables "
                "where table_schema = ? and table_name = ?",
                [schema, table],
            ).fetchone()
        return bool(found and found[0])

    def stage(
        self,
        schema: str,
        table: str,
        frame: pl.DataFrame,
        days: date | DayRange,
    ) -> None:
        """Replace the rows of `days` in the staging table `<schema>._staging_<t>`.

        Args:
            schema: the stage's schema.
            table: the table within it.
            frame: the rows, each with the partition_date it belongs to.
            days: the partition or range of partitions the frame replaces.
        """
        staging = f"{schema}._staging_{table}"
        span = _span(days)
        with self.connect() as conn:
            _ensure_table(conn, staging, frame)
            conn.execute("begin")
            conn.execute(
                f"delete from {staging} where partition_date between ? and ?",
                [span.first, span.last],
            )
            conn.register("staged_frame", frame.to_arrow())
            conn.execute(f"insert into {staging} by name select * from staged_frame")
            conn.unregister("staged_frame")
            conn.execute("commit")

    def publish(self, tables: list[tuple[str, str]], days: date | DayRange) -> int:
        """Swap the staged partitions of `days` into the published tables at once.

        Every partition of the range is replaced, including days the staged rows
        leave empty, so a day whose files are gone ends with no rows.

        Returns:
            The number of rows published across the tables.
        """
        span = _span(days)
        bounds = [span.first, span.last]
        published = 0
        with self.connect() as conn:
            conn.execute("begin")
            for schema, table in tables:
                staging = f"{schema}._staging_{table}"
                target = f"{schema}.{table}"
                conn.execute(
                    f"create table if not exists {target} as "
                    f"select * from {staging} limit 0"
                )
                conn.execute(
                    f"delete from {target} where partition_date between ? and ?",
                    bounds,
                )
                row = conn.execute(
                    f"insert into {target} by name select * from {staging} "
                    "where partition_date between ? and ?",
                    bounds,
                ).fetchone()
                published += int(row[0]) if row else 0
                conn.execute(
                    f"delete from {staging} where partition_date between ? and ?",
                    bounds,
                )
            conn.execute("commit")
        return published


def _span(days: date | DayRange) -> DayRange:
    """A single partition date as a one-day range."""
    return days if isinstance(days, DayRange) else DayRange.single(days)


def _ensure_table(
    conn: duckdb.DuckDBPyConnection, name: str, frame: pl.DataFrame
) -> None:
    """Create `name` with the frame's columns when it does not exist yet."""
    conn.register("shape_frame", frame.head(0).to_arrow())
    conn.execute(f"create table if not exists {name} as select * from shape_frame")
    conn.unregister("shape_frame")


class PipelineSettings(ConfigurableResource):
    """Where a run reads its input and how hard it works.

    Attributes:
        inbox_dir: folder of incoming clinical documents (and an optional manifest).
        remits_dir: folder of 835 remittance files.
        claims_out_dir: folder the 837P claim files are written to.
        assign_partition: when true every inbox file belongs to the run's partition;
            otherwise a file belongs to its manifest received date, else its
            modification date.
        ocr_workers: documents OCRed at once, each with Tesseract on one thread.
        deskew: straighten skewed scans before OCR (about 1.5 s a page more).
    """

    inbox_dir: str
    remits_dir: str
    claims_out_dir: str
    assign_partition: bool = False
    ocr_workers: int = 2
    deskew: bool = False


def replace_keyed_rows(
    warehouse: WarehouseResource,
    table: str,
    frame: pl.DataFrame,
    *,
    key: str,
) -> None:
    """Replace the rows of `table` whose `key` values appear in the frame.

    Used for caches keyed by content (a document id), which are written as each
    document finishes so that a killed run loses nothing already done.
    """
    with warehouse.connect() as conn:
        _ensure_table(conn, table, frame)
        conn.register("keyed_frame", frame.to_arrow())
        conn.execute("begin")
        conn.execute(
            f"delete from {table} where {key} in (select {key} from keyed_frame)"
        )
        conn.execute(f"insert into {table} by name select * from keyed_frame")
        conn.execute("commit")
        conn.unregister("keyed_frame")
