-- Per patient who passed the exclusions (no id): status and the days from the index date to
-- the first IgM result after it (the repeat test); NULL when there was none.
with

screening as (

    select * from cohort.screening

),

ig_results as (

    select * from cohort.ig_results

),

next_igm as (

    select
        screening.patient_id,
        min(ig_results.collected_date) as repeat_date
    from screening
    inner join ig_results
        on screening.patient_id = ig_results.patient_id
        and ig_results.analyte = 'igm'
        and ig_results.collected_date > screening.index_date
    group by screening.patient_id

),

final as (

    select
        screening.status,
        date_diff('day', screening.index_date, next_igm.repeat_date) as days_to_repeat
    from screening
    left join next_igm
        on screening.patient_id = next_igm.patient_id
    where screening.status in ('normalized', 'single_low', 'persistent')

)

select * from final
order by status, days_to_repeat
