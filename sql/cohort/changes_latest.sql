-- The changes of the latest publish against the one before it (cohort.status_changes).
select
    patient_id,
    change,
    previous_status,
    previous_severity,
    new_status,
    new_severity,
    previous_run_id,
    new_run_id
from cohort.status_changes
order by patient_id
