-- A line can be remitted more than once (a denial, then a paid appeal): amounts paid
-- add up, while the latest remittance decides whether the line stands denied.
with

claim_lines as (

    select * from {{ ref('stg_claims__claim_lines') }}

),

remittance_lines as (

    select * from {{ ref('int_remittance_lines__matched') }}

),

adjustments as (

    select * from {{ ref('int_remittance_adjustments__by_line') }}

),

remittances_with_adjustments as (

    select
        remittance_lines.*,
        coalesce(adjustments.contractual_adjustment_amount, 0)
            as contractual_adjustment_amount,
        coalesce(adjustments.patient_responsibility_amount, 0)
            as patient_responsibility_amount,
        coalesce(adjustments.line_denied_amount, 0) as line_denied_amount,
        coalesce(adjustments.group_carc_codes, []) as group_carc_codes,
        coalesce(adjustments.denial_group_carc_codes, []) as denial_group_carc_codes,
        adjustments.adjustment_denial_category,
    from remittance_lines
    left join adjustments
        on remittance_lines.remittance_line_id = adjustments.remittance_line_id
    where remittance_lines.match_method != 'unmatched'

),

latest_remittances as (

    select *,
    from remittances_with_adjustments
    qualify
        row_number() over (
            partition by claim_id, claim_line_number
            order by payment_date desc, remittance_line_id desc
        ) = 1

),

remittance_totals as (

    select
        claim_id,
        claim_line_number,
        count(*) as remittance_line_count,
        sum(paid_amount) as paid_amount,
        sum(contractual_adjustment_amount) as contractual_adjustment_amount,
        sum(patient_responsibility_amount) as patient_responsibility_amount,
        list_sort(list_distinct(flatten(list(group_carc_codes)))) as group_carc_codes,
        min(payment_date) as first_payment_date,
    from remittances_with_adjustments
    group by claim_id, claim_line_number

),

final as (

    select
        claim_lines.claim_id,
        claim_lines.claim_line_number,
        claim_lines.line_control_number,
        claim_lines.encounter_id,
        claim_lines.document_id,
        claim_lines.partition_date,
        claim_lines.date_of_service,
        claim_lines.rendering_npi,
        claim_lines.payer_id,
        claim_lines.cpt_code,
        claim_lines.modifiers,
        claim_lines.units,
        claim_lines.charge_amount,
        claim_lines.icd10cm_codes,
        coalesce(remittance_totals.remittance_line_count, 0) as remittance_line_count,
        remittance_totals.remittance_line_count is not null as is_remitted,
        coalesce(remittance_totals.paid_amount, 0) as paid_amount,
        coalesce(remittance_totals.contractual_adjustment_amount, 0)
            as contractual_adjustment_amount,
        coalesce(remittance_totals.patient_responsibility_amount, 0)
            as patient_responsibility_amount,
        coalesce(remittance_totals.group_carc_codes, []) as group_carc_codes,
        coalesce(latest_remittances.is_denied, false) as is_denied,
        case
            when latest_remittances.is_denied
                then coalesce(
                    latest_remittances.denial_category,
                    latest_remittances.adjustment_denial_category,
                    'other'
                )
        end as denial_category,
        case
            when latest_remittances.is_denied
                then latest_remittances.denial_group_carc_codes
            else []
        end as denial_group_carc_codes,
        -- A line denied by a claim-level reason has no CAS amount of its own: its
        -- unpaid charge is what was denied.
        case
            when latest_remittances.is_denied
                then coalesce(
                    nullif(latest_remittances.line_denied_amount, 0),
                    latest_remittances.charge_amount - latest_remittances.paid_amount
                )
            else 0
        end as denied_amount,
        latest_remittances.rarc_codes,
        latest_remittances.remittance_line_id as latest_remittance_line_id,
        remittance_totals.first_payment_date,
        latest_remittances.payment_date as latest_payment_date,
    from claim_lines
    left join remittance_totals
        on
            claim_lines.claim_id = remittance_totals.claim_id
            and claim_lines.claim_line_number = remittance_totals.claim_line_number
    left join latest_remittances
        on
            claim_lines.claim_id = latest_remittances.claim_id
            and claim_lines.claim_line_number = latest_remittances.claim_line_number

)

select * from final
