-- Page text stays in the stage table: marts report counts, never note text.
with

source as (

    select * from {{ source('ocr', 'page_texts') }}

),

final as (

    select
        document_id,
        cast(partition_date as date) as partition_date,
        cast(page_number as integer) as page_number,
        method as extraction_method,
        cast(char_count as integer) as char_count,
        cast(word_count as integer) as word_count,
        cast(mean_confidence as double) as mean_ocr_confidence,
        cast(width as double) as page_width,
        cast(height as double) as page_height,
        cast(rotation as integer) as rotation_degrees,
    from source

)

select * from final
