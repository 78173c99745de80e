with source as (
    select * from {{ source('crm', 'reviews') }}
),

renamed as (
    select
        cast(trim(review_id) as {{ dbt.type_string() }}) as review_id,
        cast(trim(customer_id) as {{ dbt.type_string() }}) as customer_id,
        cast(published_on as date) as published_on,
        -- `source` is the landing contract's name, kept although it is a SQL keyword.
        cast(lower(trim(source)) as {{ dbt.type_string() }}) as source,  -- noqa: RF04
        cast(lower(trim(sentiment)) as {{ dbt.type_string() }}) as sentiment,
        cast(rating as {{ dbt.type_bigint() }}) as rating,
        _file as source_file
    from source
)

select * from renamed
