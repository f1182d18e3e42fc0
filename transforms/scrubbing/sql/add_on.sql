-- Add-on codes need a primary on the claim. Type 1 lists every eligible primary;
-- type 2 lists none (any primary the payer accepts); type 3 lists some, and the
-- payer may accept others.
with add_on_lines as (
    select
        l.claim_id,
        l.claim_line_number,
        l.cpt_code,
        cv.version,
        min(a.edit_type) as edit_type
    from scrub_lines as l
    inner join claim_versions as cv
        on cv.claim_id = l.claim_id and cv.table_name = 'add_on'
    inner join reference.add_on as a
        on a.version = cv.version and a.add_on_code = l.cpt_code
    group by all
),

judged as (
    select
        a.*,
        exists (
            select 1
            from reference.add_on as p
            inner join scrub_lines as o
                on o.claim_id = a.claim_id and o.cpt_code = p.primary_code
            where p.version = a.version and p.add_on_code = a.cpt_code
        ) as has_listed_primary,
        exists (
            select 1
            from scrub_lines as o
            where
                o.claim_id = a.claim_id
                and o.cpt_code not in (
                    select add_on_code from reference.add_on where version = a.version
                )
        ) as has_other_primary
    from add_on_lines as a
)

select
    claim_id,
    'add_on' as rule_id,
    case when edit_type = 3 and has_other_primary then 'warn' else 'reject' end
        as severity,
    [claim_line_number] as line_numbers,
    [cpt_code] as codes,
    cpt_code || ' (line ' || claim_line_number || ') is an add-on code (edit type '
    || edit_type || ') and ' || case
        when not has_other_primary then 'no primary procedure is billed with it.'
        else 'none of its listed primary procedures is on the claim.'
    end as message,
    case
        when edit_type = 3 and has_other_primary
            then 'Check that the payer accepts this primary for ' || cpt_code || '.'
        else 'Add the primary procedure the note documents, or remove ' || cpt_code
            || '. Sent to coder review.'
    end as fix,
    false as fix_applied,
    version as reference_version
from judged
where
    (edit_type = 1 and not has_listed_primary)
    or (edit_type = 2 and not has_other_primary)
    or (edit_type = 3 and not has_listed_primary)
