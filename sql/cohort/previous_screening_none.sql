-- No previously published cohort (first publish): an empty one, so every patient is new.
create temp view previous_screening as

select
    null::varchar as patient_id,
    null::varchar as status,
    null::varchar as severity,
    null::varchar as run_id
where false
