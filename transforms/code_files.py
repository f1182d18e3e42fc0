"""Code one file end to end with the pipeline's own transforms, for `cptflow code`."""

from __future__ import annotations

import logging
from dataclasses import asdict
from pathlib import Path
from typing import Any

from cptflow.transforms.coding import code_document, default_icd10_table
from cptflow.transforms.errors import DocumentError
from cptflow.transforms.header import read_header
from cptflow.transforms.intake import inspect_file
from cptflow.transforms.nlp import find_mentions
from cptflow.transforms.ocr import extract_pages

log = logging.getLogger(__name__)


def code_file(path: Path, *, icd10: Any = None) -> dict[str, Any]:
    """The coded result of one document as the `cptflow code` JSON object.

    A file that cannot be read yields `{"document", "error"}` and never raises, so
    a batch goes on past it.
    """
    try:
        return _code(path, icd10 if icd10 is not None else default_icd10_table())
    except DocumentError as error:
        log.warning("%s not coded: %s", path.name, error.reason)
        return {"document": path.name, "error": f"{error.reason}: {error.detail}"}
    except OSError as error:
        return {"document": path.name, "error": f"unreadable: {error.strerror}"}


def _code(path: Path, icd10: Any) -> dict[str, Any]:
    """Inspect, read pages, find mentions and code; DocumentError on bad input."""
    inspection = inspect_file(path)
    if inspection.status != "processed":
        raise DocumentError(inspection.reason or "corrupt", inspection.detail or "")

    extraction = extract_pages(path, inspection.doc_format or "")
    pages = [(page.page_number, page.text) for page in extraction.pages]
    mentions = find_mentions(pages)
    header = read_header(pages[0][1] if pages else "")
    result = code_document(
        pages, mentions, date_of_service=header.date_of_service, icd10=icd10
    )
    return {
        "document": path.name,
        "codes": [_code_object(line) for line in result.codes],
        "needs_review": result.needs_review,
        "review_reasons": list(result.review_reasons),
    }


def _code_object(line: Any) -> dict[str, Any]:
    """One coded line in the contract's shape."""
    return {
        "cpt": line.cpt_code,
        "modifiers": list(line.modifiers),
        "units": line.units,
        "icd10cm": list(line.icd10cm_codes),
        "confidence": round(float(line.confidence), 3),
        "needs_review": line.needs_review,
        "evidence": [asdict(span) for span in line.evidence],
    }
