-- A procedure code is invalid when no loaded table nor the project's own tables
-- know it, or when it was deleted before the date of service.
with line_codes as (
    select l.claim_id, l.claim_line_number, l.cpt_code, c.date_of_service
    from scrub_lines as l
    inner join scrub_claims as c on c.claim_id = l.claim_id
),

versions as (
    select
        claim_id,
        max(version) filter (where table_name = 'ncci_ptp') as ptp_version,
        max(version) filter (where table_name = 'mue') as mue_version,
        max(version) filter (where table_name = 'add_on') as add_on_version,
        max(version) filter (where table_name = 'hcpcs') as hcpcs_version
    from claim_versions
    group by claim_id
),

wanted as (
    select distinct l.cpt_code, v.ptp_version, v.mue_version, v.add_on_version
    from line_codes as l
    inner join versions as v on v.claim_id = l.claim_id
),

-- Semi joins keep the 2.5M-row PTP scan to one pass per column.
known_codes as (
    select p.version, p.column_1_code as code
    from reference.ncci_ptp as p
    semi join wanted as w
        on w.ptp_version = p.version and w.cpt_code = p.column_1_code
    union
    select p.version, p.column_2_code as code
    from reference.ncci_ptp as p
    semi join wanted as w
        on w.ptp_version = p.version and w.cpt_code = p.column_2_code
    union
    select m.version, m.hcpcs_code as code
    from reference.mue as m
    semi join wanted as w on w.mue_version = m.version and w.cpt_code = m.hcpcs_code
    union
    select a.version, a.add_on_code as code
    from reference.add_on as a
    semi join wanted as w
        on w.add_on_version = a.version and w.cpt_code = a.add_on_code
    union
    select 'project' as version, cpt_code as code from project_code_table
),

project_last as (
    select cpt_code, max(coalesce(effective_to, date '9999-12-31')) as last_date
    from project_code_table
    group by cpt_code
),

judged as (
    select
        l.*,
        v.hcpcs_version,
        h.termination_date as hcpcs_termination_date,
        h.hcpcs_code is not null or exists (
            select 1 from known_codes as k
            where
                k.code = l.cpt_code
                and k.version in (
                    v.ptp_version, v.mue_version, v.add_on_version, 'project'
                )
        ) as is_known,
        pl.last_date as project_last_date
    from line_codes as l
    left join versions as v on v.claim_id = l.claim_id
    left join reference.hcpcs as h
        on h.version = v.hcpcs_version and h.hcpcs_code = l.cpt_code
    left join project_last as pl on pl.cpt_code = l.cpt_code
)

select
    claim_id,
    'invalid_code' as rule_id,
    'reject' as severity,
    [claim_line_number] as line_numbers,
    [cpt_code] as codes,
    case
        when not regexp_full_match(coalesce(cpt_code, ''), '[0-9A-Z]{5}')
            then 'Line ' || claim_line_number || ' has no five-character procedure code.'
        when hcpcs_termination_date < date_of_service
            then cpt_code || ' was deleted from HCPCS on '
                || strftime(hcpcs_termination_date, '%Y-%m-%d')
                || ', before the date of service.'
        when project_last_date < date_of_service
            then cpt_code || ' was retired on ' || strftime(project_last_date, '%Y-%m-%d')
                || ', before the date of service.'
        else cpt_code || ' is not a procedure code in any loaded reference table.'
    end as message,
    'Code the service with a code in force on the date of service. Sent to coder review.'
        as fix,
    false as fix_applied,
    hcpcs_version as reference_version
from judged
where
    not regexp_full_match(coalesce(cpt_code, ''), '[0-9A-Z]{5}')
    or not is_known
    or hcpcs_termination_date < date_of_service
    or project_last_date < date_of_service

union all

-- The place of service must be a CMS place-of-service code.
select
    c.claim_id,
    'invalid_code' as rule_id,
    'reject' as severity,
    []::integer[] as line_numbers,
    [c.place_of_service] as codes,
    'Place of service ' || c.place_of_service || ' is not a CMS place-of-service code.'
        as message,
    'Use the two-digit CMS code of where the service was given.' as fix,
    false as fix_applied,
    cv.version as reference_version
from scrub_claims as c
inner join claim_versions as cv
    on cv.claim_id = c.claim_id and cv.table_name = 'place_of_service'
where
    c.place_of_service is not null
    and not exists (
        select 1 from reference.place_of_service as p
        where p.version = cv.version and p.pos_code = c.place_of_service
    )
