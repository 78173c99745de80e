-- Event registrations and attendance (trainings, salons, launches, workshops, trials) for
-- events held by as_of, one row per customer and event.
with attendance as (
    select * from {{ ref('stg_crm__event_attendance') }}
),

events as (
    select * from {{ ref('stg_crm__events') }}
),

final as (
    select
        attendance.attendance_id,
        attendance.event_id,
        attendance.customer_id,
        events.kind as event_kind,
        events.held_on,
        attendance.attended
    from attendance
    inner join events
        on attendance.event_id = events.event_id
    where events.held_on <= {{ as_of_date() }}
)

select * from final
