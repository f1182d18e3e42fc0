-- CO-45 and PR-2 style reasons are contract and patient shares, not denials: the
-- stage's is_denial flag separates them. Claim-level reasons are stored once, on the
-- claim's first line, so their amount is kept apart from the line's own denials.
with

adjustments as (

    select * from {{ ref('stg_remits__remittance_adjustments') }}

),

classified_adjustments as (

    select
        *,
        group_code || '-' || carc_code as group_carc_code,
        group_code = 'CO' and not is_denial as is_contractual,
        group_code = 'PR' and not is_denial as is_patient_share,
        is_denial and adjustment_level = 'line' as is_line_denial,
        is_denial and adjustment_level = 'claim' as is_claim_denial,
    from adjustments

),

final as (

    select
        remittance_line_id,
        count(*) as adjustment_count,
        sum(adjustment_amount) as adjustment_amount,
        coalesce(sum(adjustment_amount) filter (where is_contractual), 0)
            as contractual_adjustment_amount,
        coalesce(sum(adjustment_amount) filter (where is_patient_share), 0)
            as patient_responsibility_amount,
        coalesce(sum(adjustment_amount) filter (where is_line_denial), 0)
            as line_denied_amount,
        coalesce(sum(adjustment_amount) filter (where is_claim_denial), 0)
            as claim_denied_amount,
        list_sort(list_distinct(list(group_carc_code))) as group_carc_codes,
        list_sort(
            list_distinct(coalesce(list(group_carc_code) filter (where is_denial), []))
        ) as denial_group_carc_codes,
        -- The largest denial reason names the line's category when the line has none.
        arg_max(denial_category, adjustment_amount) filter (where is_denial)
            as adjustment_denial_category,
    from classified_adjustments
    group by remittance_line_id

)

select * from final
