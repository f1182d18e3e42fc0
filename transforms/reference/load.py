"""Load CMS reference files into the `reference` schema as dated versions."""

from __future__ import annotations

import gzip
import logging
import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import yaml

from cptflow.transforms.errors import CptflowError
from cptflow.transforms.reference.tables import (
    ICD10CM,
    SCHEMA,
    TABLES,
    TABLES_BY_NAME,
    Column,
    ReferenceTable,
    normalize_header,
    table_for_file,
)

logger = logging.getLogger(__name__)

BUNDLED_DIR = Path(__file__).resolve().parents[1] / "reference_data" / "demo"
MANIFEST_NAME = "versions.yaml"
# Files that carry no date of their own are taken as in force from this day.
OPEN_START = date(2000, 1, 1)
_HEADER_LINES = 40
_SQL_TYPES = {"text": "varchar", "date": "date", "integer": "integer"}
_SQL_TYPES["boolean"] = "boolean"
_MONTHS = {"january": 1, "april": 4, "july": 7, "october": 10}


class ReferenceDataError(CptflowError):
    """A reference file that cannot be loaded, naming the file and the reason."""


@dataclass(frozen=True)
class SourceFile:
    """One file of a load: the table it feeds and the period it is in force."""

    path: Path
    table: ReferenceTable
    effective_from: date
    effective_to: date | None


@dataclass(frozen=True)
class LoadedVersion:
    """What one file added to the `reference` schema."""

    table: str
    version: str
    effective_from: date
    effective_to: date | None
    row_count: int
    source_file: str


def ensure_schema(conn: duckdb.DuckDBPyConnection) -> None:
    """Create the `reference` schema, its tables and the versions table."""
    conn.execute("set enable_progress_bar = false")
    conn.execute(f"create schema if not exists {SCHEMA}")
    conn.execute(
        f"create table if not exists {SCHEMA}.versions ("
        "table_name varchar, version varchar, effective_from date, "
        "effective_to date, source_file varchar, row_count bigint, "
        "loaded_at timestamp)"
    )
    for table in TABLES:
        columns = ", ".join(f"{c.name} {_SQL_TYPES[c.sql_type]}" for c in table.columns)
        conn.execute(
            f"create table if not exists {table.qualified} (version varchar, {columns})"
        )


def has_reference_data(conn: duckdb.DuckDBPyConnection) -> bool:
    """Whether any reference version has been loaded into this database."""
    found = conn.execute(
        "select count(*) from information_schema.tables "
        "where table_schema = ? and table_name = 'versions'",
        [SCHEMA],
    ).fetchone()
    if not found or not found[0]:
        return False
    rows = conn.execute(f"select count(*) from {SCHEMA}.versions").fetchone()
    return bool(rows and rows[0])


def load_bundled(conn: duckdb.DuckDBPyConnection) -> list[LoadedVersion]:
    """Load the small extract shipped with cptflow (enough for the demo)."""
    return load_reference(conn, BUNDLED_DIR)


def load_reference(
    conn: duckdb.DuckDBPyConnection,
    source: Path,
    *,
    version: str | None = None,
    effective_from: date | None = None,
    effective_to: date | None = None,
) -> list[LoadedVersion]:
    """Load every recognized reference file of a folder (or one file) as a version.

    A version already loaded under the same name and table is replaced, so a load
    can be repeated; other versions stay beside it.

    Args:
        conn: the database to load into.
        source: a folder of CMS files or extracts, or a single file.
        version: the version's name (default: the folder's name).
        effective_from: first day in force, for every file (default: from the
            folder's `versions.yaml`, else from the quarter or month in the name).
        effective_to: last day in force (default: likewise; open when unknown).

    Returns:
        One entry per file loaded.

    Raises:
        ReferenceDataError: when the source holds no reference file or a file lacks
            a required column.
    """
    files = _source_files(source)
    if not files:
        raise ReferenceDataError(f"{source}: no reference file recognized")
    name = version or (source.name if source.is_dir() else source.stem)

    ensure_schema(conn)
    loaded = []
    for file in files:
        period_from = effective_from or file.effective_from
        period_to = effective_to or file.effective_to
        loaded.append(_load_file(conn, file, name, period_from, period_to))
    return loaded


