-- What changed since the previously published cohort, in patients (never the ids): per change
-- label and previous -> new status, from cohort.status_changes of the published run.
with

status_changes as (

    select * from cohort.status_changes

),

final as (

    select
        change,
        previous_status,
        new_status,
        count(*) as patients
    from status_changes
    group by all

)

select * from final
order by
    case change
        when 'new_patient' then 1
        when 'status_changed' then 2
        when 'severity_changed' then 3
        when 'no_longer_in_extract' then 4
    end,
    previous_status nulls first,
    new_status nulls first
