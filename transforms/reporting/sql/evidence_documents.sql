-- The coded documents behind claim lines: where the original is and whose it is.
select
    document_id,
    any_value(file_path) as file_path,
    any_value(doc_format) as doc_format,
    any_value(page_count) as page_count,
    any_value(patient_id) as patient_id,
    any_value(patient_name) as patient_name,
    any_value(patient_birth_date) as patient_birth_date,
from intake.documents
where
    status = 'processed'
    and document_id in (select document_id from marts.fct_claim_lines)
group by document_id
order by document_id
