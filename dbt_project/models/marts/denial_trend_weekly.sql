with

remittance_lines as (

    select * from {{ ref('fct_remittance_lines') }}

),

weekly_lines as (

    select
        cast(date_trunc('week', payment_date) as date) as week_start_date,
        *,
    from remittance_lines
    -- A reversal takes back an earlier adjudication: not a line remitted anew.
    where not is_reversal

),

weekly_totals as (

    select
        week_start_date,
        count(*) as remitted_line_count,
    from weekly_lines
    group by week_start_date

),

weekly_denials as (

    select
        week_start_date,
        denial_category,
        count(*) as denied_line_count,
        sum(denied_amount) as denied_amount,
    from weekly_lines
    where is_denied
    group by week_start_date, denial_category

),

final as (

    select
        weekly_denials.week_start_date,
        weekly_denials.denial_category,
        weekly_denials.denied_line_count,
        weekly_totals.remitted_line_count,
        weekly_denials.denied_line_count / weekly_totals.remitted_line_count
            as denied_line_share,
        weekly_denials.denied_amount,
    from weekly_denials
    inner join weekly_totals
        on weekly_denials.week_start_date = weekly_totals.week_start_date

)

select * from final
