-- cohort.status_history: forget the changes of runs numbered below the given run number.
delete from cohort.status_history
where run_number < $before_run_number
