-- Units above the practitioner MUE. Indicator 1 limits each line; 2 and 3 limit
-- the code's units on the date of service across lines.
with units as (
    select
        l.claim_id,
        l.cpt_code,
        list(l.claim_line_number order by l.claim_line_number) as all_lines,
        list(l.claim_line_number order by l.claim_line_number)
            filter (where l.units > m.mue_value) as over_lines,
        sum(l.units) as total_units,
        max(l.units) as max_units,
        m.mue_value,
        m.adjudication_indicator,
        cv.version
    from scrub_lines as l
    inner join claim_versions as cv
        on cv.claim_id = l.claim_id and cv.table_name = 'mue'
    inner join reference.mue as m
        on m.version = cv.version and m.hcpcs_code = l.cpt_code
    group by all
)

select
    claim_id,
    'mue' as rule_id,
    'reject' as severity,
    case when adjudication_indicator = 1 then over_lines else all_lines end
        as line_numbers,
    [cpt_code] as codes,
    cpt_code || ' is billed for ' || case when adjudication_indicator = 1
        then max_units || ' units on one line' else total_units || ' units on the date'
    end || '; the practitioner MUE allows ' || mue_value || ' (adjudication indicator '
    || adjudication_indicator || ').' as message,
    case adjudication_indicator
        when 1 then 'Bill at most ' || mue_value || ' units per line; extra units on '
            || 'another line need an anatomic or distinct-service modifier.'
        when 2 then 'Reduce to ' || mue_value || ' units: the limit is CMS policy and '
            || 'an appeal will not lift it.'
        else 'Reduce to ' || mue_value || ' units, or keep them and be ready to appeal '
            || 'with records showing they were medically necessary.'
    end as fix,
    false as fix_applied,
    version as reference_version
from units
where
    (adjudication_indicator = 1 and max_units > mue_value)
    or (adjudication_indicator <> 1 and total_units > mue_value)
