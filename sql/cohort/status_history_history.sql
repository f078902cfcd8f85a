-- cohort.status_history: carry over every earlier change from the previously published database.
insert into cohort.status_history by name

with

previous_history as (

    select * from previous.cohort.status_history

)

select * from previous_history
order by run_number, patient_id
