-- sigmd explain: every secondary cause found for the patient.
select
    category, cause, reason, code, event_date, exposure_end_date, days_from_index,
    source_file, source_row
from cohort.exclusions
where patient_id = $patient_id
order by event_date, category, cause, source_file, source_row
