-- Guards METRICS I1: names, phones and e-mails are kept in clear only in the raw schemas.
-- A column of that name in any other schema means a model passed personal data through;
-- staging exposes salted hashes (*_hash) and masked forms (*_masked) instead.
-- The refs below make it run after the models that read personal data and after the
-- first mart, so it inspects built relations rather than an empty catalogue.
-- Shown in Dagster as an asset check of dim_customers, the first BI-facing mart.
-- depends_on: {{ ref('stg_crm__contacts') }}
-- depends_on: {{ ref('stg_crm__account_managers') }}
-- depends_on: {{ ref('dim_customers') }}
{{ config(meta={'dagster': {'ref': {'name': 'dim_customers'}}}) }}

select
    table_schema,
    table_name,
    column_name
from {{ information_schema_columns() }}
where
    table_schema not in ('raw', 'raw_quarantine', 'raw_meta', 'information_schema', 'pg_catalog')
    and lower(column_name) in ('contact_name', 'phone', 'email', 'manager_name')
