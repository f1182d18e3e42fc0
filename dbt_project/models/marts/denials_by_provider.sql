with

claim_lines as (

    select * from {{ ref('fct_claim_lines') }}

),

final as (

    select
        rendering_npi,
        {{ denial_measures() }}
    from claim_lines
    group by rendering_npi

)

select * from final
