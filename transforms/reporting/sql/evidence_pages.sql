-- Pages of the coded documents: text, and the size and turn framing their word boxes.
select
    document_id,
    page_number,
    method,
    width,
    height,
    rotation,
    text,
from ocr.page_texts
where document_id in (select document_id from marts.fct_claim_lines)
order by document_id, page_number
