-- For each claim and reference table: the version in force on the date of service,
-- else the nearest one (days_outside > 0 says how far the date falls outside it).
create or replace temp table claim_versions as
with candidates as (
    select
        c.claim_id,
        v.table_name,
        v.version,
        v.effective_from,
        v.effective_to,
        case
            when c.date_of_service < v.effective_from
                then date_diff('day', c.date_of_service, v.effective_from)
            when v.effective_to is not null and c.date_of_service > v.effective_to
                then date_diff('day', v.effective_to, c.date_of_service)
            else 0
        end as days_outside
    from scrub_claims as c
    cross join reference.versions as v
    where c.date_of_service is not null
),

ranked as (
    select
        *,
        row_number() over (
            partition by claim_id, table_name
            order by days_outside, effective_from desc, version
        ) as choice
    from candidates
)

select claim_id, table_name, version, effective_from, effective_to, days_outside
from ranked
where choice = 1
