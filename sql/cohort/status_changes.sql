-- cohort.status_changes: each patient whose status or severity changed since the previously
-- published cohort, who is new, or who is no longer in the extract. Unchanged patients: no row.
create table cohort.status_changes as

with

current_cohort as (

    select patient_id, status, severity from cohort.screening

),

previous_cohort as (

    select patient_id, status, severity from previous_screening

),

compared as (

    select
        coalesce(current_cohort.patient_id, previous_cohort.patient_id) as patient_id,
        case
            when previous_cohort.patient_id is null then 'new_patient'
            when current_cohort.patient_id is null then 'no_longer_in_extract'
            when current_cohort.status is distinct from previous_cohort.status
                then 'status_changed'
            when current_cohort.severity is distinct from previous_cohort.severity
                then 'severity_changed'
        end as change,
        previous_cohort.status as previous_status,
        previous_cohort.severity as previous_severity,
        current_cohort.status as new_status,
        current_cohort.severity as new_severity
    from current_cohort
    full outer join previous_cohort
        on current_cohort.patient_id = previous_cohort.patient_id

),

final as (

    select
        patient_id::varchar as patient_id,
        change::varchar as change,
        previous_status::varchar as previous_status,
        previous_severity::varchar as previous_severity,
        new_status::varchar as new_status,
        new_severity::varchar as new_severity,
        $previous_run_id::varchar as previous_run_id,
        $run_id::varchar as new_run_id
    from compared
    where change is not null

)

select * from final
order by patient_id
