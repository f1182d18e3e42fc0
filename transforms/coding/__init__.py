"""CPT coding engine: rule files per family, applied to a document's mentions."""

from cptflow.transforms.coding.engine import code_document, code_frames
from cptflow.transforms.coding.icd10 import (
    Icd10Table,
    default_icd10_table,
    icd10_table_from_rows,
    load_icd10_table,
    version_in_force,
)
from cptflow.transforms.coding.model import (
    CodedLine,
    CodingResult,
    Evidence,
    PhysicianQuery,
)
from cptflow.transforms.coding.rules import rules_version

__all__ = [
    "CodedLine",
    "CodingResult",
    "Evidence",
    "Icd10Table",
    "PhysicianQuery",
    "code_document",
    "code_frames",
    "default_icd10_table",
    "icd10_table_from_rows",
    "load_icd10_table",
    "rules_version",
    "version_in_force",
]
