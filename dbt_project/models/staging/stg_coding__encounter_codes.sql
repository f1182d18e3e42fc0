with

source as (

    select * from {{ source('coding', 'encounter_codes') }}

),

final as (

    select
        encounter_id,
        document_id,
        cast(partition_date as date) as partition_date,
        cast(code_sequence as integer) as code_sequence,
        cpt_code,
        cast(modifiers as varchar[]) as modifiers,
        cast(units as integer) as units,
        cast(icd10cm_codes as varchar[]) as icd10cm_codes,
        cast(confidence as double) as confidence,
        needs_review,
        cast(review_reasons as varchar[]) as review_reasons,
        evidence,
        rule_id,
        rules_version,
    from source

)

select * from final