def _source_files(source: Path) -> list[SourceFile]:
    """The files of a load with their tables and periods."""
    if source.is_file():
        return _named_files([source])
    if not source.is_dir():
        raise ReferenceDataError(f"{source}: no such file or folder")
    manifest = source / MANIFEST_NAME
    if manifest.is_file():
        return _manifest_files(manifest)
    return _named_files(sorted(p for p in source.iterdir() if p.is_file()))


def _manifest_files(manifest: Path) -> list[SourceFile]:
    """Files listed in a `versions.yaml`, each with its table and period."""
    entries = yaml.safe_load(manifest.read_text())["files"]
    return [
        SourceFile(
            path=(manifest.parent / entry["file"]).resolve(),
            table=TABLES_BY_NAME[entry["table"]],
            effective_from=entry["effective_from"],
            effective_to=entry.get("effective_to"),
        )
        for entry in entries
    ]


def _named_files(paths: list[Path]) -> list[SourceFile]:
    """Files recognized by name, with the period their name gives."""
    files = []
    for path in paths:
        table = table_for_file(path.name)
        if table is None:
            continue
        start, end = period_from_name(path.name, table=table.name)
        files.append(SourceFile(path, table, start, end))
    return files


def period_from_name(file_name: str, *, table: str = "") -> tuple[date, date | None]:
    """The period a file name states: a quarter (`2024q3`) or a release month
    (`2024_july`); otherwise open-ended from 2000.

    A quarter file is in force for that quarter. NCCI files give no effective date
    per edit, so the quarter is when the version starts. ICD-10-CM files run to the
    end of their fiscal year (30 September).
    """
    name = file_name.lower()
    if table == ICD10CM.name:
        return _fiscal_period(name)
    quarter = re.search(r"(20\d\d)[_-]?q([1-4])", name)
    if quarter:
        start = date(int(quarter[1]), 3 * int(quarter[2]) - 2, 1)
        return start, _quarter_end(start)
    month = re.search(r"(20\d\d)[_-]?(january|april|july|october)", name)
    if month:
        start = date(int(month[1]), _MONTHS[month[2]], 1)
        return start, _quarter_end(start)
    return OPEN_START, None


def _fiscal_period(name: str) -> tuple[date, date | None]:
    # FY2026 runs from 1 October 2025; an April update from 1 April 2026.
    year = re.search(r"(20\d\d)", name)
    if not year:
        return OPEN_START, None
    fiscal_year = int(year[1])
    month = re.search(r"(january|april|july)", name)
    start = (
        date(fiscal_year, _MONTHS[month[1]], 1)
        if month
        else date(fiscal_year - 1, 10, 1)
    )
    return start, date(fiscal_year, 9, 30)


def _quarter_end(start: date) -> date:
    next_month = start.month + 3
    year = start.year + (next_month > 12)
    return date(year, (next_month - 1) % 12 + 1, 1) - timedelta(days=1)


def _load_file(
    conn: duckdb.DuckDBPyConnection,
    file: SourceFile,
    version: str,
    effective_from: date,
    effective_to: date | None,
) -> LoadedVersion:
    """Replace one table's rows of a version with a file's rows."""
    table = file.table
    select_sql, params = _select_for(file)

    conn.execute("begin")
    conn.execute(f"delete from {table.qualified} where version = ?", [version])
    conn.execute(
        f"delete from {SCHEMA}.versions where table_name = ? and version = ?",
        [table.name, version],
    )
    conn.execute(
        f"insert into {table.qualified} select ? as version, * from ({select_sql})",
        [version, *params],
    )
    counted = conn.execute(
        f"select count(*) from {table.qualified} where version = ?", [version]
    ).fetchone()
    row_count = int(counted[0]) if counted else 0
    conn.execute(
        f"insert into {SCHEMA}.versions values (?, ?, ?, ?, ?, ?, now())",
        [table.name, version, effective_from, effective_to, file.path.name, row_count],
    )
    conn.execute("commit")

    logger.info(
        "reference %s version %s: %d rows from %s",
        table.name,
        version,
        row_count,
        file.path.name,
    )
    return LoadedVersion(
        table.name, version, effective_from, effective_to, row_count, file.path.name
    )


