"""nlp.procedure_mentions: procedures named in the notes, with section and context."""

import polars as pl
from dagster import AssetExecutionContext, MaterializeResult, asset

from cptflow.assets.checks import check_specs_for
from cptflow.assets.publishing import count_metadata, stage_check_publish
from cptflow.orchestration.partitions import DayRange, daily_partitions, single_run
from cptflow.orchestration.resources import WarehouseResource
from cptflow.transforms.nlp import find_mentions, mention_frame

KEY = ("nlp", "procedure_mentions")


@asset(
    key=list(KEY),
    deps=[["ocr", "page_texts"]],
    partitions_def=daily_partitions,
    backfill_policy=single_run,
    check_specs=check_specs_for(KEY),
    group_name="nlp",
)
def procedure_mentions(
    context: AssetExecutionContext, warehouse: WarehouseResource
) -> MaterializeResult:
    """One row per procedure mention found by medspaCy in the partition's pages.

    Source: ocr.page_texts. Each mention carries its section and ConText flags
    (negated, historical, hypothetical, family, other provider) and page offsets.
    """
    days = DayRange.of(context)
    pages = warehouse.read(
        "select document_id, partition_date, page_number, text from ocr.page_texts "
        "where partition_date between ? and ? "
        "order by partition_date, document_id, page_number",
        [days.first, days.last],
    )

    frames = [mention_frame("", days.first, [])]
    for (document_id, partition_date), doc_pages in pages.group_by(
        ["document_id", "partition_date"], maintain_order=True
    ):
        page_list = list(zip(doc_pages["page_number"], doc_pages["text"], strict=True))
        mentions = find_mentions(page_list)
        frames.append(mention_frame(document_id, partition_date, mentions))
    frame = pl.concat(frames, how="vertical")

    performed = frame.filter(
        ~pl.any_horizontal(
            "is_negated",
            "is_historical",
            "is_hypothetical",
            "is_family",
            "is_other_provider",
        )
    )
    context.log.info(
        "nlp %s: %d mentions, %d performed",
        days,
        frame.height,
        performed.height,
    )
    return stage_check_publish(
        context,
        warehouse,
        asset_key=KEY,
        frames={"procedure_mentions": frame},
        extra_metadata=count_metadata(
            {
                "documents": pages["document_id"].n_unique(),
                "performed_mentions": performed.height,
            }
        ),
    )
