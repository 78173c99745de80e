-- The ingestion's change record, one row per load and customer (see orchestration/ingest.py).
with source as (
    select * from {{ source('raw_meta', 'load_changes') }}
),

renamed as (
    select
        cast(load_seq as {{ dbt.type_bigint() }}) as load_sequence,
        cast(run_id as {{ dbt.type_string() }}) as run_id,
        cast(table_name as {{ dbt.type_string() }}) as table_name,
        cast(file as {{ dbt.type_string() }}) as source_file,  -- noqa: RF04
        cast(change_kind as {{ dbt.type_string() }}) as change_kind,
        cast(trim(customer_id) as {{ dbt.type_string() }}) as customer_id,
        cast(earliest_on as date) as earliest_on,
        cast(row_count as {{ dbt.type_bigint() }}) as row_count,
        cast(recorded_at as {{ dbt.type_timestamp() }}) as recorded_at
    from source
)

select * from renamed
