-- A reviewed engine line is one in a proposal a coder accepted; the coder agreed
-- with it when no edit or removal touched that line before the acceptance.
with

decisions as (

    select * from {{ ref('stg_review__decisions') }}

),

encounters as (

    select * from {{ ref('stg_coding__encounters') }}

),

cpt_families as (

    select * from {{ ref('cpt_families') }}

),

accepted_proposals as (

    select
        encounter_id,
        proposal_id,
        max(decision_sequence_number) as accepted_sequence_number,
    from decisions
    where decision_action = 'accepted'
    group by encounter_id, proposal_id

),

line_changes as (

    select
        decisions.encounter_id,
        decisions.proposal_id,
        decisions.line_number,
        bool_or(decisions.decision_action = 'edited') as is_edited,
        bool_or(decisions.decision_action = 'removed') as is_removed,
    from decisions
    inner join accepted_proposals
        on
            decisions.encounter_id = accepted_proposals.encounter_id
            and decisions.proposal_id = accepted_proposals.proposal_id
            and decisions.decision_sequence_number
            < accepted_proposals.accepted_sequence_number
    where decisions.decision_action in ('edited', 'removed')
    group by decisions.encounter_id, decisions.proposal_id, decisions.line_number

),

reviewed_lines as (

    select
        decisions.encounter_id,
        decisions.decision_action,
        decisions.after_cpt_code as cpt_code,
        decisions.rules_version,
        coalesce(line_changes.is_edited, false) as is_edited,
        coalesce(line_changes.is_removed, false) as is_removed,
    from decisions
    inner join accepted_proposals
        on
            decisions.encounter_id = accepted_proposals.encounter_id
            and decisions.proposal_id = accepted_proposals.proposal_id
    left join line_changes
        on
            decisions.encounter_id = line_changes.encounter_id
            and decisions.proposal_id = line_changes.proposal_id
            and decisions.line_number = line_changes.line_number
    where
        decisions.decision_action in ('proposed', 'added')
        and decisions.line_number is not null
        and decisions.decision_sequence_number
        < accepted_proposals.accepted_sequence_number

),

lines_with_context as (

    select
        reviewed_lines.*,
        encounters.rendering_npi,
        coalesce(cpt_families.family_code, 'unknown') as cpt_family_code,
    from reviewed_lines
    inner join encounters
        on reviewed_lines.encounter_id = encounters.encounter_id
    left join cpt_families
        on
            regexp_full_match(reviewed_lines.cpt_code, cpt_families.code_pattern)
            and reviewed_lines.cpt_code
            between cpt_families.range_start and cpt_families.range_end
            and encounters.date_of_service >= cpt_families.effective_start_date
            and encounters.date_of_service
            <= coalesce(cpt_families.effective_end_date, date '9999-12-31')

),

final as (

    select
        cpt_family_code,
        rendering_npi,
        rules_version,
        count(*) filter (where decision_action = 'proposed') as reviewed_line_count,
        count(*) filter (
            where decision_action = 'proposed' and not is_edited and not is_removed
        ) as agreed_line_count,
        count(*) filter (where decision_action = 'proposed' and is_edited)
            as edited_line_count,
        count(*) filter (where decision_action = 'proposed' and is_removed)
            as removed_line_count,
        count(*) filter (where decision_action = 'added') as added_line_count,
        count(*) filter (
            where decision_action = 'proposed' and not is_edited and not is_removed
        ) / nullif(count(*) filter (where decision_action = 'proposed'), 0)
            as agreement_rate,
    from lines_with_context
    group by cpt_family_code, rendering_npi, rules_version

)

select * from final
