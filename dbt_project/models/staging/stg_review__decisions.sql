-- Review runs after coding; until its first run the trail is empty, not missing.
{%- set decisions = source('review', 'decisions') %}
{%- set relation = adapter.get_relation(
    database=decisions.database,
    schema=decisions.schema,
    identifier=decisions.identifier,
) if execute else none %}

with

{% if relation is not none or not execute %}
source as (

    select * from {{ decisions }}

),
{% else %}
source as (

    select
        cast(null as bigint) as sequence_number,
        cast(null as varchar) as decision_id,
        cast(null as varchar) as encounter_id,
        cast(null as varchar) as document_id,
        cast(null as date) as partition_date,
        cast(null as varchar) as proposal_id,
        cast(null as integer) as line_number,
        cast(null as varchar) as action,
        cast(null as varchar) as actor,
        cast(null as timestamp) as decided_at,
        cast(null as varchar) as before_code,
        cast(null as varchar) as after_code,
        cast(null as varchar) as reason,
        cast(null as varchar) as rules_version,
        cast(null as double) as confidence,
        cast(null as varchar) as query_id,
        cast(null as varchar) as claim_id,
        cast(null as varchar) as claim_file_name,
    where false

),
{% endif %}

final as (

    select
        cast(sequence_number as bigint) as decision_sequence_number,
        decision_id,
        encounter_id,
        document_id,
        cast(partition_date as date) as partition_date,
        proposal_id,
        cast(line_number as integer) as line_number,
        action as decision_action,
        actor as decided_by,
        actor = 'engine' as is_engine_decision,
        cast(decided_at as timestamp) as decided_at,
        json_extract_string(before_code, '$.cpt_code') as before_cpt_code,
        json_extract_string(after_code, '$.cpt_code') as after_cpt_code,
        cast(json_extract(before_code, '$.modifiers') as varchar[]) as before_modifiers,
        cast(json_extract(after_code, '$.modifiers') as varchar[]) as after_modifiers,
        cast(json_extract(before_code, '$.units') as integer) as before_units,
        cast(json_extract(after_code, '$.units') as integer) as after_units,
        reason as decision_reason,
        rules_version,
        cast(confidence as double) as coding_confidence,
        query_id,
        claim_id,
        claim_file_name,
    from source

)

select * from final
