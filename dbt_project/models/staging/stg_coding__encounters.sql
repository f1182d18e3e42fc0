with

source as (

    select * from {{ source('coding', 'encounters') }}

),

final as (

    select
        encounter_id,
        document_id,
        cast(partition_date as date) as partition_date,
        patient_id,
        cast(date_of_service as date) as date_of_service,
        rendering_npi,
        payer_id,
        place_of_service as place_of_service_code,
        metadata_source,
        needs_review,
        cast(review_reasons as varchar[]) as review_reasons,
        rules_version,
    from source

)

select * from final
