-- Every posted remittance of a claim line is one adjudication, in payment order. A
-- reversal (CLP02 = 22) takes back one earlier adjudication of the same line: the one
-- with its payer claim control number (CLP07) when there is one, else the latest
-- before it. A replacement (CLP09 = 7) supersedes every adjudication before it. What
-- is neither a reversal, reversed nor superseded is in effect.
with

remittance_lines as (

    select * from {{ ref('int_remittance_lines__matched') }}

),

adjustments as (

    select * from {{ ref('int_remittance_adjustments__by_line') }}

),

claim_lines as (

    select * from {{ ref('stg_claims__claim_lines') }}

),

posted_lines as (

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
        coalesce(remittance_lines.claim_frequency_code = '7', false)
            as is_replacement,
        -- File order breaks ties within a payment date: a reversal comes before the
        -- corrected payment that follows it in the same 835.
        row_number() over (
            partition by remittance_lines.claim_id, remittance_lines.claim_line_number
            order by
                remittance_lines.payment_date,
                remittance_lines.file_name,
                cast(split_part(remittance_lines.remittance_line_id, ':', 2) as integer),
                cast(split_part(remittance_lines.remittance_line_id, ':', 3) as integer),
                remittance_lines.line_number
        ) as adjudication_sequence,
    from remittance_lines
    left join adjustments
        on remittance_lines.remittance_line_id = adjustments.remittance_line_id
    where remittance_lines.match_method != 'unmatched'

),

reversal_targets as (

    select
        reversals.remittance_line_id as reversal_remittance_line_id,
        originals.remittance_line_id as reversed_remittance_line_id,
    from posted_lines as reversals
    inner join posted_lines as originals
        on
            reversals.claim_id = originals.claim_id
            and reversals.claim_line_number = originals.claim_line_number
            and originals.adjudication_sequence < reversals.adjudication_sequence
            and not originals.is_reversal
    where reversals.is_reversal
    qualify
        row_number() over (
            partition by reversals.remittance_line_id
            order by
                coalesce(
                    originals.payer_claim_control_number
                    = reversals.payer_claim_control_number,
                    false
                ) desc,
                originals.adjudication_sequence desc
        ) = 1

),

replacements as (

    select
        claim_id,
        claim_line_number,
        max(adjudication_sequence) as last_replacement_sequence,
    from posted_lines
    where is_replacement and not is_reversal
    group by claim_id, claim_line_number

),

flagged_lines as (

    select
        posted_lines.*,
        reversed_by.reversal_remittance_line_id as reversed_by_remittance_line_id,
        reverses.reversed_remittance_line_id as reverses_remittance_line_id,
        reversed_by.reversal_remittance_line_id is not null as is_reversed,
        coalesce(
            not posted_lines.is_reversal
            and posted_lines.adjudication_sequence
            < replacements.last_replacement_sequence,
            false
        ) as is_superseded,
    from posted_lines
    left join reversal_targets as reversed_by
        on posted_lines.remittance_line_id = reversed_by.reversed_remittance_line_id
    left join reversal_targets as reverses
        on posted_lines.remittance_line_id = reverses.reversal_remittance_line_id
    left join replacements
        on
            posted_lines.claim_id = replacements.claim_id
            and posted_lines.claim_line_number = replacements.claim_line_number

),

final as (

    select
        flagged_lines.remittance_line_id,
        flagged_lines.claim_id,
        flagged_lines.claim_line_number,
        flagged_lines.adjudication_sequence,
        flagged_lines.payment_date,
        flagged_lines.claim_status_code,
        flagged_lines.payer_claim_control_number,
        flagged_lines.claim_frequency_code,
        flagged_lines.is_reversal,
        flagged_lines.is_replacement,
        flagged_lines.is_reversed,
        flagged_lines.is_superseded,
        not (
            flagged_lines.is_reversal
            or flagged_lines.is_reversed
            or flagged_lines.is_superseded
        ) as is_in_effect,
        flagged_lines.reverses_remittance_line_id,
        flagged_lines.reversed_by_remittance_line_id,
        flagged_lines.charge_amount,
        flagged_lines.paid_amount,
        flagged_lines.contractual_adjustment_amount,
        flagged_lines.patient_responsibility_amount,
        -- What the payer allowed: its payment plus the patient's share.
        flagged_lines.paid_amount + flagged_lines.patient_responsibility_amount
            as allowed_amount,
        claim_lines.expected_amount,
        claim_lines.fee_source,
        -- Range defaults are too rough to call a payment short, so only fee
        -- schedule amounts are compared; denied and reversal lines never are.
        coalesce(
            not flagged_lines.is_reversal
            and not flagged_lines.is_denied
            and claim_lines.fee_source = 'fee_schedule'
            and flagged_lines.paid_amount
            + flagged_lines.patient_responsibility_amount
            < claim_lines.expected_amount
            * (1 - {{ var('underpayment_tolerance_share') }}),
            false
        ) as is_underpaid,
        flagged_lines.line_denied_amount,
        flagged_lines.group_carc_codes,
        flagged_lines.denial_group_carc_codes,
        flagged_lines.adjustment_denial_category,
        flagged_lines.is_denied,
        flagged_lines.denial_category,
        flagged_lines.rarc_codes,
    from flagged_lines
    left join claim_lines
        on
            flagged_lines.claim_id = claim_lines.claim_id
            and flagged_lines.claim_line_number = claim_lines.claim_line_number

)

select * from final
