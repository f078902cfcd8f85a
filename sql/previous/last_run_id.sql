-- The run id of the previously published cohort (the latest run in its history), if any.
select max_by(run_id, run_number) as run_id
from previous.audit.runs
where outcome = 'published'
