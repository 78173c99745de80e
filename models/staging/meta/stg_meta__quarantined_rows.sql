-- Every quarantined row of every raw table, without its content: the original text
-- (raw_record) and the message can hold personal data, so only the table, file, line and
-- the rules it broke come through (METRICS I1, I2).
-- The list must name every table of the raw_quarantine source (_meta__sources.yml).
{%- set quarantine_tables = [
    'customers',
    'contacts',
    'account_managers',
    'account_assignments',
    'contracts',
    'orders',
    'interactions',
    'service_tickets',
    'complaints',
    'feedback',
    'events',
    'event_attendance',
    'referrals',
    'reviews',
    'loyalty_programme',
    'churn_records',
    'costs',
    'surveys',
    'survey_questions',
    'survey_responses',
    'survey_answers',
] %}
with
{%- for table_name in quarantine_tables %}
    quarantined_{{ table_name }} as (
        select
            cast('{{ table_name }}' as {{ dbt.type_string() }}) as table_name,
            cast(_file as {{ dbt.type_string() }}) as source_file,
            cast(_line as {{ dbt.type_bigint() }}) as line_number,
            cast(rule as {{ dbt.type_string() }}) as broken_rules,
            cast(_loaded_at as {{ dbt.type_timestamp() }}) as loaded_at,
            cast(_loaded_at as date) as loaded_on,
            cast(_run_id as {{ dbt.type_string() }}) as run_id
        from {{ source('raw_quarantine', table_name) }}
    ),
{%- endfor %}

final as (
    {%- for table_name in quarantine_tables %}
        select * from quarantined_{{ table_name }}
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
)

select * from final
