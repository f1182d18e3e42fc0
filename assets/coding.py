"""coding.encounter_codes: CPT lines with modifiers, units, diagnoses and evidence."""

from datetime import date

import polars as pl
from dagster import AssetExecutionContext, MaterializeResult, asset

from cptflow.assets.checks import check_specs_for
from cptflow.assets.publishing import count_metadata, stage_check_publish
from cptflow.orchestration.partitions import DayRange, daily_partitions, single_run
from cptflow.orchestration.resources import WarehouseResource
from cptflow.transforms.coding import (
    Icd10Table,
    code_document,
    code_frames,
    default_icd10_table,
    icd10_table_from_rows,
    rules_version,
    version_in_force,
)
from cptflow.transforms.encounters import ENCOUNTER_SCHEMA, encounter_row
from cptflow.transforms.header import read_header
from cptflow.transforms.nlp import Mention
from cptflow.transforms.ocr.language import is_probably_english

KEY = ("coding", "encounter_codes")
MENTION_FIELDS = tuple(Mention.__dataclass_fields__)
NOT_ENGLISH = "not_english: the note does not read as English"


@asset(
    key=list(KEY),
    deps=[["nlp", "procedure_mentions"], ["intake", "documents"]],
    partitions_def=daily_partitions,
    backfill_policy=single_run,
    check_specs=check_specs_for(KEY),
    group_name="coding",
)
def encounter_codes(
    context: AssetExecutionContext, warehouse: WarehouseResource
) -> MaterializeResult:
    """One row per CPT line coded for an encounter of the partition.

    Source: ocr.page_texts, nlp.procedure_mentions and intake.documents. Side tables:
    coding.encounters (one row per encounter, with its review flag and reasons) and
    coding.physician_queries (documentation gaps that block a specific code).
    """
    days = DayRange.of(context)
    span = [days.first, days.last]
    documents = warehouse.read(
        "select * from intake.documents d where partition_date between ? and ? "
        "and status = 'processed' and exists (select 1 from ocr.page_texts p "
        "where p.document_id = d.document_id "
        "and p.partition_date = d.partition_date) "
        "order by partition_date, file_path",
        span,
    )
    pages = warehouse.read(
        "select document_id, page_number, text from ocr.page_texts "
        "where partition_date between ? and ? order by document_id, page_number",
        span,
    )
    mentions = warehouse.read(
        "select * from nlp.procedure_mentions where partition_date between ? and ? "
        "order by document_id, page_number, start",
        span,
    )

    icd10_tables = _Icd10Tables(warehouse)
    version = rules_version()
    encounters, code_parts, query_parts = [], [], []
    for document in documents.iter_rows(named=True):
        document_id = document["document_id"]
        partition_date = document["partition_date"]
        page_list = _pages_of(pages, document_id)
        header = read_header(page_list[0][1] if page_list else "")
        dos = document["date_of_service"] or header.date_of_service
        result = code_document(
            page_list,
            _mentions_of(mentions, document_id),
            date_of_service=dos,
            icd10=icd10_tables.on(dos or partition_date),
        )
        # The coding rules read English; another language goes to a coder.
        is_english = is_probably_english(" ".join(text for _, text in page_list))
        encounters.append(
            encounter_row(
                document,
                header,
                partition_date=partition_date,
                needs_review=result.needs_review or not is_english,
                review_reasons=list(result.review_reasons)
                + ([] if is_english else [NOT_ENGLISH]),
                rules_version=version,
            )
        )
        codes, queries = code_frames(
            document["encounter_id"], document_id, partition_date, result
        )
        code_parts.append(codes)
        query_parts.append(queries)

    empty_codes, empty_queries = code_frames("", "", days.first, None)
    codes = pl.concat([empty_codes, *code_parts], how="vertical")
    queries = pl.concat([empty_queries, *query_parts], how="vertical")
    encounter_frame = pl.DataFrame(encounters, schema=ENCOUNTER_SCHEMA)
    in_review = encounter_frame.filter(pl.col("needs_review")).height
    context.log.info(
        "coding %s: %d encounters (%d for review), %d code lines, %d queries",
        days,
        encounter_frame.height,
        in_review,
        codes.height,
        queries.height,
    )
    return stage_check_publish(
        context,
        warehouse,
        asset_key=KEY,
        frames={
            "encounter_codes": codes,
            "encounters": encounter_frame,
            "physician_queries": queries,
        },
        check_frame=codes.with_columns(
            pl.col("evidence").list.len().alias("evidence_count")
        ),
        extra_metadata=count_metadata(
            {
                "encounters": encounter_frame.height,
                "encounters_for_review": in_review,
                "physician_queries": queries.height,
            }
        ),
    )


class _Icd10Tables:
    """The ICD-10-CM table in force on each date of service, read once per version.

    Diagnoses are validated against what `cptflow reference load` loaded; a
    database without an ICD-10-CM version uses the CMS table bundled with the product.
    """

    def __init__(self, warehouse: WarehouseResource) -> None:
        self._warehouse = warehouse
        self._tables: dict[str, Icd10Table] = {}
        self._versions: list[tuple[str, date, date | None]] = []
        if warehouse.table_exists("reference", "versions"):
            rows = warehouse.read(
                "select version, effective_from, effective_to "
                "from reference.versions where table_name = 'icd10cm'"
            )
            self._versions = list(rows.iter_rows())

    def on(self, day: date) -> Icd10Table:
        """The table of the version in force on `day`, else the nearest one."""
        version = version_in_force(self._versions, day)
        if version is None:
            return default_icd10_table()
        if version not in self._tables:
            rows = self._warehouse.read(
                "select icd10cm_code, is_billable, description "
                "from reference.icd10cm where version = ?",
                [version],
            )
            self._tables[version] = icd10_table_from_rows(rows.iter_rows())
        return self._tables[version]


def _pages_of(pages: pl.DataFrame, document_id: str) -> list[tuple[int, str]]:
    """A document's (page number, text) pairs in order."""
    rows = pages.filter(pl.col("document_id") == document_id)
    return list(zip(rows["page_number"], rows["text"], strict=True))


def _mentions_of(mentions: pl.DataFrame, document_id: str) -> list[Mention]:
    """A document's stored mentions as the NLP stage's Mention objects."""
    rows = mentions.filter(pl.col("document_id") == document_id)
    return [
        Mention(**{name: row[name] for name in MENTION_FIELDS})
        for row in rows.iter_rows(named=True)
    ]
