"""The reference tables cptflow loads: their columns and the source headers they
accept, both as CMS publishes them and as the team's CSV extracts."""

from __future__ import annotations

import re
from dataclasses import dataclass

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


def _col(name: str, sql_type: str, *headers: str, required: bool = True) -> Column:
    return Column(name, sql_type, headers, required)


NCCI_PTP = ReferenceTable(
    name="ncci_ptp",
    key=("column_1_code", "column_2_code"),
    columns=(
        _col("column_1_code", "text", "column1"),
        _col("column_2_code", "text", "column2"),
        _col("effective_date", "date", "effectivedate", required=False),
        _col("deletion_date", "date", "deletiondate"),
        _col("modifier_indicator", "text", "modifierindicator", "modifier0"),
        _col("rationale", "text", "ptpeditrationale", required=False),
    ),
    file_pattern=re.compile(r"ptp.*pra?c|pra?c.*ptp|ccipra", re.IGNORECASE),
)
MUE = ReferenceTable(
    name="mue",
    key=("hcpcs_code",),
    columns=(
        _col("hcpcs_code", "text", "hcpcscptcode", "hcpcs"),
        _col(
            "mue_value",
            "integer",
            "practitionermuevalue",
            "practitionerservicesmuevalue",
            "muevalue",
        ),
        _col("adjudication_indicator", "integer", "mueadjudicationindicator"),
        _col("rationale", "text", "muerationale", required=False),
    ),
    file_pattern=re.compile(r"mue.*pra?c", re.IGNORECASE),
)
ADD_ON = ReferenceTable(
    name="add_on",
    key=("primary_code", "add_on_code"),
    columns=(
        _col("primary_code", "text", "primarycode", "primary"),
        _col("add_on_code", "text", "addoncode", "addon"),
        _col("edit_type", "integer", "aocedittype", "edittype"),
    ),
    file_pattern=re.compile(r"add.?on|aoc", re.IGNORECASE),
)
ICD10CM = ReferenceTable(
    name="icd10cm",
    key=("icd10cm_code",),
    columns=(
        _col("icd10cm_code", "text", "code"),
        _col("is_billable", "boolean", "billable"),
        _col("description", "text", "description", required=False),
    ),
    file_pattern=re.compile(r"icd.?10.?cm", re.IGNORECASE),
)
HCPCS = ReferenceTable(
    name="hcpcs",
    key=("hcpcs_code",),
    columns=(
        _col("hcpcs_code", "text", "hcpcscode", "hcpc"),
        _col("short_description", "text", "shortdescription", required=False),
        _col("added_date", "date", "dateadded", "adddt", required=False),
        _col("termination_date", "date", "dateterm", "termdt"),
    ),
    file_pattern=re.compile(r"hcpc", re.IGNORECASE),
)
MODIFIERS = ReferenceTable(
    name="modifiers",
    key=("modifier",),
    columns=(
        _col("modifier", "text", "modifier"),
        _col("modifier_set", "text", "modifierset", required=False),
        _col("category", "text", "category", required=False),
    ),
    file_pattern=re.compile(r"modifier", re.IGNORECASE),
)
PLACE_OF_SERVICE = ReferenceTable(
    name="place_of_service",
    key=("pos_code",),
    columns=(
        _col("pos_code", "text", "poscode", "placeofservicecode"),
        _col("pos_name", "text", "posname", "placeofservicename", required=False),
    ),
    file_pattern=re.compile(r"place.?of.?service|pos.?code", re.IGNORECASE),
)

TABLES: tuple[ReferenceTable, ...] = (
    NCCI_PTP,
    MUE,
    ADD_ON,
    ICD10CM,
    HCPCS,
    MODIFIERS,
    PLACE_OF_SERVICE,
)
TABLES_BY_NAME = {table.name: table for table in TABLES}


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
