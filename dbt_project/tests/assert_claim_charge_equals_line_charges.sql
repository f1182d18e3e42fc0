{{ config(severity='warn') }}
-- CLM02 must equal the sum of its SV102 line charges or the payer rejects the claim.
with

line_totals as (

    select
        claim_id,
        sum(charge_amount) as line_charge_amount,
    from {{ ref('stg_claims__claim_lines') }}
    group by claim_id

)

select
    claims.claim_id,
    claims.total_charge_amount,
    line_totals.line_charge_amount,
from {{ ref('stg_claims__claims') }} as claims
inner join line_totals
    on claims.claim_id = line_totals.claim_id
where abs(claims.total_charge_amount - line_totals.line_charge_amount) > 0.005
