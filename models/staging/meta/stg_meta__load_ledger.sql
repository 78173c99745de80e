-- The ingestion's load ledger, one row per landing file looked at (see orchestration/ingest.py).
with source as (
    select * from {{ source('raw_meta', 'load_ledger') }}
),

renamed as (
    select
        cast(run_id as {{ dbt.type_string() }}) as run_id,
        cast(table_name as {{ dbt.type_string() }}) as table_name,
        -- `file` is the ledger's column name, kept although it is a SQL keyword.
        cast(file as {{ dbt.type_string() }}) as source_file,  -- noqa: RF04
        cast(drop_name as {{ dbt.type_string() }}) as drop_name,
        cast(checksum as {{ dbt.type_string() }}) as file_checksum,
        cast(size_bytes as {{ dbt.type_bigint() }}) as size_bytes,
        cast(coalesce(rows_in, 0) as {{ dbt.type_bigint() }}) as rows_in,
        cast(coalesce(rows_accepted, 0) as {{ dbt.type_bigint() }}) as rows_accepted,
        cast(coalesce(rows_quarantined, 0) as {{ dbt.type_bigint() }}) as rows_quarantined,
        cast(coalesce(rows_blank, 0) as {{ dbt.type_bigint() }}) as rows_blank,
        cast(status as {{ dbt.type_string() }}) as load_status,
        cast(error as {{ dbt.type_string() }}) as error_message,
        cast(extra_columns as {{ dbt.type_string() }}) as extra_columns,
        cast(duplicate_of as {{ dbt.type_string() }}) as duplicate_of_file,
        cast(started_at as {{ dbt.type_timestamp() }}) as started_at,
        cast(finished_at as {{ dbt.type_timestamp() }}) as finished_at,
        cast(started_at as date) as loaded_on
    from source
)

select * from renamed
