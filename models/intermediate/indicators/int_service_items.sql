-- The service family's items (METRICS A5–A7): one row per thing measured, before the fan-out
-- of int_service_indicators (macros/service.sql defines them for both). A view: nothing
-- reads it but the daily run's check of the A5 variants int_service_indicators zero-fills
-- (indicator_variants_moved), and a person who wants to see what a figure counts.
{{ config(materialized='view') }}
{{ service_items() }}
