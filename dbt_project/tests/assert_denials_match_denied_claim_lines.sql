-- fct_denials holds exactly the denied lines of fct_claim_lines.
with

denied_lines as (

    select line_control_number,
    from {{ ref('fct_claim_lines') }}
    where is_denied

),

denials as (

    select line_control_number,
    from {{ ref('fct_denials') }}

)

(select * from denied_lines except select * from denials)
union all
(select * from denials except select * from denied_lines)
