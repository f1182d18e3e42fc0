"""The reference tables cptflow loads: their columns and the source headers they
accept, both as CMS publishes them and as the team's CSV extracts.

The tables themselves are declared in `tables.yaml`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

SCHEMA = "reference"


@dataclass(frozen=True)
class Column:
    """One column of a reference table and the source headers that fill it.

    Attributes:
        name: the column in the `reference` schema.
        sql_type: `text`, `date`, `integer` or `boolean`.
        headers: normalized source headers (lower case, letters and digits only)
            that fill it, tried in order; a header matches when it starts with one.
        required: whether a source without it cannot be loaded.
    """

    name: str
    sql_type: str
    headers: tuple[str, ...]
    required: bool = True


@dataclass(frozen=True)
class ReferenceTable:
    """A reference table: its name, key, columns and how its files are named."""

    name: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    file_pattern: re.Pattern[str]

    @property
    def qualified(self) -> str:
        """The table's name within the `reference` schema."""
        return f"{SCHEMA}.{self.name}"


TABLES_FILE = Path(__file__).resolve().with_name("tables.yaml")


def load_tables(path: Path = TABLES_FILE) -> tuple[ReferenceTable, ...]:
    """The reference tables declared in `path`, in the order written there."""
    declared = yaml.safe_load(path.read_text())
    return tuple(
        ReferenceTable(
            name=name,
            key=tuple(spec["key"]),
            columns=tuple(
                Column(
                    column["name"],
                    column["type"],
                    tuple(column["headers"]),
                    column.get("required", True),
                )
                for column in spec["columns"]
            ),
            file_pattern=re.compile(spec["file_pattern"], re.IGNORECASE),
        )
        for name, spec in declared.items()
    )


TABLES = load_tables()
TABLES_BY_NAME = {table.name: table for table in TABLES}
ICD10CM = TABLES_BY_NAME["icd10cm"]
MODIFIERS = TABLES_BY_NAME["modifiers"]


def normalize_header(header: str) -> str:
    """A source header reduced to lower-case letters and digits."""
    return re.sub(r"[^a-z0-9]", "", header.lower())


def table_for_file(file_name: str) -> ReferenceTable | None:
    """The reference table a source file feeds, judged by its name."""
    # Modifier files name HCPCS too, so they are matched first; the all-services
    # MUE file mixes facility and DME values and matches nothing.
    for table in (MODIFIERS, *TABLES):
        if table.file_pattern.search(file_name):
            return table
    return None
