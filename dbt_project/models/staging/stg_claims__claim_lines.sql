with

source as (

    select * from {{ source('claims', 'claim_lines') }}

),

final as (

    select
        claim_id,
        cast(claim_line_number as integer) as claim_line_number,
        line_control_number,
        encounter_id,
        document_id,
        cast(partition_date as date) as partition_date,
        cast(date_of_service as date) as date_of_service,
        rendering_npi,
        payer_id,
        cpt_code,
        cast(modifiers as varchar[]) as modifiers,
        cast(units as integer) as units,
        cast(charge_amount as double) as charge_amount,
        cast(expected_amount as double) as expected_amount,
        fee_source,
        cast(diagnosis_pointers as integer[]) as diagnosis_pointers,
        cast(icd10cm_codes as varchar[]) as icd10cm_codes,
    from source

)

select * from final
