-- audit.runs: carry over every earlier run from the previously published database.
insert into audit.runs by name

with

previous_runs as (

    select * from previous.audit.runs

)

select * from previous_runs
order by run_number
