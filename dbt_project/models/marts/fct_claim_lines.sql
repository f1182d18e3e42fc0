with

payments as (

    select * from {{ ref('int_claim_lines__payments') }}

),

coded_lines as (

    select * from {{ ref('int_claim_lines__coded') }}

),

cpt_families as (

    select * from {{ ref('cpt_families') }}

),

denial_categories as (

    select * from {{ ref('denial_categories') }}

),

lines_with_families as (

    select
        payments.*,
        coalesce(cpt_families.family_code, 'unknown') as cpt_family_code,
    from payments
    left join cpt_families
        on
            regexp_full_match(payments.cpt_code, cpt_families.code_pattern)
            and payments.cpt_code
            between cpt_families.range_start and cpt_families.range_end
            and payments.date_of_service >= cpt_families.effective_start_date
            and payments.date_of_service
            <= coalesce(cpt_families.effective_end_date, date '9999-12-31')

),

final as (

    select
        lines_with_families.line_control_number,
        lines_with_families.claim_id,
        lines_with_families.claim_line_number,
        lines_with_families.encounter_id,
        lines_with_families.document_id,
        lines_with_families.partition_date,
        lines_with_families.date_of_service,
        lines_with_families.rendering_npi,
        lines_with_families.payer_id,
        lines_with_families.cpt_code,
        lines_with_families.cpt_family_code,
        lines_with_families.modifiers,
        lines_with_families.units,
        lines_with_families.icd10cm_codes,
        lines_with_families.charge_amount,
        lines_with_families.expected_amount,
        lines_with_families.fee_source,
        lines_with_families.paid_amount,
        lines_with_families.allowed_amount,
        lines_with_families.contractual_adjustment_amount,
        lines_with_families.patient_responsibility_amount,
        lines_with_families.denied_amount,
        lines_with_families.is_underpaid,
        case
            when lines_with_families.is_underpaid
                then round(
                    lines_with_families.expected_amount
                    - lines_with_families.allowed_amount,
                    2
                )
            else 0
        end as underpaid_amount,
        lines_with_families.reversed_paid_amount,
        lines_with_families.remittance_line_count,
        lines_with_families.reversal_count,
        lines_with_families.is_remitted,
        lines_with_families.payment_status,
        lines_with_families.is_denied,
        lines_with_families.denial_category,
        denial_categories.is_avoidable_by_coding,
        lines_with_families.denial_group_carc_codes,
        lines_with_families.group_carc_codes,
        lines_with_families.rarc_codes,
        lines_with_families.first_payment_date,
        lines_with_families.latest_payment_date,
        coded_lines.code_sequence,
        coded_lines.coding_confidence,
        coded_lines.is_line_review_needed,
        coded_lines.is_encounter_review_needed,
        coded_lines.rule_id,
        coded_lines.rules_version,
        coded_lines.evidence_count,
        coded_lines.evidence_spans,
    from lines_with_families
    left join coded_lines
        on
            lines_with_families.claim_id = coded_lines.claim_id
            and lines_with_families.claim_line_number = coded_lines.claim_line_number
    left join denial_categories
        on lines_with_families.denial_category = denial_categories.denial_category

)

select * from final
