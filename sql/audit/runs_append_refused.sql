-- audit.runs: carry over the refused runs of the run journal (refused_frame), numbered in the
-- order they ran, before this run; a run already recorded (same attempt_id) is skipped.
insert into audit.runs by name

with

refused as (

    select * from refused_frame

),

recorded as (

    select attempt_id from audit.runs
    where attempt_id is not null

),

not_yet_recorded as (

    select refused.*
    from refused
    anti join recorded on refused.attempt_id = recorded.attempt_id

),

last_run as (

    select coalesce(max(run_number), 0) as run_number from audit.runs

),

final as (

    select
        (last_run.run_number + row_number() over (
            order by not_yet_recorded.started_at, not_yet_recorded.attempt_id
        ))::integer as run_number,
        not_yet_recorded.*
    from not_yet_recorded
    cross join last_run

)

select * from final
