-- The latest run number of a run given by its run id or its run number (NULL when unknown).
select max(run_number) as run_number
from audit.runs
where run_id = $run or cast(run_number as varchar) = $run
