-- The run id the published cohort was compared with: cohort.status_changes.previous_run_id
-- (NULL on the first publish of the database), or, when no patient changed and the table is
-- empty, the latest published run before this one.
with

status_changes as (

    select * from cohort.status_changes

),

runs as (

    select * from audit.runs

),

recorded as (

    select
        count(*) as patients,
        max(status_changes.previous_run_id) as run_id
    from status_changes

),

earlier as (

    select max_by(runs.run_id, runs.run_number) as run_id
    from runs
    where runs.outcome = 'published'
        and runs.run_number < $run_number

),

final as (

    select case when recorded.patients > 0 then recorded.run_id else earlier.run_id end as run_id
    from recorded
    cross join earlier

)

select * from final
