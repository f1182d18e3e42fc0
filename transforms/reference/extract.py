"""Cut the small bundled reference extract from the full CMS tables."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import duckdb
import yaml

from cptflow.transforms.reference.load import MANIFEST_NAME, load_reference

# Beyond the rows the demo's codes touch, keep this many more PTP edits of those
# codes, so the extract shows how the edits behave on codes the rules lack.
EXTRA_PTP_ROWS = 300
ICD_EXTRACT = "../icd10cm_2026_april_codes.csv.gz"

# Each output file: the table it feeds and the SELECT that cuts it, over the
# loaded `reference` tables and the registered `wanted(code)` relation.
_CUTS = {
    "ncci_ptp_practitioner_2024q3.csv": (
        "ncci_ptp",
        "select column_1_code as column_1, column_2_code as column_2, "
        "deletion_date, modifier_indicator, rationale as ptp_edit_rationale "
        "from ({ptp}) order by all",
    ),
    "ncci_mue_practitioner_2024q3.csv": (
        "mue",
        "select hcpcs_code as hcpcs_cpt_code, mue_value as practitioner_mue_value, "
        "adjudication_indicator as mue_adjudication_indicator, "
        "rationale as mue_rationale from reference.mue "
        "where hcpcs_code in (select code from wanted) order by all",
    ),
    "ncci_add_on_code_edits_2024q3.csv": (
        "add_on",
        "select primary_code, add_on_code, edit_type as aoc_edit_type "
        "from reference.add_on where add_on_code in (select code from wanted) "
        "or primary_code in (select code from wanted) order by all",
    ),
    "hcpcs_level2_2024_july.csv": (
        "hcpcs",
        "select hcpcs_code, short_description, added_date as date_added, "
        "termination_date as date_term from reference.hcpcs "
        "where hcpcs_code in (select code from wanted) order by all",
    ),
    "modifiers_cpt_and_hcpcs.csv": (
        "modifiers",
        # CPT modifier titles are AMA copyright: only codes and categories ship.
        "select modifier, modifier_set, category from reference.modifiers order by all",
    ),
    "place_of_service_codes.csv": (
        "place_of_service",
        "select pos_code, pos_name from reference.place_of_service order by all",
    ),
}
_PTP_CUT = (
    "select * from reference.ncci_ptp where column_1_code in "
    "(select code from wanted) and column_2_code in (select code from wanted) "
    "union all ("
    "select * from reference.ncci_ptp where column_1_code in "
    "(select code from wanted) and column_2_code not in (select code from wanted) "
    "order by column_1_code, column_2_code limit ?)"
)


def write_extract(source: Path, out_dir: Path, codes: Iterable[str]) -> list[Path]:
    """Write the rows of the full tables that the given codes touch, as CSV.

    Args:
        source: the folder of full reference files (../shared/data/reference).
        out_dir: where the extract and its `versions.yaml` go.
        codes: the CPT/HCPCS codes the demo bills.

    Returns:
        The files written.
    """
    conn = duckdb.connect()
    loaded = {v.table: v for v in load_reference(conn, source, version="full")}
    conn.execute(
        "create table wanted as select unnest(?::varchar[]) as code", [list(codes)]
    )
    out_dir.mkdir(parents=True, exist_ok=True)

    written, manifest = [], []
    for file_name, (table, select) in _CUTS.items():
        path = out_dir / file_name
        sql = select.format(ptp=_PTP_CUT)
        params = [EXTRA_PTP_ROWS] if table == "ncci_ptp" else []
        conn.execute(sql, params).pl().write_csv(path)
        written.append(path)
        version = loaded[table]
        manifest.append(
            {
                "file": file_name,
                "table": table,
                "effective_from": version.effective_from,
                "effective_to": version.effective_to,
            }
        )

    manifest.append(
        {
            "file": ICD_EXTRACT,
            "table": "icd10cm",
            "effective_from": loaded["icd10cm"].effective_from,
            "effective_to": loaded["icd10cm"].effective_to,
        }
    )
    header = "# The bundled reference extract: each file, its table and period.\n"
    (out_dir / MANIFEST_NAME).write_text(header + _dump(manifest))
    return written


class _PlainDumper(yaml.SafeDumper):
    """Writes repeated dates out in full rather than as YAML aliases."""

    def ignore_aliases(self, data: object) -> bool:
        return True


def _dump(manifest: list[dict]) -> str:
    return yaml.dump({"files": manifest}, Dumper=_PlainDumper, sort_keys=False)
