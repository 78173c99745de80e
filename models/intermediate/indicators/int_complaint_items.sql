-- The complaint family's items (METRICS D1–D5): one row per thing measured, before the
-- fan-out of int_complaint_indicators (macros/complaint.sql defines them for both). A view:
-- nothing reads it but the daily run's check of the D5 categories int_complaint_indicators
-- zero-fills (indicator_variants_moved), and a person who wants to see what a figure counts.
{{ config(materialized='view') }}
{{ complaint_items() }}
