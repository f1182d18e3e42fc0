with

source as (

    select * from {{ source('remits', 'remittance_lines') }}

),

final as (

    select
        remittance_line_id,
        file_name,
        cast(partition_date as date) as partition_date,
        payer_name,
        cast(payment_date as date) as payment_date,
        claim_id,
        claim_status_code,
        payer_claim_control_number,
        claim_frequency_code,
        is_reversal,
        cast(line_number as integer) as line_number,
        line_control_number,
        cpt_code,
        submitted_cpt_code,
        cast(modifiers as varchar[]) as modifiers,
        cast(units as double) as units,
        cast(charge_amount as double) as charge_amount,
        cast(paid_amount as double) as paid_amount,
        cast(service_date as date) as service_date,
        cast(rarcs as varchar[]) as rarc_codes,
        is_denied,
        denial_category,
    from source

)

select * from final
