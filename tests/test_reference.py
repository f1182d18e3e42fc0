"""Reference data: loading versions and choosing the one in force on a date."""

from datetime import date
from pathlib import Path

import duckdb
import pytest
from shared_inputs import shared_path

from cptflow.transforms.reference.load import (
    ReferenceDataError,
    has_reference_data,
    load_bundled,
    load_reference,
    period_from_name,
)


@pytest.mark.parametrize(
    ("name", "table", "expected"),
    [
        ("ncci_ptp_practitioner_2024q3_all.csv.gz", "ncci_ptp",
         (date(2024, 7, 1), date(2024, 9, 30))),
        ("hcpcs_level2_2024_july.csv", "hcpcs", (date(2024, 7, 1), date(2024, 9, 30))),
        ("icd10cm_2026_april_codes.csv", "icd10cm",
         (date(2026, 4, 1), date(2026, 9, 30))),
        ("icd10cm_order_2025.txt", "icd10cm", (date(2024, 10, 1), date(2025, 9, 30))),
        ("place_of_service_codes.csv", "place_of_service", (date(2000, 1, 1), None)),
    ],
    ids=["ptp-quarter", "hcpcs-month", "icd-april", "icd-fiscal-year", "undated"],
)  # fmt: skip
def test_period_from_name_reads_quarter_month_and_fiscal_year(name, table, expected):
    assert period_from_name(name, table=table) == expected


def test_load_bundled_fills_every_table():
    conn = duckdb.connect()
    loaded = {v.table: v.row_count for v in load_bundled(conn)}

    assert has_reference_data(conn)
    assert set(loaded) == {
        "ncci_ptp", "mue", "add_on", "icd10cm", "hcpcs", "modifiers",
        "place_of_service",
    }  # fmt: skip
    assert all(count > 0 for count in loaded.values())


def test_load_reference_keeps_versions_side_by_side(tmp_path):
    source = tmp_path / "q1"
    source.mkdir()
    (source / "place_of_service_codes.csv").write_text("pos_code,pos_name\n11,Office\n")
    conn = duckdb.connect()

    load_reference(conn, source, version="2023", effective_to=date(2023, 12, 31))
    load_reference(conn, source, version="2024", effective_from=date(2024, 1, 1))
    load_reference(conn, source, version="2024", effective_from=date(2024, 1, 1))

    rows = conn.execute(
        "select version, effective_from, effective_to, row_count "
        "from reference.versions order by version"
    ).fetchall()
    assert rows == [
        ("2023", date(2000, 1, 1), date(2023, 12, 31), 1),
        ("2024", date(2024, 1, 1), None, 1),
    ]


def test_load_reference_reads_cms_text_layout(tmp_path):
    # CMS's PTP text files open with notices, use tabs and write dates as CCYYMMDD.
    text = (
        "CPT only copyright AMA\n\n"
        "Column 1\tColumn 2\t*=in existence prior to 1996\tEffective Date\t"
        "Deletion Date *=no data\tModifier 0=not allowed 1=allowed 9=not applicable\t"
        "PTP Edit Rationale\n"
        "45385\t45380\t\t20150101\t*\t1\tMore extensive procedure\n"
    )
    (tmp_path / "ccipra_v303r0_f1.txt").write_text(text)
    conn = duckdb.connect()

    load_reference(conn, tmp_path, version="cms")

    assert conn.execute(
        "select * exclude (rationale) from reference.ncci_ptp"
    ).fetchall() == [("cms", "45385", "45380", date(2015, 1, 1), None, "1")]


def test_load_reference_names_a_file_without_needed_columns(tmp_path):
    (tmp_path / "ncci_mue_practitioner_2024q3.csv").write_text("code,value\nA,1\n")

    with pytest.raises(ReferenceDataError, match="ncci_mue_practitioner_2024q3.csv"):
        load_reference(duckdb.connect(), tmp_path)


def test_load_reference_reads_the_full_shared_tables():
    source = shared_path("data", "reference")
    conn = duckdb.connect()
    loaded = {
        v.table: v.row_count
        for v in load_reference(conn, Path(source) / "ncci_mue_practitioner_2024q3.csv")
    }
    assert loaded == {"mue": 14677}
