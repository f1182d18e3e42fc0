-- Coder reviewed: a coder accepted the encounter's codes before they were billed.
-- Straight through: billed as the engine coded it, with no coder decision.
with

claim_lines as (

    select * from {{ ref('fct_claim_lines') }}

),

decisions as (

    select * from {{ ref('stg_review__decisions') }}

),

reviewed_encounters as (

    select distinct encounter_id,
    from decisions
    where decision_action = 'accepted'

),

lines_with_path as (

    select
        claim_lines.*,
        case
            when reviewed_encounters.encounter_id is not null then 'coder_reviewed'
            else 'straight_through'
        end as review_path,
    from claim_lines
    left join reviewed_encounters
        on claim_lines.encounter_id = reviewed_encounters.encounter_id

),

final as (

    select
        review_path,
        count(distinct encounter_id) as encounter_count,
        {{ denial_measures() }}
    from lines_with_path
    group by review_path

)

select * from final
