with source as (
    select * from {{ source('crm', 'churn_records') }}
),

renamed as (
    select
        cast(trim(churn_id) as {{ dbt.type_string() }}) as churn_id,
        cast(trim(customer_id) as {{ dbt.type_string() }}) as customer_id,
        cast(churned_on as date) as churned_on,
        cast(lower(trim(reason_code)) as {{ dbt.type_string() }}) as reason_code,
        cast(trim(reason_text) as {{ dbt.type_string() }}) as reason_text,
        _file as source_file
    from source
)

select * from renamed
