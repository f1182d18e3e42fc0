-- A denied line needs a category, or the denial marts would drop it from their groups.
select
    line_control_number,
from {{ ref('fct_claim_lines') }}
where is_denied and denial_category is null