def _select_for(file: SourceFile) -> tuple[str, list[object]]:
    """The SELECT that reads a file into the table's columns, with its params."""
    if file.table is ICD10CM and _is_icd_order_file(file.path):
        return _icd_order_select(), [str(file.path)]

    skip, delimiter, headers = _find_header(file.path, file.table)
    by_column = _match_columns(file, headers)
    expressions = [
        _typed(c, by_column.get(c.name), file.table) for c in file.table.columns
    ]
    sql = (
        f"select {', '.join(expressions)} from read_csv(?, skip = ?, delim = ?, "
        "header = true, all_varchar = true, quote = '\"')"
    )
    return sql, [str(file.path), skip, delimiter]


def _find_header(path: Path, table: ReferenceTable) -> tuple[int, str, list[str]]:
    """Where the header row is (CMS files open with notices), and its delimiter."""
    for index, line in enumerate(_first_lines(path)):
        delimiter = "\t" if "\t" in line else ","
        headers = [normalize_header(h) for h in line.rstrip("\r\n").split(delimiter)]
        if _column_index(table.columns[0], headers) is not None:
            return index, delimiter, line.rstrip("\r\n").split(delimiter)
    raise ReferenceDataError(
        f"{path.name}: no header row with the columns of {table.name} "
        f"in the first {_HEADER_LINES} lines"
    )


def _first_lines(path: Path) -> list[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="latin-1") as handle:  # type: ignore[operator]
        return [line for _, line in zip(range(_HEADER_LINES), handle, strict=False)]


def _match_columns(file: SourceFile, headers: list[str]) -> dict[str, str]:
    """Each table column's source header, by the accepted header names."""
    normalized = [normalize_header(h.strip().strip('"')) for h in headers]
    matched: dict[str, str] = {}
    for column in file.table.columns:
        index = _column_index(column, normalized)
        if index is not None:
            matched[column.name] = headers[index].strip().strip('"')
        elif column.required:
            raise ReferenceDataError(
                f"{file.path.name}: no column for {file.table.name}.{column.name}"
            )
    return matched


def _column_index(column: Column, headers: list[str]) -> int | None:
    # An exact name wins over a prefix: "modifier" must not take "modifier_set".
    for alias in column.headers:
        if alias in headers:
            return headers.index(alias)
    for alias in column.headers:
        for index, header in enumerate(headers):
            if header.startswith(alias):
                return index
    return None


def _typed(column: Column, header: str | None, table: ReferenceTable) -> str:
    """The SQL expression reading a source column as the table column's type."""
    if header is None:
        return f"null::{_SQL_TYPES[column.sql_type]} as {column.name}"
    quoted = '"' + header.replace('"', '""') + '"'
    value = f"nullif(nullif(trim({quoted}), ''), '*')"
    if column.sql_type == "date":
        value = (
            f"coalesce(try_strptime({value}, '%Y%m%d')::date, "
            f"try_cast({value} as date))"
        )
    elif column.sql_type == "integer":
        value = f"try_cast({value} as integer)"
    elif column.sql_type == "boolean":
        value = f"coalesce(upper({value}) in ('1', 'Y', 'YES', 'TRUE'), false)"
    elif table is ICD10CM and column.name == "icd10cm_code":
        value = f"upper(replace({value}, '.', ''))"
    return f"{value} as {column.name}"


def _is_icd_order_file(path: Path) -> bool:
    # CMS's order file is fixed width: order number, code, billable flag, titles.
    first = _first_lines(path)[:1]
    return (
        bool(first) and re.match(r"^\d{5} [A-Z0-9]{3,7}\s+[01] ", first[0]) is not None
    )


def _icd_order_select() -> str:
    return (
        "select trim(substr(line, 7, 7)) as icd10cm_code, "
        "substr(line, 15, 1) = '1' as is_billable, "
        "trim(substr(line, 78)) as description "
        "from read_csv(?, columns = {'line': 'varchar'}, header = false, "
        "delim = '\t', quote = '')"
    )
