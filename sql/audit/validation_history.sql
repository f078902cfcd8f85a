-- audit.validation: carry over the checks of every earlier run.
insert into audit.validation by name

with

previous_validation as (

    select * from previous.audit.validation

)

select * from previous_validation
order by run_number, stage, check_name, column_name
