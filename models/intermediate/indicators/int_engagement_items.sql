-- The engagement family's items (METRICS C1–C7): one row per thing measured, before the
-- fan-out of int_engagement_indicators (macros/engagement.sql defines them for both). A view:
-- nothing reads it but the daily run's check of the variants int_engagement_indicators
-- zero-fills (indicator_variants_moved), and a person who wants to see what a figure counts.
{{ config(materialized='view') }}
{{ engagement_items() }}
