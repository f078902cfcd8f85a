-- cohort.omop_cohort: the screened cohorts as an OMOP CDM 5.4 cohort table.
-- Definition 1 = persistent; definition 2 = persistent or single low IgM.
create table cohort.omop_cohort as

with

screening as (

    select * from cohort.screening

),

ig_results as (

    select * from cohort.ig_results

),

definitions as (

    select * from (
        values
            (1, 'persistent'),
            (2, 'persistent'),
            (2, 'single_low')
    ) as definitions (cohort_definition_id, status)

),

last_low_igm as (

    select
        patient_id,
        max(collected_date) as last_low_igm_date
    from ig_results
    where analyte = 'igm'
        and is_low
        and is_counted
        and is_day_value
    group by patient_id

),

final as (

    select
        definitions.cohort_definition_id::integer as cohort_definition_id,
        screening.patient_id::varchar as subject_id,
        screening.index_date as cohort_start_date,
        greatest(
            screening.index_date,
            coalesce(last_low_igm.last_low_igm_date, screening.index_date)
        ) as cohort_end_date
    from screening
    inner join definitions
        on screening.status = definitions.status
    left join last_low_igm
        on screening.patient_id = last_low_igm.patient_id
    where screening.index_date is not null

)

select * from final
order by cohort_definition_id, subject_id
