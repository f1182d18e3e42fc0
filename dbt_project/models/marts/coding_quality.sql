-- Straight-through means neither the line nor its encounter was sent to a coder.
with

encounter_codes as (

    select * from {{ ref('stg_coding__encounter_codes') }}

),

encounters as (

    select * from {{ ref('stg_coding__encounters') }}

),

cpt_families as (

    select * from {{ ref('cpt_families') }}

),

codes_with_context as (

    select
        encounters.rendering_npi,
        coalesce(cpt_families.family_code, 'unknown') as cpt_family_code,
        encounter_codes.confidence,
        coalesce(encounter_codes.needs_review or encounters.needs_review, false)
            as is_review_needed,
    from encounter_codes
    inner join encounters
        on encounter_codes.encounter_id = encounters.encounter_id
    left join cpt_families
        on
            regexp_full_match(encounter_codes.cpt_code, cpt_families.code_pattern)
            and encounter_codes.cpt_code
            between cpt_families.range_start and cpt_families.range_end
            and encounters.date_of_service >= cpt_families.effective_start_date
            and encounters.date_of_service
            <= coalesce(cpt_families.effective_end_date, date '9999-12-31')

),

final as (

    select
        rendering_npi,
        cpt_family_code,
        count(*) as coded_line_count,
        count(*) filter (where is_review_needed) as review_line_count,
        count(*) filter (where is_review_needed) / count(*) as review_rate,
        count(*) filter (where not is_review_needed) as straight_through_line_count,
        count(*) filter (where not is_review_needed) / count(*)
            as straight_through_share,
        avg(confidence) as mean_coding_confidence,
    from codes_with_context
    group by rendering_npi, cpt_family_code

)

select * from final
