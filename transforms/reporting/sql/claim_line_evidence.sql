-- One row per evidence span of a claim line, with the span's words and some context.
with

spans as (

    select
        line_control_number,
        document_id,
        unnest(evidence_spans) as span,
    from marts.fct_claim_lines

),

located as (

    select
        line_control_number,
        document_id,
        span.page_number as page_number,
        span.start_offset as start_offset,
        span.end_offset as end_offset,
        greatest(span.start_offset - 80, 0) as context_start,
    from spans

)

select
    located.line_control_number,
    located.document_id,
    located.page_number,
    located.start_offset,
    located.end_offset,
    substring(
        page_texts.text,
        located.start_offset + 1,
        located.end_offset - located.start_offset
    ) as evidence_text,
    substring(
        page_texts.text,
        located.context_start + 1,
        located.start_offset - located.context_start
    ) as context_before,
    substring(page_texts.text, located.end_offset + 1, 80) as context_after,
from located
left join ocr.page_texts as page_texts
    on
        located.document_id = page_texts.document_id
        and located.page_number = page_texts.page_number
order by located.line_control_number, located.page_number, located.start_offset
