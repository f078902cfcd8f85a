-- The net change of each patient between a given run and the latest one, from
-- cohort.status_history: the state before the first change after that run against the state after
-- the last one. A patient who changed and changed back has no row.
with

history as (

    select * from cohort.status_history
    where run_number > $since_run_number

),

latest_run as (

    select max_by(run_id, run_number) as run_id
    from audit.runs
    where outcome = 'published'

),

since_run as (

    select max_by(run_id, run_number) as run_id
    from audit.runs
    where run_number = $since_run_number

),

per_patient as (

    select
        patient_id,
        arg_min(change, run_number) as first_change,
        arg_min(previous_status, run_number) as previous_status,
        arg_min(previous_severity, run_number) as previous_severity,
        arg_max(change, run_number) as last_change,
        arg_max(new_status, run_number) as new_status,
        arg_max(new_severity, run_number) as new_severity
    from history
    group by patient_id

),

labelled as (

    select
        patient_id,
        case
            when first_change = 'new_patient' and last_change = 'no_longer_in_extract' then null
            when first_change = 'new_patient' then 'new_patient'
            when last_change = 'no_longer_in_extract' then 'no_longer_in_extract'
            when new_status is distinct from previous_status then 'status_changed'
            when new_severity is distinct from previous_severity then 'severity_changed'
        end as change,
        case when first_change = 'new_patient' then null else previous_status end
            as previous_status,
        case when first_change = 'new_patient' then null else previous_severity end
            as previous_severity,
        case when last_change = 'no_longer_in_extract' then null else new_status end
            as new_status,
        case when last_change = 'no_longer_in_extract' then null else new_severity end
            as new_severity
    from per_patient

),

final as (

    select
        labelled.patient_id,
        labelled.change,
        labelled.previous_status,
        labelled.previous_severity,
        labelled.new_status,
        labelled.new_severity,
        since_run.run_id as previous_run_id,
        latest_run.run_id as new_run_id
    from labelled
    cross join since_run
    cross join latest_run
    where labelled.change is not null

)

select * from final
order by patient_id
