-- A payer pays at most what was billed; more means a posting matched the wrong line.
select
    line_control_number,
    charge_amount,
    paid_amount,
from {{ ref('fct_claim_lines') }}
where paid_amount > charge_amount + 0.005
