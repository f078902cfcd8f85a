-- The number of the latest published run (NULL for a database without one).
select max(run_number) as run_number
from audit.runs
where outcome = 'published'
