-- One row per calendar day between the vars calendar_start_date and calendar_end_date.
with days as (
    {{ dbt.date_spine(
        'day',
        "cast('" ~ var('calendar_start_date') ~ "' as date)",
        "cast('" ~ var('calendar_end_date') ~ "' as date)",
    ) }}
),

final as (
    select
        cast(date_day as date) as date_day,
        {{ period_start('month', 'date_day') }} as month_start_on,
        {{ period_start('quarter', 'date_day') }} as quarter_start_on,
        {{ period_start('year', 'date_day') }} as year_start_on,
        cast(
            {{ dbt.dateadd(
                'day', -1, dbt.dateadd('month', 1, dbt.date_trunc('month', 'date_day'))
            ) }}
            as date
        ) as month_end_on
    from days
)

select * from final
