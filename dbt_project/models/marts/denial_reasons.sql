-- Counts denial reasons (CAS rows flagged as denials), so a line denied for two
-- reasons appears under both.
with

adjustments as (

    select * from {{ ref('stg_remits__remittance_adjustments') }}

),

denial_categories as (

    select * from {{ ref('denial_categories') }}

),

denial_adjustments as (

    select
        remittance_line_id,
        coalesce(denial_category, 'other') as denial_category,
        group_code,
        carc_code,
        group_code || '-' || carc_code as group_carc_code,
        adjustment_amount,
    from adjustments
    where is_denial

),

final as (

    select
        denial_adjustments.denial_category,
        denial_adjustments.group_carc_code,
        any_value(denial_adjustments.group_code) as group_code,
        any_value(denial_adjustments.carc_code) as carc_code,
        coalesce(any_value(denial_categories.is_avoidable_by_coding), false)
            as is_avoidable_by_coding,
        count(distinct denial_adjustments.remittance_line_id) as denied_line_count,
        sum(denial_adjustments.adjustment_amount) as denied_amount,
    from denial_adjustments
    left join denial_categories
        on denial_adjustments.denial_category = denial_categories.denial_category
    group by denial_adjustments.denial_category, denial_adjustments.group_carc_code

)

select * from final
