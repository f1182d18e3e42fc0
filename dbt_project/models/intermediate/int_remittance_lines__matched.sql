-- Posting: a payer echoes REF*6R when it can, so the line control number is tried
-- first; otherwise the submitted code, modifiers and service date find the line.
with

remittance_lines as (

    select * from {{ ref('stg_remits__remittance_lines') }}

),

claim_lines as (

    select * from {{ ref('stg_claims__claim_lines') }}

),

matched_by_control_number as (

    select
        remittance_lines.remittance_line_id,
        claim_lines.claim_line_number,
        claim_lines.line_control_number,
    from remittance_lines
    inner join claim_lines
        on
            remittance_lines.claim_id = claim_lines.claim_id
            and remittance_lines.line_control_number = claim_lines.line_control_number

),

unmatched_by_control_number as (

    select remittance_lines.*,
    from remittance_lines
    anti join matched_by_control_number as matched
        on remittance_lines.remittance_line_id = matched.remittance_line_id

),

-- SVC06 carries the submitted code when the payer adjudicated another one.
matched_by_service_line as (

    select
        unmatched.remittance_line_id,
        claim_lines.claim_line_number,
        claim_lines.line_control_number,
    from unmatched_by_control_number as unmatched
    inner join claim_lines
        on
            unmatched.claim_id = claim_lines.claim_id
            and coalesce(unmatched.submitted_cpt_code, unmatched.cpt_code)
            = claim_lines.cpt_code
            and list_sort(coalesce(unmatched.modifiers, []))
            = list_sort(coalesce(claim_lines.modifiers, []))
            and unmatched.service_date = claim_lines.date_of_service
    qualify
        row_number() over (
            partition by unmatched.remittance_line_id
            order by claim_lines.claim_line_number
        ) = 1

),

matches as (

    select
        *,
        'line_control_number' as match_method,
    from matched_by_control_number

    union all

    select
        *,
        'service_line' as match_method,
    from matched_by_service_line

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
        remittance_lines.is_reversal,
        remittance_lines.line_number,
        matches.claim_line_number,
        matches.line_control_number,
        coalesce(matches.match_method, 'unmatched') as match_method,
        remittance_lines.cpt_code,
        remittance_lines.submitted_cpt_code,
        remittance_lines.modifiers,
        remittance_lines.units,
        remittance_lines.charge_amount,
        remittance_lines.paid_amount,
        remittance_lines.service_date,
        remittance_lines.rarc_codes,
        remittance_lines.is_denied,
        remittance_lines.denial_category,
    from remittance_lines
    left join matches
        on remittance_lines.remittance_line_id = matches.remittance_line_id

)

select * from final
