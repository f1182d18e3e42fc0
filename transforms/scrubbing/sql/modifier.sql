-- Modifiers must exist, suit the code they are on, and not contradict each other.
with line_modifiers as (
    select
        l.claim_id,
        l.claim_line_number,
        l.cpt_code,
        m.modifier,
        c.date_of_service
    from scrub_lines as l
    inner join scrub_claims as c on c.claim_id = l.claim_id,
        unnest(l.modifiers) as m(modifier)
),

unknown as (
    select
        lm.claim_id,
        [lm.claim_line_number] as line_numbers,
        [lm.cpt_code, lm.modifier] as codes,
        'Modifier ' || lm.modifier || ' on line ' || lm.claim_line_number
        || ' is not a CPT or HCPCS modifier.' as message,
        'Remove or correct modifier ' || lm.modifier || '.' as fix,
        cv.version
    from line_modifiers as lm
    inner join claim_versions as cv
        on cv.claim_id = lm.claim_id and cv.table_name = 'modifiers'
    where not exists (
        select 1 from reference.modifiers as r
        where r.version = cv.version and r.modifier = lm.modifier
    )
),

out_of_scope as (
    select
        lm.claim_id,
        [lm.claim_line_number] as line_numbers,
        [lm.cpt_code, lm.modifier] as codes,
        'Modifier ' || lm.modifier || ' on ' || lm.cpt_code || ' (line '
        || lm.claim_line_number || '): ' || s.reason || '.' as message,
        'Remove modifier ' || lm.modifier || ' from line ' || lm.claim_line_number || '.'
            as fix,
        null as version
    from line_modifiers as lm
    inner join modifier_scope as s on s.modifier = lm.modifier
    where
        lm.date_of_service >= s.effective_from
        and (s.effective_to is null or lm.date_of_service <= s.effective_to)
        and not (lm.cpt_code between s.code_from and s.code_to)
),

conflicts as (
    select
        a.claim_id,
        [a.claim_line_number] as line_numbers,
        [a.cpt_code, a.modifier, b.modifier] as codes,
        'Modifiers ' || a.modifier || ' and ' || b.modifier || ' on line '
        || a.claim_line_number || ' contradict each other: ' || k.reason || '.'
            as message,
        'Keep the one modifier the note supports on line ' || a.claim_line_number || '.'
            as fix,
        null as version
    from line_modifiers as a
    inner join line_modifiers as b
        on b.claim_id = a.claim_id and b.claim_line_number = a.claim_line_number
    inner join modifier_conflicts as k
        on k.modifier_a = a.modifier and k.modifier_b = b.modifier
    where
        a.date_of_service >= k.effective_from
        and (k.effective_to is null or a.date_of_service <= k.effective_to)
),

too_many as (
    select
        l.claim_id,
        [l.claim_line_number] as line_numbers,
        [l.cpt_code] as codes,
        'Line ' || l.claim_line_number || ' has ' || len(l.modifiers)
        || ' modifiers; an 837P service line carries at most four.' as message,
        'Keep the four modifiers that matter to payment, pricing first.' as fix,
        null as version
    from scrub_lines as l
    where len(l.modifiers) > 4
)

select
    claim_id,
    'modifier' as rule_id,
    'warn' as severity,
    line_numbers,
    codes,
    message,
    fix,
    false as fix_applied,
    version as reference_version
from (
    select * from unknown
    union all select * from out_of_scope
    union all select * from conflicts
    union all select * from too_many
)
