-- One row per remittance line, posted or not. Reversals, what they reversed and what
-- a replacement superseded stay here as history; fct_claim_lines nets them out.
with

remittance_lines as (

    select * from {{ ref('int_remittance_lines__matched') }}

),

adjustments as (

    select * from {{ ref('int_remittance_adjustments__by_line') }}

),

adjudications as (

    select * from {{ ref('int_remittance_lines__adjudications') }}

),

final as (

    select
        remittance_lines.remittance_line_id,
        remittance_lines.file_name,
        remittance_lines.partition_date,
        remittance_lines.payer_name,
        remittance_lines.payment_date,
        remittance_lines.claim_id,
        remittance_lines.claim_status_code,
        remittance_lines.payer_claim_control_number,
        remittance_lines.claim_frequency_code,
        remittance_lines.line_number,
        remittance_lines.claim_line_number,
        remittance_lines.line_control_number,
        remittance_lines.match_method,
        remittance_lines.cpt_code,
        remittance_lines.submitted_cpt_code,
        remittance_lines.modifiers,
        remittance_lines.units,
        remittance_lines.charge_amount,
        remittance_lines.paid_amount,
        coalesce(adjustments.contractual_adjustment_amount, 0)
            as contractual_adjustment_amount,
        coalesce(adjustments.patient_responsibility_amount, 0)
            as patient_responsibility_amount,
        remittance_lines.paid_amount
        + coalesce(adjustments.patient_responsibility_amount, 0) as allowed_amount,
        adjudications.expected_amount,
        -- Same rule as the claim-line posting: a line denied at claim level has no CAS
        -- amount of its own, so its unpaid charge is what was denied.
        case
            when remittance_lines.is_denied
                then coalesce(
                    nullif(adjustments.line_denied_amount, 0),
                    remittance_lines.charge_amount - remittance_lines.paid_amount
                )
            else 0
        end as denied_amount,
        remittance_lines.service_date,
        remittance_lines.rarc_codes,
        coalesce(adjustments.group_carc_codes, []) as group_carc_codes,
        coalesce(remittance_lines.is_denied, false) as is_denied,
        case
            when remittance_lines.is_denied
                then coalesce(
                    remittance_lines.denial_category,
                    adjustments.adjustment_denial_category,
                    'other'
                )
        end as denial_category,
        remittance_lines.is_reversal,
        coalesce(adjudications.is_reversed, false) as is_reversed,
        coalesce(adjudications.is_superseded, false) as is_superseded,
        adjudications.reverses_remittance_line_id,
        coalesce(adjudications.is_underpaid, false) as is_underpaid,
        case
            when adjudications.is_underpaid
                then round(
                    adjudications.expected_amount - adjudications.allowed_amount, 2
                )
            else 0
        end as underpaid_amount,
    from remittance_lines
    left join adjustments
        on remittance_lines.remittance_line_id = adjustments.remittance_line_id
    left join adjudications
        on remittance_lines.remittance_line_id = adjudications.remittance_line_id

)

select * from final
