with

source as (

    select * from {{ source('remits', 'remittance_adjustments') }}

),

final as (

    select
        remittance_line_id,
        cast(partition_date as date) as partition_date,
        level as adjustment_level,
        group_code,
        carc_code,
        cast(amount as double) as adjustment_amount,
        cast(quantity as double) as adjusted_units,
        denial_category,
        is_denial,
    from source

)

select * from final
