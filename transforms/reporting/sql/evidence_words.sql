-- Word boxes of the coded documents, to highlight evidence and mask identifiers.
select
    document_id,
    page_number,
    word_index,
    text,
    start,
    "end",
    x0,
    y0,
    x1,
    y1,
from ocr.page_words
where document_id in (select document_id from marts.fct_claim_lines)
order by document_id, page_number, word_index
