-- sigmd explain: the patient's input rows that failed validation (file, row and reason only).
select table_name, source_file, source_row, reason
from audit.quarantine
where patient_id = $patient_id
order by table_name, source_file, source_row
