with

source as (

    select * from {{ source('claims', 'claims') }}

),

final as (

    select
        claim_id,
        encounter_id,
        cast(partition_date as date) as partition_date,
        patient_id,
        cast(date_of_service as date) as date_of_service,
        rendering_npi,
        billing_npi,
        payer_id,
        place_of_service as place_of_service_code,
        cast(diagnosis_codes as varchar[]) as icd10cm_codes,
        cast(total_charge_amount as double) as total_charge_amount,
        status as claim_status,
        hold_reason,
    from source

)

select * from final
