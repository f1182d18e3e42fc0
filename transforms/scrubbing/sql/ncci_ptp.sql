-- Column 1/column 2 pairs billed on one claim (one date of service). Indicator 0
-- is never bypassed, 1 is bypassed by a distinct-service or anatomic modifier or
-- by 25 on the E/M line, 9 means the edit does not apply. An edit deleted before
-- the date of service no longer applies.
with pairs as (
    select
        l1.claim_id,
        l1.claim_line_number as line_1,
        l2.claim_line_number as line_2,
        cv.version,
        min(p.modifier_indicator) as modifier_indicator,
        min(p.rationale) as rationale
    from scrub_lines as l1
    inner join scrub_lines as l2
        on l2.claim_id = l1.claim_id
        and l2.claim_line_number <> l1.claim_line_number
    inner join scrub_claims as c on c.claim_id = l1.claim_id
    inner join claim_versions as cv
        on cv.claim_id = l1.claim_id and cv.table_name = 'ncci_ptp'
    inner join reference.ncci_ptp as p
        on p.version = cv.version
        and p.column_1_code = l1.cpt_code
        and p.column_2_code = l2.cpt_code
    where
        (p.deletion_date is null or c.date_of_service <= p.deletion_date)
        and p.modifier_indicator in ('0', '1')
    group by l1.claim_id, l1.claim_line_number, l2.claim_line_number, cv.version
),

edits as (
    select
        pairs.*,
        l1.cpt_code as code_1,
        l2.cpt_code as code_2,
        l1.modifiers as modifiers_1,
        l2.modifiers as modifiers_2,
        l1.sites as sites_1,
        l2.sites as sites_2
    from pairs
    inner join scrub_lines as l1
        on l1.claim_id = pairs.claim_id and l1.claim_line_number = pairs.line_1
    inner join scrub_lines as l2
        on l2.claim_id = pairs.claim_id and l2.claim_line_number = pairs.line_2
),

judged as (
    select
        *,
        modifier_indicator = '1' and (
            len(list_intersect(modifiers_1 || modifiers_2, $distinct)) > 0
            or len(list_filter(
                modifiers_2,
                m -> list_contains($anatomic, m) and not list_contains(modifiers_1, m)
            )) > 0
            or (code_2 between $em_from and $em_to
                and list_contains(modifiers_2, $em_modifier))
            or (code_1 between $em_from and $em_to
                and list_contains(modifiers_1, $em_modifier))
        ) as is_bypassed,
        modifier_indicator = '1'
        and len(sites_1) > 0
        and len(sites_2) > 0
        and len(list_intersect(sites_1, sites_2)) = 0 as has_distinct_site
    from edits
)

select
    claim_id,
    'ncci_ptp' as rule_id,
    case when has_distinct_site then 'warn' else 'reject' end as severity,
    [line_2] as line_numbers,
    [code_1, code_2] as codes,
    case
        when modifier_indicator = '0' then
            code_2 || ' (line ' || line_2 || ') is a column 2 code of ' || code_1
            || ' (line ' || line_1 || ') under NCCI (' || coalesce(rationale, 'no reason given')
            || ') and no modifier lets them be paid together on one date.'
        when has_distinct_site then
            code_2 || ' (line ' || line_2 || ') is bundled into ' || code_1
            || ' unless it was a distinct service; the note documents it at a '
            || 'different site, so XS was added.'
        else
            code_2 || ' (line ' || line_2 || ') is bundled into ' || code_1
            || ' (line ' || line_1 || ') under NCCI (' || coalesce(rationale, 'no reason given')
            || ') and no modifier shows a distinct service.'
    end as message,
    case
        when modifier_indicator = '0' then
            'Remove ' || code_2 || ' from the claim: it is never paid with ' || code_1
            || ' on the same date.'
        when has_distinct_site then 'XS appended to line ' || line_2 || '.'
        else
            'If the note shows a separate site, session or lesion, append XS, XE, XP, '
            || 'XU or 59 to line ' || line_2 || '; otherwise remove ' || code_2
            || '. Sent to coder review.'
    end as fix,
    has_distinct_site as fix_applied,
    version as reference_version
from judged
where not is_bypassed
