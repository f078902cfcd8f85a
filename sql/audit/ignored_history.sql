-- audit.ignored: carry over the ignored-row counts of every earlier run.
insert into audit.ignored by name

with

previous_ignored as (

    select * from previous.audit.ignored

)

select * from previous_ignored
order by run_number, table_name, reason
