{#- Line counts, rate and amounts shared by the denials_by_* marts. -#}
{% macro denial_measures() %}
        count(*) as claim_line_count,
        count(*) filter (where is_remitted) as remitted_line_count,
        count(*) filter (where is_denied) as denied_line_count,
        count(*) filter (where is_denied and is_avoidable_by_coding)
            as avoidable_denied_line_count,
        count(*) filter (where is_denied)
        / nullif(count(*) filter (where is_remitted), 0) as denial_rate,
        sum(charge_amount) as charge_amount,
        sum(paid_amount) as paid_amount,
        sum(denied_amount) as denied_amount,
        count(*) filter (where is_underpaid) as underpaid_line_count,
        sum(underpaid_amount) as underpaid_amount,
{%- endmacro %}
