-- Every churn record known by as_of with its reason category (METRICS B5: price, service,
-- quality, competitor, business_closed, other), from the editable seed churn_reason_map:
--   1. the reason code, when the seed maps it to a category other than 'other';
--   2. else a keyword found in the free-text reason (Chinese or English, case-insensitive);
--      of several keywords the lowest priority number wins, then the longest keyword;
--   3. else the code's own mapping ('other'), else 'other' as unmapped.
-- mapped_by says which rule decided; matched_pattern is null for unmapped records (a warning
-- test counts them, so the seed can be extended).
-- Point in time: only records dated on or before the as_of var (see macros/as_of.sql).
with churn_records as (
    select * from {{ ref('stg_crm__churn_records') }}
    where churned_on <= {{ as_of_date() }}
),

reason_map as (
    select * from {{ ref('churn_reason_map') }}
),

code_matches as (
    select
        churn_records.churn_id,
        reason_map.pattern,
        reason_map.reason_category
    from churn_records
    inner join reason_map
        on
            reason_map.match_on = 'reason_code'
            and churn_records.reason_code = lower(trim(reason_map.pattern))
),

keyword_hits as (
    select
        churn_records.churn_id,
        reason_map.pattern,
        reason_map.reason_category,
        row_number() over (
            partition by churn_records.churn_id
            order by
                reason_map.priority asc,
                length(reason_map.pattern) desc,
                reason_map.pattern asc
        ) as hit_rank
    from churn_records
    inner join reason_map
        on
            reason_map.match_on = 'keyword'
            and {{ dbt.position('lower(reason_map.pattern)', 'lower(churn_records.reason_text)') }}
            > 0
),

keyword_matches as (
    select
        churn_id,
        pattern,
        reason_category
    from keyword_hits
    where hit_rank = 1
),

final as (
    select
        churn_records.churn_id,
        churn_records.customer_id,
        churn_records.churned_on,
        churn_records.reason_code,
        churn_records.reason_text,
        case
            when code_matches.reason_category <> 'other' then code_matches.reason_category
            when keyword_matches.reason_category is not null
                then keyword_matches.reason_category
            else 'other'
        end as reason_category,
        case
            when code_matches.reason_category <> 'other' then 'reason_code'
            when keyword_matches.reason_category is not null then 'keyword'
            when code_matches.reason_category is not null then 'reason_code'
            else 'unmapped'
        end as mapped_by,
        case
            when code_matches.reason_category <> 'other' then code_matches.pattern
            when keyword_matches.reason_category is not null then keyword_matches.pattern
            else code_matches.pattern
        end as matched_pattern
    from churn_records
    left join code_matches
        on churn_records.churn_id = code_matches.churn_id
    left join keyword_matches
        on churn_records.churn_id = keyword_matches.churn_id
)

select * from final
