{{ config(severity='warn') }}
-- Unmatched remittance lines carry money that no claim line report shows.
select
    remittance_line_id,
    claim_id,
from {{ ref('fct_remittance_lines') }}
where match_method = 'unmatched'
