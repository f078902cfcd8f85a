-- audit.row_counts: carry over the counts of every earlier run.
insert into audit.row_counts by name

with

previous_row_counts as (

    select * from previous.audit.row_counts

)

select * from previous_row_counts
order by run_number, table_name
