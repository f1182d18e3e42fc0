with

claim_lines as (

    select * from {{ ref('fct_claim_lines') }}

),

final as (

    select
        line_control_number,
        claim_id,
        claim_line_number,
        encounter_id,
        date_of_service,
        latest_payment_date as denial_date,
        rendering_npi,
        payer_id,
        cpt_code,
        cpt_family_code,
        modifiers,
        denial_category,
        coalesce(is_avoidable_by_coding, false) as is_avoidable_by_coding,
        denial_group_carc_codes as carc_codes,
        rarc_codes,
        charge_amount,
        paid_amount,
        denied_amount,
        is_encounter_review_needed,
    from claim_lines
    where is_denied

)

select * from final
