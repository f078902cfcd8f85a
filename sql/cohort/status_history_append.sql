-- cohort.status_history: append this run's changes (cohort.status_changes) under its run number.
insert into cohort.status_history by name

with

changes as (

    select * from cohort.status_changes

),

final as (

    select
        $run_number::integer as run_number,
        changes.*
    from changes

)

select * from final
order by patient_id
