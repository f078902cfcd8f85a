-- sigmd explain: the patient's row of cohort.screening.
select
    patient_id, status, severity, index_date, age_at_index, sex, n_low_igm, min_igm_mg_dl,
    exclusion_reasons
from cohort.screening
where patient_id = $patient_id
