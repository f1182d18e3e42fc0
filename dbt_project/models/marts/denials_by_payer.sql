with

claim_lines as (

    select * from {{ ref('fct_claim_lines') }}

),

final as (

    select
        payer_id,
        {{ denial_measures() }}
    from claim_lines
    group by payer_id

)

select * from final
