-- sigmd explain: the persistence decision of the patient (patients with an index date).
select index_date, normalised_date, repeat_low_from_date, repeat_low_date
from cohort.persistence
where patient_id = $patient_id
