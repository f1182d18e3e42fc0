select
    claim_id,
    'reference_version' as rule_id,
    'warn' as severity,
    []::integer[] as line_numbers,
    []::varchar[] as codes,
    'No loaded reference version is in force on the date of service for '
    || string_agg(table_name || ' (used ' || version || ', '
        || strftime(effective_from, '%Y-%m-%d') || ' to '
        || coalesce(strftime(effective_to, '%Y-%m-%d'), 'open') || ')', ', '
        order by table_name)
    || '; the nearest version was used instead.' as message,
    'Load the reference files in force on that date with `cptflow reference load`.'
        as fix,
    false as fix_applied,
    string_agg(distinct version, ',') as reference_version
from claim_versions
where days_outside > 0
group by claim_id
