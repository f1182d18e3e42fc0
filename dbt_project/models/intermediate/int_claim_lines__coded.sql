-- Claim lines carry no code_sequence, so each line pairs with the encounter's code of
-- the same CPT code in order: the second 11102 line gets the second 11102 code.
with

claim_lines as (

    select * from {{ ref('stg_claims__claim_lines') }}

),

encounter_codes as (

    select * from {{ ref('stg_coding__encounter_codes') }}

),

encounters as (

    select * from {{ ref('stg_coding__encounters') }}

),

numbered_claim_lines as (

    select
        claim_id,
        claim_line_number,
        encounter_id,
        cpt_code,
        row_number() over (
            partition by encounter_id, cpt_code
            order by claim_id, claim_line_number
        ) as code_occurrence,
    from claim_lines

),

numbered_codes as (

    select
        *,
        row_number() over (
            partition by encounter_id, cpt_code
            order by code_sequence
        ) as code_occurrence,
    from encounter_codes

),

final as (

    select
        numbered_claim_lines.claim_id,
        numbered_claim_lines.claim_line_number,
        numbered_codes.code_sequence,
        numbered_codes.confidence as coding_confidence,
        coalesce(numbered_codes.needs_review, false) as is_line_review_needed,
        coalesce(encounters.needs_review, false) as is_encounter_review_needed,
        numbered_codes.rule_id,
        numbered_codes.rules_version,
        len(coalesce(numbered_codes.evidence, [])) as evidence_count,
        -- Spans locate the evidence in ocr.page_texts; the snippet text stays upstream.
        list_transform(
            coalesce(numbered_codes.evidence, []),
            evidence_span -> {
                'page_number': evidence_span.page,
                'start_offset': evidence_span.start,
                'end_offset': evidence_span."end",
            }
        ) as evidence_spans,
    from numbered_claim_lines
    left join numbered_codes
        on
            numbered_claim_lines.encounter_id = numbered_codes.encounter_id
            and numbered_claim_lines.cpt_code = numbered_codes.cpt_code
            and numbered_claim_lines.code_occurrence = numbered_codes.code_occurrence
    left join encounters
        on numbered_claim_lines.encounter_id = encounters.encounter_id

)

select * from final
