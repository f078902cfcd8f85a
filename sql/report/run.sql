-- The run whose cohort tables are published: its audit.runs row (provenance and criteria).
with

attrition as (

    select * from cohort.attrition

),

runs as (

    select * from audit.runs

),

final as (

    select
        runs.run_number,
        runs.run_id,
        runs.started_at,
        runs.finished_at,
        runs.source_format,
        runs.inputs,
        runs.row_counts,
        runs.rules_version,
        runs.rules_sha256,
        runs.mapping_sha256,
        runs.code_version,
        runs.criteria
    from runs
    where runs.run_id = (select min(attrition.run_id) from attrition)
        and runs.outcome = 'published'

)

select * from final
order by run_number desc
limit 1
