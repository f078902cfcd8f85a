-- Secondary causes found, in patients: per category, per cause and per item matched (the
-- ingredient or code of screening.exclusion_reasons); subtotal rows have a NULL cause or reason.
-- `patients_excluded`: those of them whose status is that category's exclusion.
with

exclusions as (

    select * from cohort.exclusions

),

screening as (

    select * from cohort.screening

),

final as (

    select
        exclusions.category,
        exclusions.cause,
        exclusions.reason,
        count(distinct exclusions.patient_id) as patients,
        count(distinct exclusions.patient_id) filter (
            where screening.status = 'excluded_' || exclusions.category
        ) as patients_excluded
    from exclusions
    inner join screening
        on exclusions.patient_id = screening.patient_id
    group by grouping sets (
        (exclusions.category),
        (exclusions.category, exclusions.cause),
        (exclusions.category, exclusions.cause, exclusions.reason)
    )

)

select * from final
order by category, cause nulls first, reason nulls first
