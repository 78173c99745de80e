-- Guards METRICS I1: names, phones and e-mails are kept in clear only in the raw schemas.
-- A column of that name in any other schema means a model passed personal data through;
-- staging exposes salted hashes (*_hash) and masked forms (*_masked) instead.
-- Shown in Dagster as an asset check of dim_customers, the first BI-facing mart.
{{ config(meta={'dagster': {'ref': {'name': 'dim_customers'}}}) }}

select
    table_schema,
    table_name,
    column_name
from information_schema.columns
where
    table_schema not in ('raw', 'raw_quarantine', 'raw_meta', 'information_schema', 'pg_catalog')
    and lower(column_name) in ('contact_name', 'phone', 'email', 'manager_name')
