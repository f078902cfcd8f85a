-- cohort.status_history: one row per patient per run in which the patient's status or severity
-- changed (or the patient appeared or left the extract); kept across runs.
create table cohort.status_history (
    run_number integer not null,
    patient_id varchar not null,
    change varchar not null,
    previous_status varchar,
    previous_severity varchar,
    new_status varchar,
    new_severity varchar,
    previous_run_id varchar,
    new_run_id varchar not null
)
