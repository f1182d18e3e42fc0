-- Posting: a line's money and status come from its adjudications in effect (see
-- int_remittance_lines__adjudications): reversals, what they took back and what a
-- replacement superseded add nothing. Adjudications still in effect add up (a
-- denial, then a paid appeal), and the latest of them decides whether the line
-- stands denied.
with

claim_lines as (

    select * from {{ ref('stg_claims__claim_lines') }}

),

adjudications as (

    select * from {{ ref('int_remittance_lines__adjudications') }}

),

adjudications_in_effect as (

    select *,
    from adjudications
    where is_in_effect

),

latest_remittances as (

    select *,
    from adjudications_in_effect
    qualify
        row_number() over (
            partition by claim_id, claim_line_number
            order by adjudication_sequence desc
        ) = 1

),

remittance_totals as (

    select
        claim_id,
        claim_line_number,
        count(*) as remittance_line_count,
        count(*) filter (where is_reversal) as reversal_count,
        count(*) filter (where is_in_effect) as effective_remittance_line_count,
        coalesce(sum(paid_amount) filter (where is_in_effect), 0) as paid_amount,
        coalesce(sum(paid_amount) filter (where is_reversed), 0)
            as reversed_paid_amount,
        coalesce(sum(contractual_adjustment_amount) filter (where is_in_effect), 0)
            as contractual_adjustment_amount,
        coalesce(sum(patient_responsibility_amount) filter (where is_in_effect), 0)
            as patient_responsibility_amount,
        list_sort(
            list_distinct(
                flatten(coalesce(list(group_carc_codes) filter (where is_in_effect), []))
            )
        ) as group_carc_codes,
        min(payment_date) as first_payment_date,
        max(payment_date) as last_payment_date,
    from adjudications
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
        claim_lines.expected_amount,
        claim_lines.fee_source,
        claim_lines.icd10cm_codes,
        coalesce(remittance_totals.remittance_line_count, 0) as remittance_line_count,
        coalesce(remittance_totals.reversal_count, 0) as reversal_count,
        remittance_totals.remittance_line_count is not null as is_remitted,
        case
            when remittance_totals.remittance_line_count is null then 'not_remitted'
            when latest_remittances.remittance_line_id is null then 'reversed'
            when latest_remittances.is_denied then 'denied'
            else 'paid'
        end as payment_status,
        coalesce(remittance_totals.paid_amount, 0) as paid_amount,
        coalesce(remittance_totals.reversed_paid_amount, 0) as reversed_paid_amount,
        coalesce(remittance_totals.contractual_adjustment_amount, 0)
            as contractual_adjustment_amount,
        coalesce(remittance_totals.patient_responsibility_amount, 0)
            as patient_responsibility_amount,
        coalesce(remittance_totals.paid_amount, 0)
        + coalesce(remittance_totals.patient_responsibility_amount, 0)
            as allowed_amount,
        -- Same test as each adjudication's, on what is in effect for the line.
        coalesce(
            not latest_remittances.is_denied
            and claim_lines.fee_source = 'fee_schedule'
            and remittance_totals.paid_amount
            + remittance_totals.patient_responsibility_amount
            < claim_lines.expected_amount
            * (1 - {{ var('underpayment_tolerance_share') }}),
            false
        ) as is_underpaid,
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
        -- A line whose only payment was reversed dates from the reversal.
        coalesce(
            latest_remittances.payment_date, remittance_totals.last_payment_date
        ) as latest_payment_date,
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
