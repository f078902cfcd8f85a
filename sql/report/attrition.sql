-- The screening funnel of the published run, one row per step.
with

attrition as (

    select * from cohort.attrition

),

final as (

    select step, step_name, status_on_failure, remaining, removed
    from attrition

)

select * from final
order by step
