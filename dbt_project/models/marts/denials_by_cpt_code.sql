with

claim_lines as (

    select * from {{ ref('fct_claim_lines') }}

),

final as (

    select
        cpt_code,
        any_value(cpt_family_code) as cpt_family_code,
        {{ denial_measures() }}
    from claim_lines
    group by cpt_code

)

select * from final
