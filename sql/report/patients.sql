-- One row per screened patient, without the patient id: status, severity, sex, the age (months)
-- at the index date (or, without one, at the first IgM result) and the funnel step failed.
with

screening as (

    select * from cohort.screening

),

ig_results as (

    select * from cohort.ig_results

),

attrition as (

    select * from cohort.attrition

),

igm as (

    select patient_id, collected_date, age_months
    from ig_results
    where analyte = 'igm'

),

reference_age as (

    select
        screening.patient_id,
        coalesce(
            min(igm.age_months) filter (where igm.collected_date = screening.index_date),
            min(igm.age_months)
        ) as age_months
    from screening
    inner join igm
        on screening.patient_id = igm.patient_id
    group by screening.patient_id

),

final as (

    select
        screening.status,
        screening.severity,
        screening.sex,
        reference_age.age_months,
        -- persistent patients failed no step: they remain after the last one
        coalesce(attrition.step, (select max(step) + 1 from attrition)) as failed_step
    from screening
    inner join reference_age
        on screening.patient_id = reference_age.patient_id
    left join attrition
        on screening.status = attrition.status_on_failure

)

select * from final
order by failed_step, sex, age_months
