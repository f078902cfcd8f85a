-- cohort.attrition: the screening funnel of this run, one row per step.
create table cohort.attrition as

with

attrition as (

    select * from attrition_frame

),

final as (

    select
        $run_id::varchar as run_id,
        step::integer as step,
        step_name::varchar as step_name,
        status_on_failure::varchar as status_on_failure,
        remaining::bigint as remaining,
        removed::bigint as removed
    from attrition

)

select * from final
order by step
