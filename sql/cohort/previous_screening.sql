-- The previously published cohort, as a temporary view for the comparison (never persisted).
create temp view previous_screening as

select
    patient_id,
    status,
    severity,
    run_id
from previous.cohort.screening
