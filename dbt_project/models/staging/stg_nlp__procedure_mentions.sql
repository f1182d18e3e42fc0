-- Mention text stays in the stage table: marts report concepts and offsets only.
with

source as (

    select * from {{ source('nlp', 'procedure_mentions') }}

),

final as (

    select
        mention_id,
        document_id,
        cast(partition_date as date) as partition_date,
        cast(page_number as integer) as page_number,
        cast(start as integer) as start_offset,
        cast("end" as integer) as end_offset,
        concept,
        section,
        is_negated,
        is_historical,
        is_hypothetical,
        is_family,
        is_other_provider,
    from source

)

select * from final
