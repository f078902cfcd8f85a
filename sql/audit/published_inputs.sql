-- The inputs of every published run (file name and SHA-256), to tell which deliveries were screened.
select
    runs.run_number,
    runs.run_id,
    input."table" as table_name,
    input.path as path,
    input.sha256 as sha256
from audit.runs as runs,
    unnest(runs.inputs) as inputs(input)
where runs.outcome = 'published'
order by runs.run_number
