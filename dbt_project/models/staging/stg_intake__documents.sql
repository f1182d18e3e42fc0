-- Patient name and birth date stay in the stage table: no mart reports them.
with

source as (

    select * from {{ source('intake', 'documents') }}

),

final as (

    select
        document_id,
        cast(partition_date as date) as partition_date,
        file_path,
        file_name,
        cast(size_bytes as bigint) as size_bytes,
        doc_format,
        cast(page_count as integer) as page_count,
        status as document_status,
        reason as status_reason,
        duplicate_of_path,
        encounter_id,
        patient_id,
        date_of_service,
        rendering_npi,
        billing_npi,
        payer_id,
        place_of_service as place_of_service_code,
        metadata_source,
        cast(received_at as timestamp) as received_at,
    from source

)

select * from final
