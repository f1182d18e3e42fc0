-- Each diagnosis must be a billable ICD-10-CM code of the version in force: a
-- category or subcategory that has children is a header, not a code to bill.
with diagnoses as (
    select
        c.claim_id,
        d.position,
        d.code as given_code,
        upper(replace(trim(d.code), '.', '')) as icd10cm_code
    from scrub_claims as c,
        unnest(c.diagnosis_codes) with ordinality as d(code, position)
),

judged as (
    select
        d.*,
        cv.version,
        i.icd10cm_code is not null as is_known,
        coalesce(i.is_billable, false) as is_billable,
        (
            select list(l.claim_line_number order by l.claim_line_number)
            from scrub_lines as l
            where l.claim_id = d.claim_id and list_contains(l.diagnosis_pointers, d.position)
        ) as pointing_lines
    from diagnoses as d
    inner join claim_versions as cv
        on cv.claim_id = d.claim_id and cv.table_name = 'icd10cm'
    left join reference.icd10cm as i
        on i.version = cv.version and i.icd10cm_code = d.icd10cm_code
)

select
    claim_id,
    'invalid_diagnosis' as rule_id,
    'reject' as severity,
    coalesce(pointing_lines, []::integer[]) as line_numbers,
    [given_code] as codes,
    case
        when is_known then given_code || ' is an ICD-10-CM header with more specific '
            || 'codes below it, and only those may be billed.'
        else given_code || ' is not an ICD-10-CM code in force on the date of service.'
    end as message,
    case
        when is_known then 'Replace ' || given_code || ' with the most specific code the '
            || 'note supports. Sent to coder review.'
        else 'Correct the diagnosis code. Sent to coder review.'
    end as fix,
    false as fix_applied,
    version as reference_version
from judged
where not is_billable
