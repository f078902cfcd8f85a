-- The number of the run being published: one more than the last one in the history.
select coalesce(max(run_number), 0) + 1 as run_number
from audit.runs
